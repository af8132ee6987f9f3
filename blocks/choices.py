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

# real-world models: a universal adversarial patch (Brown et al. 2017) per ImageNet classifier
HUNTER = "hunter"                  # the model blocks are made for unless a manifest entry names another
PATCH = "patch"
PATCH_TARGET = "toaster"           # the paper's target class
PATCH_STEPS = 3000
PATCH_AREA = (0.03, 0.25)          # shares of the image area a patch is trained at
PATCH_AREAS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.25)   # shares of the image a patch's success is reported at
PATCH_MAX_SIDE = 512
