"""Errors caused by user input; the CLI prints them as one line and exits with code 2."""


class SaviourError(Exception):
    """A problem with the user's input (a file, a setting, a value), explained in one line."""
