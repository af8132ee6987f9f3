"""YAML configurations: `--config FILE` gives a subcommand's settings, `--set key=value` one setting.

Keys are the subcommand's option names (`batch_size` or `batch-size`); values are checked against the
option's type and choices. Precedence: flags on the command line, then --set, then the file, then defaults.
"""

from __future__ import annotations

import argparse
import difflib
from pathlib import Path

import yaml

from engine.errors import SaviourError
from engine.files import read_yaml

SKIPPED = {"help", "config", "set", "func", "parser"}


def options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The settable options of a subcommand, by destination name."""
    return {a.dest: a for a in parser._actions if a.dest not in SKIPPED and a.option_strings}


def load_config(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise SaviourError(f"{path}: no such config file")
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SaviourError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return data


def parse_set(items: list[str]) -> dict:
    values = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise SaviourError(f"--set {item}: expected key=value, e.g. --set batch_size=16")
        try:
            values[key] = yaml.safe_load(text) if text else ""
        except yaml.YAMLError:
            values[key] = text
    return values


def checked(parser: argparse.ArgumentParser, values: dict, origin: str) -> dict:
    """Settings converted to their option's type; SaviourError names the origin, key and expectation."""
    known = options(parser)
    result = {}
    for key, value in values.items():
        dest = str(key).replace("-", "_")
        if dest not in known:
            close = difflib.get_close_matches(dest, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SaviourError(f"{origin}: unknown key {key!r} for '{parser.prog}' "
                               f"({hint}known: {', '.join(sorted(known))})")
        result[dest] = _convert(known[dest], value, f"{origin}: {key}")
    return result


def _convert(action: argparse.Action, value, where: str):
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise SaviourError(f"{where}: expected true or false, got {value!r}")
        return value
    if action.nargs in ("+", "*"):
        if not isinstance(value, list):
            raise SaviourError(f"{where}: expected a list, got {value!r}")
        return [_one(action, v, where) for v in value]
    return _one(action, value, where)


def _one(action: argparse.Action, value, where: str):
    kind = action.type or str
    if value is None and action.default is None:
        return None
    if kind in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))
                                 or (kind is int and not isinstance(value, int))):
        raise SaviourError(f"{where}: expected {'an integer' if kind is int else 'a number'}, got {value!r}")
    try:
        converted = kind(value) if kind in (int, float) else kind(str(value))
    except (ValueError, argparse.ArgumentTypeError) as error:
        raise SaviourError(f"{where}: {error}") from None
    if action.choices is not None and converted not in action.choices:
        raise SaviourError(f"{where}: expected one of {', '.join(map(str, action.choices))}, got {value!r}")
    return converted


def apply(parser: argparse.ArgumentParser, config: str | None, settings: list[str] | None) -> None:
    """Make the file's and --set's values the subcommand's defaults (flags given still win)."""
    values = checked(parser, load_config(config), str(config)) if config else {}
    if settings:
        values |= checked(parser, parse_set(settings), "--set")
    parser.set_defaults(**values)
