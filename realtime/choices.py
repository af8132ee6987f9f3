"""The application's defences, views, heatmaps and defaults, kept free of heavy imports (see engine.choices)."""

HUNTER_MODES = ("none", "camouflage", "control", "occlusion", "decoys", "camouflage+decoys", "fgsm", "pgd", "noise")
# with an ImageNet model (real-world mode): its adversarial patch, the patch's control (random pixels of the
# same size) and a grey square; the other modes need the hunter
PATCH_MODES = ("none", "patch", "random-patch", "occlusion")
MODES = HUNTER_MODES + ("patch", "random-patch")
# on-the-fly modes: pixel budget (L-infinity, [0, 1] scale) and gradient steps per frame. FGSM is the
# notebook's single step; PGD takes a few smaller ones, carried from frame to frame; noise is PGD's
# control: random signs of the same budget.
ATTACK_EPS = {"fgsm": 32 / 255, "pgd": 16 / 255, "noise": 16 / 255}
ATTACK_STEPS = {"fgsm": 1, "pgd": 4}
# Camouflage block side over the chicken box's larger side: chosen on validation worlds 5001-5002
# (0.8, 1.0, 1.2 tried), where windows of the finest level still saw the legs or head beside smaller blocks.
DEFAULT_FRACTION = 1.2
# The real-world demo's patch side over the chicken box's: the class-evidence box is coarse, so at 1.2
# a grey square of any content hides the hen as well as the patch does; at 0.8 the patch's pixels matter
# (measured on the shared hen photo, docs/real-world.md).
PHOTO_DEMO_FRACTION = 0.8
HEATMAPS = ("none", "rise")
OUTPUT_VIEWS = ("side-by-side", "after", "defended")
# not a seed of hunter training (0-79), block making (100-129, 3000-3004) or detector evaluation (1001)
DEMO_SEED = 4242
# `saviour batch`: where inputs run, and the longest stretch of a video one task takes
ENGINES = ("local", "ray")
SEGMENT_SECONDS = 60.0
