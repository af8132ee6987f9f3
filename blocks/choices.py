"""Block purposes, generation methods and the shipped library's folder, kept free of heavy imports
(see engine.choices)."""

from pathlib import Path

DEFAULT_LIBRARY = Path(__file__).parent / "default_library"
# purpose -> the class of window the block is placed on
PURPOSES = {"camouflage": "chicken", "ghost-chicken": "terrain", "panda-decoy": "terrain"}
METHODS = ("sweep", "eot")
# camouflage blocks are made for a range of block sides (fractions of the chicken's box): one block
# cannot both cover a whole chicken and, at half the size, outweigh the head and legs beside it
LARGE_BLOCKS, SMALL_BLOCKS = (0.9, 1.3), (0.5, 0.9)
SCENE_STEPS = 1000
