"""The protocol every output shares: `write(item)` for each result in frame order, then `close()`;
as a context manager, an error drops the partial output instead of finishing it."""


class Sink:
    """The protocol, and the context manager every sink shares."""

    def write(self, item) -> None:
        raise NotImplementedError

    def close(self):
        """Finish the output; return what was written (a path, or None)."""

    def abort(self) -> None:
        """Drop what was written so far."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
