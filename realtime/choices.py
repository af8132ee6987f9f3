"""The application's defences, views, heatmaps and defaults, kept free of heavy imports (see engine.choices)."""

MODES = ("none", "camouflage", "control", "occlusion", "decoys", "camouflage+decoys", "fgsm")
DEFAULT_FRACTION = 1.2   # block side / chicken box side
HEATMAPS = ("none", "rise")
OUTPUT_VIEWS = ("side-by-side", "after", "defended")
DEMO_SEED = 4242         # a world seed used by neither training nor block making
