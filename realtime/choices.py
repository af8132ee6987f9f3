"""The application's defences, views, heatmaps and defaults, kept free of heavy imports (see engine.choices)."""

MODES = ("none", "camouflage", "control", "occlusion", "decoys", "camouflage+decoys", "fgsm")
# Camouflage block side over the chicken box's larger side: chosen on validation worlds 5001-5002
# (0.8, 1.0, 1.2 tried), where windows of the finest level still saw the legs or head beside smaller blocks.
DEFAULT_FRACTION = 1.2
HEATMAPS = ("none", "rise")
OUTPUT_VIEWS = ("side-by-side", "after", "defended")
# not a seed of hunter training (0-79), block making (100-109, 3000-3004) or detector evaluation (1001)
DEMO_SEED = 4242
