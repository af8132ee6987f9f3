"""Block purposes, generation methods and the shipped library's folder, kept free of heavy imports
(see engine.choices)."""

from pathlib import Path

DEFAULT_LIBRARY = Path(__file__).parent / "default_library"
# purpose -> the class of window the block is placed on
PURPOSES = {"camouflage": "chicken", "ghost-chicken": "terrain", "panda-decoy": "terrain"}
METHODS = ("sweep", "eot")
