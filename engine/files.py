"""Reading the project's YAML files with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.errors import SaviourError


def read_yaml(path: str | Path):
    """The file's YAML content (yaml.safe_load); SaviourError naming the file when it does not parse."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as error:
        raise SaviourError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
