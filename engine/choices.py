"""The engine's names a user picks from (devices, explanation methods), kept free of heavy imports:
the command line lists them in `--help` and checks arguments without loading torch, which takes seconds."""

DEVICE_CHOICES = ("auto", "cpu", "cuda")
EXPLANATION_METHODS = ("rise", "integrated_gradients", "saliency", "gradcam", "occlusion", "evidence")
# what `saviour explain` runs when --methods is not given: the farm's models have no class-evidence
# map; on an ImageNet model occlusion's windows take thousands of passes an image
DEFAULT_METHODS = {"farm": EXPLANATION_METHODS[:5], "imagenet": ("rise", "integrated_gradients", "saliency",
                                                                 "gradcam", "evidence")}
ATTACKABLE = ("saliency", "rise")   # explanations the attack can differentiate through
# the attack on pairs of photos (engine.explain.pair_attack): Dombrowski et al.'s explanations
PAIR_METHODS = ("gradient", "gradient_x_input", "integrated_gradients", "rise")
MAP_LOSSES = ("ssim", "mse")       # how the attack measures the map's distance to its target
AUTOCAST_CHOICES = ("none", "bf16", "fp16")   # the dtype RISE may run its model passes in
RISE_ESTIMATORS = ("centred", "paper")        # see engine.explain.rise
RISE_SAMPLERS = ("random", "sobol")           # how RISE's masks are drawn (engine.explain.masks)
