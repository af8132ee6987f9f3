"""The models' subcommands: training, explanations and their attack, evaluation, block libraries."""

from __future__ import annotations

import argparse

from blocks.choices import (
    DEFAULT_LIBRARY,
    HUNTER,
    LARGE_BLOCKS,
    PATCH,
    PATCH_AREA,
    PATCH_STEPS,
    PATCH_TARGET,
    PURPOSES,
    SCENE_STEPS,
)
from blocks.choices import METHODS as BLOCK_METHODS
from engine.choices import (
    ATTACKABLE,
    AUTOCAST_CHOICES,
    DEFAULT_METHODS,
    EXPLANATION_METHODS,
    MAP_LOSSES,
    PAIR_METHODS,
    RISE_ESTIMATORS,
    RISE_SAMPLERS,
)
from realtime.cli.arguments import (
    add_config,
    add_detector,
    add_device,
    add_image_folder,
    add_images,
    add_model,
    add_weights,
    handler,
    subcommand,
)
from realtime.cli.types import (
    area_range,
    at_least,
    bound_list,
    budget_list,
    class_balance,
    eps_fraction,
    fraction_list,
    fraction_range,
    frame_size,
    int_list,
    not_negative,
    positive,
    removal_share,
)


def add_train_hunter(sub) -> None:
    train = subcommand(sub, "train-hunter", "train the hunter on farm-world patches or on your own patches", """
        saviour train-hunter --out hunter.pt
        saviour train-hunter --patches my_patches/ --out my_hunter.pt --epochs 30
        saviour train-hunter --filters 8 --out wide.pt
        """, handler("hunter", "train_hunter"))
    train.add_argument("--out", required=True, help="checkpoint to write (its SHA-256 goes beside it)")
    train.add_argument("--patches", default=None,
                       help="an ImageFolder: one subfolder of images per class (chicken, pig, panda, terrain)")
    train.add_argument("--worlds", type=at_least(1), default=80, help="farm worlds to sample patches from (default: 80)")
    train.add_argument("--epochs", type=at_least(1), default=18, help="training epochs (default: 18)")
    train.add_argument("--class-balance", type=class_balance, default=1.0,
                       help="loss weight per class ~ count^-B: 1 weighs every class alike, 0 every patch "
                            "alike (default: 1)")
    train.add_argument("--weight-decay", type=not_negative, default=0.0,
                       help="AdamW's decoupled weight decay; 0 is plain Adam, as the shipped hunter (default: 0)")
    train.add_argument("--filters", type=at_least(1), default=7,
                       help="filters of the first convolution: 7 is the notebook's hunter, 8 runs as fast "
                            "and holds more (default: 7)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_device(train)


def add_train_farm(sub) -> None:
    farm = subcommand(sub, "train-farm", "train the farm classifier (96x96 world crops) that explanations are judged on", """
        saviour train-farm --out farm.pt
        saviour train-farm --out farm.pt --worlds 50 --epochs 4
        saviour train-farm --out farm.pt --removal 0     # no removed-pixel training
        """, handler("explain", "train_farm"))
    farm.add_argument("--out", required=True, help="checkpoint to write (its SHA-256 goes beside it)")
    farm.add_argument("--worlds", type=int, default=100, help="farm worlds to cut crops from, at most 100 (default: 100)")
    farm.add_argument("--epochs", type=at_least(1), default=6, help="training epochs (default: 6)")
    farm.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    farm.add_argument("--removal", type=removal_share, default=0.5,
                      help="train with up to this share of each crop's pixels set to grey, scattered or in "
                           "blobs, as deletion metrics remove them (default: 0.5)")
    add_device(farm)


def add_explain(sub) -> None:
    explain = subcommand(sub, "explain", "explain a classifier with RISE and Captum methods; score and compare the maps", """
        saviour explain                                  # 200 crops of an unseen farm world, farm classifier
                                                         # (RISE's 4000 masks: about 9 s a crop on 2 CPU cores)
        saviour explain --crops 20 --methods rise,saliency --n 1000
        saviour explain --crops 20 --methods rise --autocast bf16
        saviour explain --image cow.png --target pig --out out/cow
        saviour explain --weights torchvision:resnet50 --image dog.jpg --methods rise,gradcam --out out/dog
        saviour explain --model efficientnet_lite0 --images photos/ --limit 50 --out out/real
        """, handler("explain", "explain"))
    add_images(explain, "explain", crops=200)
    add_image_folder(explain, "explain", limit=50)
    explain.add_argument("--target", default=None,
                         help="class name or index to explain, for every image or crop "
                              "(default: an image's predicted class, a crop's true class)")
    explain.add_argument("--methods", default=None,
                         help=f"comma-separated, of {', '.join(EXPLANATION_METHODS)} (default: "
                              f"{','.join(DEFAULT_METHODS['farm'])}; an ImageNet model: "
                              f"{','.join(DEFAULT_METHODS['imagenet'])})")
    explain.add_argument("--n", type=int, default=4000, help="RISE masks (default: 4000)")
    explain.add_argument("--s", type=int, default=8, help="RISE grid size (default: 8)")
    explain.add_argument("--p1", type=float, default=0.5, help="RISE keep probability in (0, 1) (default: 0.5)")
    explain.add_argument("--estimator", default="centred", choices=RISE_ESTIMATORS,
                         help="RISE's estimator: centred (score minus the mean score: the same map from fewer "
                              "masks) or the paper's (default: centred)")
    explain.add_argument("--masks", default="sobol", choices=RISE_SAMPLERS,
                         help="RISE's masks: a scrambled Sobol sequence (the same map from fewer masks) or "
                              "independent random grids, the paper's (default: sobol)")
    explain.add_argument("--batch-size", type=at_least(1), default=128, help="inputs per forward pass (default: 128)")
    explain.add_argument("--autocast", choices=AUTOCAST_CHOICES, default="none",
                         help="run RISE's model passes in this precision, for slightly different maps: faster "
                              "where the hardware computes in it (bf16 on a CPU with AVX512-BF16 or AMX, see "
                              "saviour bench; fp16 on a GPU), slower where it is emulated (fp16 on most CPUs, "
                              "bf16 on older ones) (default: none, float32)")
    explain.add_argument("--curve-steps", type=at_least(1), default=None,
                         help="steps of each deletion and insertion curve (default: one per image row, as in the "
                              "RISE paper); fewer is faster on large models")
    explain.add_argument("--out", default="out/explain", help="folder for report.md, report.json, figure.png")
    add_device(explain)


def add_attack_explanation(sub) -> None:
    attack = subcommand(sub, "attack-explanation",
                         "move a classifier's explanation without changing its prediction (Dombrowski et al.)", """
        saviour attack-explanation                          # 20 farm-world crops, saliency, heat moved off the animal
        saviour attack-explanation --method rise --n 256 --steps 60 --crops 5
        saviour attack-explanation --map-loss mse           # the paper's squared distance instead of SSIM
        saviour attack-explanation --image cow.png --target-map centre --eps 8/255
        saviour attack-explanation --weights torchvision:resnet18 --image dog.jpg --target-map centre
        saviour attack-explanation --model efficientnet_lite0 --images photos/ --pairs 50   # Dombrowski et al.'s
        """, handler("explain", "attack_explanation"))
    add_images(attack, "attack", crops=20)
    attack.add_argument("--images", default=None, metavar="DIR",
                        help="an ImageNet model's attack as Dombrowski et al. ran it: each photo's map pushed "
                             "toward another photo's, with their loss, optimiser and steps")
    attack.add_argument("--pairs", type=at_least(1), default=50,
                        help="with --images: pairs of photos, evenly spread over the folder by name (default: 50)")
    attack.add_argument("--methods", default="gradient,gradient_x_input",
                        help=f"with --images: comma-separated, of {', '.join(PAIR_METHODS)} "
                             "(default: gradient,gradient_x_input)")
    attack.add_argument("--bounds", type=bound_list, default=(None, 8 / 255),
                        help="with --images: L-infinity bounds to run, 'none' for the valid pixel range alone "
                             "(default: none,8/255)")
    attack.add_argument("--method", default="saliency", choices=ATTACKABLE, help="explanation to attack")
    attack.add_argument("--target", default=None, help=argparse.SUPPRESS)
    attack.add_argument("--target-map", default=None,
                        help="centre, away (the corner farthest from the object; crops only) or a grayscale image")
    attack.add_argument("--eps", type=eps_fraction, default=8 / 255, help="L-infinity budget, e.g. 8/255 (default)")
    attack.add_argument("--steps", type=at_least(1), default=None,
                        help="Adam steps (default: 200; with --images 1500, theirs)")
    attack.add_argument("--lr", type=positive, default=None,
                        help="Adam learning rate (default: 0.002; with --images 2e-4 on the normalised photo, theirs)")
    attack.add_argument("--gamma", type=not_negative, default=10.0, help="weight of keeping the output (default: 10)")
    attack.add_argument("--map-loss", default="ssim", choices=MAP_LOSSES,
                        help="distance of the map to its target: 1 - SSIM of maps scaled to [0, 1], what the report "
                             "measures (default), or mse, the paper's squared distance of maps scaled to mean 1")
    attack.add_argument("--n", type=int, default=256, help="RISE: fixed masks (default: 256)")
    attack.add_argument("--s", type=int, default=8, help="RISE grid size (default: 8)")
    attack.add_argument("--batch-size", type=at_least(1), default=None,
                        help="RISE: masked images per pass; fewer bound memory on large models, at the cost of "
                             "one more forward pass (default: all masks in one pass)")
    attack.add_argument("--out", default="out/attack", help="folder for report.md, report.json, figure.png")
    add_device(attack)


def add_evaluate(sub) -> None:
    evaluate = subcommand(sub, "evaluate", "measure patch accuracy and detector recall/precision on unseen worlds", """
        saviour evaluate
        saviour evaluate --weights my_hunter.pt --seed 1001 --frames 300
        saviour evaluate --size 1280x720 --min-size 20
        """, handler("hunter", "evaluate"))
    evaluate.add_argument("--seed", type=int, default=1001, help="world seed for detection (default: 1001)")
    evaluate.add_argument("--size", type=frame_size, default=(640, 360), metavar="WxH",
                          help="frame size of the detection worlds (default: 640x360); animals are counted from "
                               "the detector's smallest size up")
    evaluate.add_argument("--frames", type=at_least(1), default=300, help="frames to evaluate (default: 300)")
    add_detector(evaluate)


def add_evaluate_defences(sub) -> None:
    defences = subcommand(sub, "evaluate-defences",
                          "every defence over thousands of frames of unseen worlds, at several block sizes", """
        saviour evaluate-defences                        # 3 worlds x 3000 frames, every 10th, fractions 1.2 and 0.6
        saviour evaluate-defences --seeds 6001 --frames 600 --fractions 1.2 --attack-frames 0
        saviour evaluate-defences --frames 0 --budgets 16/255  # the on-the-fly attacks alone
        """, handler("defences", "evaluate_defences"))
    defences.add_argument("--seeds", type=int_list, default=(6001, 6002, 6003),
                          help="world seeds, none used in training or block making (default: 6001,6002,6003)")
    defences.add_argument("--frames", type=at_least(0), default=3000,
                          help="frames of each world for the blocks' table; 0 skips it (default: 3000)")
    defences.add_argument("--every", type=at_least(1), default=10, help="run every n-th frame (default: 10)")
    defences.add_argument("--fractions", type=fraction_list, default=(1.2, 0.6),
                          help="block side / chicken box side, comma-separated (default: 1.2,0.6)")
    defences.add_argument("--attack-frames", type=at_least(0), default=1000,
                          help="consecutive frames of each world for the on-the-fly attacks' table; 0 skips it "
                               "(default: 1000)")
    defences.add_argument("--budgets", type=budget_list, default=(8 / 255, 16 / 255, 32 / 255),
                          help="the attacks' pixel budgets, comma-separated (default: 8/255,16/255,32/255)")
    defences.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    add_weights(defences)
    add_device(defences)


def add_blocks(sub) -> None:
    blocks = sub.add_parser("blocks", help="make and inspect adversarial block libraries",
                            description="Make and inspect adversarial block libraries.")
    blocks_sub = blocks.add_subparsers(dest="blocks_command", metavar="ACTION", required=True)
    generate = subcommand(blocks_sub, "generate", "make a block and add it to a library folder", """
        saviour blocks generate --purpose camouflage --target terrain --method eot --out blocks_lib/
        saviour blocks generate --purpose panda-decoy --method sweep --eps=-64/255 --out blocks_lib/
        saviour blocks generate --model efficientnet_lite0 --purpose patch --target toaster --images photos/ --out lib/
        """, handler("blocks", "blocks_generate"))
    generate.prog = "saviour blocks generate"
    generate.add_argument("--purpose", default="camouflage", choices=sorted(PURPOSES) + [PATCH],
                          help="camouflage (on chickens), ghost-chicken or panda-decoy (on empty ground), for the "
                               "hunter; patch: a universal adversarial patch for an ImageNet --model")
    generate.add_argument("--target", default=None,
                          help="class the model should see (camouflage: terrain or pig; patch: an ImageNet class, "
                               f"default {PATCH_TARGET}; default per purpose)")
    generate.add_argument("--untargeted", action="store_true",
                          help="patch: push the protected classes (hen, cock, ...) away instead of toward --target")
    generate.add_argument("--model", default=HUNTER,
                          help="patch: the ImageNet classifier, efficientnet_lite0 (installed), timm:NAME or "
                               "torchvision:NAME (default: hunter, for the other purposes)")
    generate.add_argument("--images", default=None,
                          help="patch: a folder of photos; every 5th by name is held out to measure the patch")
    generate.add_argument("--area", type=area_range, default=PATCH_AREA, metavar="LOW,HIGH",
                          help="patch: the shares of the image area it is trained at, drawn log-uniformly "
                               "(default: 0.03,0.25)")
    generate.add_argument("--method", default="eot", choices=BLOCK_METHODS,
                          help="sweep: the notebook's one FGSM step; eot: optimised over random placements")
    generate.add_argument("--eps", type=eps_fraction, default=-0.25,
                          help="sweep: most negative eps in [-1, 0), e.g. -0.25 or -64/255 (default: -0.25)")
    generate.add_argument("--steps", type=at_least(1), default=None,
                          help=f"eps values (sweep) or Adam steps (eot) (default: 300; patch: {PATCH_STEPS})")
    generate.add_argument("--scene-steps", type=at_least(0), default=SCENE_STEPS,
                          help="camouflage, eot: further Adam steps on chickens covered as the pipeline covers them, "
                               "seen by every pyramid level; 0 skips (default: %(default)s)")
    generate.add_argument("--fractions", type=fraction_range, default=LARGE_BLOCKS, metavar="LOW,HIGH",
                          help="camouflage, eot: the block sides, as fractions of the chicken's box, the block is "
                               "made for; "
                               "the pipeline picks the block whose range holds its --fraction (default: 0.9,1.3)")
    generate.add_argument("--border", type=at_least(0), default=0,
                          help="eot: pixels along each edge kept at the start grey, so the block's edge against "
                               "grass reads as a plain square does (default: 0)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    generate.add_argument("--out", default="blocks_library", help="library folder, created or extended (default: blocks_library)")
    add_weights(generate)
    add_config(generate, "configs/blocks.yaml")
    add_device(generate)

    listing = subcommand(blocks_sub, "list", "show a library's blocks: purpose, target, success rates, weights", """
        saviour blocks list                              # the shipped library
        saviour blocks list blocks_lib/
        saviour blocks list --model efficientnet_lite0   # the shipped library's patches for that model
        """, handler("blocks", "blocks_list"))
    listing.prog = "saviour blocks list"
    listing.add_argument("library", nargs="?", default=str(DEFAULT_LIBRARY),
                         help="library folder (default: the shipped one)")
    add_weights(listing)
    add_model(listing)


