"""The `saviour` command line (also `python -m realtime`)."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import textwrap
from importlib import metadata

from blocks.choices import DEFAULT_LIBRARY, PURPOSES
from blocks.choices import METHODS as BLOCK_METHODS
from engine.choices import ATTACKABLE, AUTOCAST_CHOICES, DEVICE_CHOICES, EXPLANATION_METHODS, MAP_LOSSES
from engine.errors import SaviourError
from engine.files import describe_failure
from realtime.cli import config
from realtime.choices import DEFAULT_FRACTION, DEMO_SEED, HEATMAPS, MODES, OUTPUT_VIEWS

EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
QUIET = "-8"    # FFmpeg's AV_LOG_QUIET


def _scales(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.7,0.35, got {text!r}") from None


def _fraction(text: str) -> float:
    try:
        if "/" in text:
            top, bottom = text.split("/")
            return float(top) / float(bottom)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number such as -0.25 or -64/255, got {text!r}") from None


def _at_least(minimum: int):
    """An integer type for settings with a lower bound, so a config file's value is range-checked too."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, got {value}")
        return value
    return parse


def _number_in(contains, expected: str):
    """A float type for settings with a range, so a config file's value is range-checked too."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not contains(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


_block_fraction = _number_in(lambda v: 0 < v <= 2, "a block fraction in (0, 2]")
_class_balance = _number_in(lambda v: 0 <= v <= 1, "a class balance in [0, 1]")
_positive = _number_in(lambda v: v > 0, "a positive number")
_not_negative = _number_in(lambda v: v >= 0, "a number of at least 0")
_removal_share = _number_in(lambda v: 0 <= v < 1, "a share of pixels in [0, 1)")


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="auto picks CUDA when present, else the CPU (default: auto)")


def _add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", default="hunter",
                        help="'hunter' (shipped) or a checkpoint from `saviour train-hunter` (default: hunter)")


MIN_SIZE_HELP = ("smallest animal to find, in frame pixels, or auto: 20 up to 360p, then in proportion to the "
                 "frame height (40 at 720p, 60 at 1080p), which scans any frame as its 360p version "
                 "(default: auto); 20 on a 1080p frame scans nine times the pixels")


def _min_size(text: str) -> float | None:
    """'auto' (None: the detector follows the frame height) or a positive number of pixels."""
    if text == "auto":
        return None
    try:
        return _positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto or a positive number of pixels, got {text!r}") from None


def _frame_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT in pixels, each at least 32 (the farm world's smallest)."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and min(int(width), int(height)) >= 32):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 32x32 pixels, e.g. 1280x720, got {text!r}")
    return int(width), int(height)


def _add_min_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-size", type=_min_size, default=None, metavar="PX|auto", help=MIN_SIZE_HELP)


def _add_detector(parser: argparse.ArgumentParser) -> None:
    _add_weights(parser)
    _add_min_size(parser)
    parser.add_argument("--scales", type=_scales, default=None,
                        help="pyramid scales, e.g. 0.7,0.35,0.175 (default: chosen from the frame height)")
    parser.add_argument("--stride", type=int, default=9, help="window stride in pyramid pixels: 9, 3 or 1")
    parser.add_argument("--threshold", type=float, default=0.99, help="class probability to keep a window, in (0, 1)")
    _add_device(parser)


def _add_images(parser: argparse.ArgumentParser, verb: str, crops: int) -> None:
    """The classifier and the images to work on: files, or crops of a farm world never trained on."""
    parser.add_argument("--weights", default="farm",
                        help="'farm' (shipped), 'hunter', a checkpoint file, or torchvision:NAME, a torchvision "
                             "ImageNet classifier such as torchvision:resnet50 (its weights download on first use)")
    parser.add_argument("--random-weights", action="store_true",
                        help="with torchvision:NAME, random weights instead of ImageNet's: no download, to try it out")
    parser.add_argument("--image", nargs="+", default=None, help=f"image files to {verb} (default: farm-world crops)")
    parser.add_argument("--crops", type=_at_least(1), default=crops, help=f"farm-world crops to {verb} (default: {crops})")
    parser.add_argument("--seed", type=int, default=7000, help="world seed of the crops and RISE masks (default: 7000)")


def _handler(module: str, name: str):
    """`realtime.commands.<module>.<name>`, imported when its command runs: the command modules load
    torch, which takes seconds, and `--help` or a mistyped argument should answer at once."""
    def run(args):
        return getattr(importlib.import_module(f"realtime.commands.{module}"), name)(args)
    return run


def _subcommand(sub, name: str, summary: str, examples: str, func) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=summary, description=summary,
                            epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func, parser=parser)
    return parser


def _add_fraction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fraction", type=_block_fraction, default=DEFAULT_FRACTION,
                        help="block side / chicken box side (default: %(default)s)")


def _add_config(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--config", default=None, help=f"YAML file of settings, e.g. {example}")
    parser.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                        help="override one setting (repeatable), e.g. --set fraction=0.6")


def _add_detect(sub) -> None:
    detect = _subcommand(sub, "detect", "write the hunter's view of a video or of the farm world", """
        saviour detect --source world --out out/detect.mp4
        saviour detect --source clip.mp4 --out out/clip_hunter.mp4 --threshold 0.95
        """, _handler("detect", "detect"))
    detect.add_argument("--source", default="world", help="'world' or a video file (default: world)")
    detect.add_argument("--out", required=True, help="output MP4 (H.264)")
    detect.add_argument("--frames", type=_at_least(1), default=None, help="stop after this many frames (world: 300)")
    detect.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    _add_detector(detect)


def _add_train_hunter(sub) -> None:
    train = _subcommand(sub, "train-hunter", "train the hunter on farm-world patches or on your own patches", """
        saviour train-hunter --out hunter.pt
        saviour train-hunter --patches my_patches/ --out my_hunter.pt --epochs 30
        saviour train-hunter --filters 8 --out wide.pt
        """, _handler("hunter", "train_hunter"))
    train.add_argument("--out", required=True, help="checkpoint to write (its SHA-256 goes beside it)")
    train.add_argument("--patches", default=None,
                       help="an ImageFolder: one subfolder of images per class (chicken, pig, panda, terrain)")
    train.add_argument("--worlds", type=_at_least(1), default=80, help="farm worlds to sample patches from (default: 80)")
    train.add_argument("--epochs", type=_at_least(1), default=18, help="training epochs (default: 18)")
    train.add_argument("--class-balance", type=_class_balance, default=1.0,
                       help="loss weight per class ~ count^-B: 1 weighs every class alike, 0 every patch "
                            "alike (default: 1)")
    train.add_argument("--weight-decay", type=_not_negative, default=0.0,
                       help="AdamW's decoupled weight decay; 0 is plain Adam, as the shipped hunter (default: 0)")
    train.add_argument("--filters", type=_at_least(1), default=7,
                       help="filters of the first convolution: 7 is the notebook's hunter, 8 runs as fast "
                            "and holds more (default: 7)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    _add_device(train)


def _add_train_farm(sub) -> None:
    farm = _subcommand(sub, "train-farm", "train the farm classifier (96x96 world crops) that explanations are judged on", """
        saviour train-farm --out farm.pt
        saviour train-farm --out farm.pt --worlds 50 --epochs 4
        saviour train-farm --out farm.pt --removal 0     # no removed-pixel training
        """, _handler("explain", "train_farm"))
    farm.add_argument("--out", required=True, help="checkpoint to write (its SHA-256 goes beside it)")
    farm.add_argument("--worlds", type=int, default=100, help="farm worlds to cut crops from, at most 100 (default: 100)")
    farm.add_argument("--epochs", type=_at_least(1), default=6, help="training epochs (default: 6)")
    farm.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    farm.add_argument("--removal", type=_removal_share, default=0.5,
                      help="train with up to this share of each crop's pixels set to grey, scattered or in "
                           "blobs, as deletion metrics remove them (default: 0.5)")
    _add_device(farm)


def _add_explain(sub) -> None:
    explain = _subcommand(sub, "explain", "explain a classifier with RISE and Captum methods; score and compare the maps", """
        saviour explain                                  # 200 crops of an unseen farm world, farm classifier
                                                         # (RISE's 4000 masks: about 9 s a crop on 2 CPU cores)
        saviour explain --crops 20 --methods rise,saliency --n 1000
        saviour explain --crops 20 --methods rise --autocast bf16
        saviour explain --image cow.png --target pig --out out/cow
        saviour explain --weights torchvision:resnet50 --image dog.jpg --methods rise,gradcam --out out/dog
        """, _handler("explain", "explain"))
    _add_images(explain, "explain", crops=200)
    explain.add_argument("--target", default=None,
                         help="class name or index to explain, for every image or crop "
                              "(default: an image's predicted class, a crop's true class)")
    explain.add_argument("--methods", default=",".join(EXPLANATION_METHODS),
                         help=f"comma-separated (default: {','.join(EXPLANATION_METHODS)})")
    explain.add_argument("--n", type=int, default=4000, help="RISE masks (default: 4000)")
    explain.add_argument("--s", type=int, default=8, help="RISE grid size (default: 8)")
    explain.add_argument("--p1", type=float, default=0.5, help="RISE keep probability in (0, 1) (default: 0.5)")
    explain.add_argument("--batch-size", type=_at_least(1), default=128, help="inputs per forward pass (default: 128)")
    explain.add_argument("--autocast", choices=AUTOCAST_CHOICES, default="none",
                         help="run RISE's model passes in this precision, for slightly different maps: faster "
                              "where the hardware computes in it (bf16 on a CPU with AVX512-BF16 or AMX, see "
                              "saviour bench; fp16 on a GPU), slower where it is emulated (fp16 on most CPUs, "
                              "bf16 on older ones) (default: none, float32)")
    explain.add_argument("--curve-steps", type=_at_least(1), default=None,
                         help="steps of each deletion and insertion curve (default: one per image row, as in the "
                              "RISE paper); fewer is faster on large models")
    explain.add_argument("--out", default="out/explain", help="folder for report.md, report.json, figure.png")
    _add_device(explain)


def _add_attack_explanation(sub) -> None:
    attack = _subcommand(sub, "attack-explanation",
                         "move a classifier's explanation without changing its prediction (Dombrowski et al.)", """
        saviour attack-explanation                          # 20 farm-world crops, saliency, heat moved off the animal
        saviour attack-explanation --method rise --n 256 --steps 60 --crops 5
        saviour attack-explanation --map-loss mse           # the paper's squared distance instead of SSIM
        saviour attack-explanation --image cow.png --target-map centre --eps 8/255
        saviour attack-explanation --weights torchvision:resnet18 --image dog.jpg --target-map centre
        """, _handler("explain", "attack_explanation"))
    _add_images(attack, "attack", crops=20)
    attack.add_argument("--method", default="saliency", choices=ATTACKABLE, help="explanation to attack")
    attack.add_argument("--target", default=None, help=argparse.SUPPRESS)
    attack.add_argument("--target-map", default=None,
                        help="centre, away (the corner farthest from the object; crops only) or a grayscale image")
    attack.add_argument("--eps", type=_fraction, default=8 / 255, help="L-infinity budget, e.g. 8/255 (default)")
    attack.add_argument("--steps", type=_at_least(1), default=200, help="Adam steps (default: 200)")
    attack.add_argument("--lr", type=_positive, default=0.002, help="Adam learning rate (default: 0.002)")
    attack.add_argument("--gamma", type=_not_negative, default=10.0, help="weight of keeping the output (default: 10)")
    attack.add_argument("--map-loss", default="ssim", choices=MAP_LOSSES,
                        help="distance of the map to its target: 1 - SSIM of maps scaled to [0, 1], what the report "
                             "measures (default), or mse, the paper's squared distance of maps scaled to mean 1")
    attack.add_argument("--n", type=int, default=256, help="RISE: fixed masks (default: 256)")
    attack.add_argument("--s", type=int, default=8, help="RISE grid size (default: 8)")
    attack.add_argument("--batch-size", type=_at_least(1), default=None,
                        help="RISE: masked images per pass; fewer bound memory on large models, at the cost of "
                             "one more forward pass (default: all masks in one pass)")
    attack.add_argument("--out", default="out/attack", help="folder for report.md, report.json, figure.png")
    _add_device(attack)


def _add_evaluate(sub) -> None:
    evaluate = _subcommand(sub, "evaluate", "measure patch accuracy and detector recall/precision on unseen worlds", """
        saviour evaluate
        saviour evaluate --weights my_hunter.pt --seed 1001 --frames 300
        saviour evaluate --size 1280x720 --min-size 20
        """, _handler("hunter", "evaluate"))
    evaluate.add_argument("--seed", type=int, default=1001, help="world seed for detection (default: 1001)")
    evaluate.add_argument("--size", type=_frame_size, default=(640, 360), metavar="WxH",
                          help="frame size of the detection worlds (default: 640x360); animals are counted from "
                               "the detector's smallest size up")
    evaluate.add_argument("--frames", type=_at_least(1), default=300, help="frames to evaluate (default: 300)")
    _add_detector(evaluate)


def _add_blocks(sub) -> None:
    blocks = sub.add_parser("blocks", help="make and inspect adversarial block libraries",
                            description="Make and inspect adversarial block libraries.")
    blocks_sub = blocks.add_subparsers(dest="blocks_command", metavar="ACTION", required=True)
    generate = _subcommand(blocks_sub, "generate", "make a block and add it to a library folder", """
        saviour blocks generate --purpose camouflage --target terrain --method eot --out blocks_lib/
        saviour blocks generate --purpose panda-decoy --method sweep --eps=-64/255 --out blocks_lib/
        """, _handler("blocks", "blocks_generate"))
    generate.prog = "saviour blocks generate"
    generate.add_argument("--purpose", default="camouflage", choices=sorted(PURPOSES),
                          help="camouflage (on chickens), ghost-chicken or panda-decoy (on empty ground)")
    generate.add_argument("--target", default=None,
                          help="class the hunter should see (camouflage: terrain or pig; default per purpose)")
    generate.add_argument("--method", default="eot", choices=BLOCK_METHODS,
                          help="sweep: the notebook's one FGSM step; eot: optimised over random placements")
    generate.add_argument("--eps", type=_fraction, default=-0.25,
                          help="sweep: most negative eps in [-1, 0), e.g. -0.25 or -64/255 (default: -0.25)")
    generate.add_argument("--steps", type=int, default=300, help="eps values (sweep) or Adam steps (eot)")
    generate.add_argument("--scene-steps", type=_at_least(0), default=300,
                          help="camouflage, eot: further Adam steps on chickens covered as the pipeline covers them, "
                               "seen by every pyramid level; 0 skips (default: 300)")
    generate.add_argument("--fraction", type=_block_fraction, default=DEFAULT_FRACTION,
                          help="camouflage, eot: block side over the chicken's box in those scenes (default: %(default)s)")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    generate.add_argument("--out", default="blocks_library", help="library folder, created or extended (default: blocks_library)")
    _add_weights(generate)
    _add_config(generate, "configs/blocks.yaml")
    _add_device(generate)

    listing = _subcommand(blocks_sub, "list", "show a library's blocks: purpose, target, success rates, weights", """
        saviour blocks list                              # the shipped library
        saviour blocks list blocks_lib/
        """, _handler("blocks", "blocks_list"))
    listing.prog = "saviour blocks list"
    listing.add_argument("library", nargs="?", default=str(DEFAULT_LIBRARY),
                         help="library folder (default: the shipped one)")
    _add_weights(listing)


def _add_demo(sub) -> None:
    demo = _subcommand(sub, "demo", "the before/after chicken demo on the farm world: MP4, GIF and summary", """
        saviour demo
        saviour demo --frames 150 --fraction 0.6 --out out/
        """, _handler("demo", "demo"))
    demo.add_argument("--out", default="out", help="output folder for demo.mp4, demo.gif, demo_summary.json")
    demo.add_argument("--frames", type=_at_least(1), default=300, help="frames to run (default: 300, 10 s at 30 FPS)")
    demo.add_argument("--seed", type=int, default=DEMO_SEED,
                      help=f"farm world seed; the default is used by neither training nor block making (default: {DEMO_SEED})")
    demo.add_argument("--fraction", type=_block_fraction, default=DEFAULT_FRACTION,
                      help="camouflage block side as a fraction of the chicken's box (default: %(default)s)")
    demo.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    _add_weights(demo)
    _add_config(demo, "configs/demo.yaml")
    demo.add_argument("--cube", action="store_true", help="draw blocks as small 3D cubes instead of flat squares")
    demo.add_argument("--fgsm-eps", type=_fraction, default=32 / 255,
                      help="pixel budget of the on-the-fly FGSM mode, e.g. 32/255 (default)")
    demo.add_argument("--heatmap", default="none", choices=HEATMAPS,
                      help="rise: overlay a live RISE map of the hunter's chicken evidence (default: none)")
    _add_device(demo)


def _add_batch(sub) -> None:
    batch = _subcommand(sub, "batch", "run the defended pipeline over video files: annotated MP4, JSONL log, summaries", """
        saviour batch clips/ --out out/batch
        saviour batch 'footage/**/*.mp4' extra.mov --out out/batch --mode decoys --batch-size 16
        saviour batch clips/ --out out/batch --force          # redo inputs that are already done
        saviour batch clips/ --view defended                  # the defended video alone, no overlay
        saviour batch screenshots/                            # a folder of images: one 30 FPS video
        """, _handler("batch", "batch"))
    batch.add_argument("inputs", nargs="+", metavar="INPUT",
                       help="video files, folders of videos (or of images: one video each) or glob patterns")
    batch.add_argument("--out", default="out/batch",
                       help="output folder: one subfolder per input plus batch_summary.json (default: out/batch)")
    batch.add_argument("--mode", default="camouflage", choices=MODES, help="the defence (default: camouflage)")
    _add_fraction(batch)
    batch.add_argument("--batch-size", type=_at_least(1), default=8, help="frames per detector pass (default: 8)")
    batch.add_argument("--workers", type=_at_least(1), default=2,
                       help="batches detected and defended at once, on threads (default: 2)")
    batch.add_argument("--view", default="side-by-side", choices=OUTPUT_VIEWS,
                       help="the output video: both panels, the AFTER panel, or the defended frames without the "
                            "hunter's overlay, as defended.mp4 (default: side-by-side)")
    batch.add_argument("--heatmap", default="none", choices=HEATMAPS, help="rise: add the live heatmap (default: none)")
    batch.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    _add_weights(batch)
    _add_min_size(batch)
    batch.add_argument("--force", action="store_true", help="redo inputs whose outputs are already complete")
    _add_config(batch, "configs/batch.yaml")
    _add_device(batch)


def _add_gif(sub) -> None:
    gif = _subcommand(sub, "gif", "a stretch of a video or of the farm world as a looping GIF of the defended view", """
        saviour gif world --duration 5 --out out/world.gif
        saviour gif clip.mp4 --start 12 --duration 4 --fps 10 --width 400 --max-size 2 --out clip.gif
        """, _handler("gif", "gif"))
    gif.add_argument("input", metavar="INPUT", help="'world' or a video file")
    gif.add_argument("--out", required=True, help="output GIF")
    gif.add_argument("--start", type=float, default=0.0, help="start time in seconds (default: 0)")
    gif.add_argument("--duration", type=float, default=5.0, help="length in seconds (default: 5)")
    gif.add_argument("--fps", type=float, default=10.0, help="GIF frame rate at most (default: 10)")
    gif.add_argument("--width", type=int, default=480, help="GIF width in pixels (default: 480)")
    gif.add_argument("--max-size", type=float, default=None, help="MB; lower fps and width until it fits")
    gif.add_argument("--mode", default="camouflage", choices=MODES, help="the defence (default: camouflage)")
    _add_fraction(gif)
    gif.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    gif.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    _add_weights(gif)
    _add_min_size(gif)
    _add_device(gif)


def _add_live(sub) -> None:
    live = _subcommand(sub, "live", "the defended view of a camera, screen, stream, video or the farm world, live", """
        saviour live                                   # the farm world in a window
        saviour live --source 0 --heatmap rise         # webcam 0
        saviour live --source screen:0,0,1280,720      # a screen region (e.g. a game window)
        saviour live --source clip.mp4 --no-window --max-frames 300 --record out/clip.mp4
        saviour live --source 0 --virtual-camera         # defended webcam for a video call

        keys: q/Esc (or closing the window) quit, b blocks on/off, d decoys on/off, h heatmap on/off, v cycle view
              (side by side, after, before), space pause, s snapshot PNG, r start/stop recording, ? help
        """, _handler("live", "live"))
    live.add_argument("--source", default="world",
                      help="world, a camera index, screen[:x,y,w,h], a stream URL, a video, a folder or glob of images")
    live.add_argument("--no-window", action="store_true", help="run headless (no window, no keys)")
    live.add_argument("--fast", action="store_true",
                      help="in a window, run a video, images or the farm world as fast as the pipeline goes "
                           "instead of at their own frame rate")
    live.add_argument("--max-frames", type=_at_least(1), default=None, help="stop after this many frames")
    live.add_argument("--record", default=None, help="record the whole run to this MP4 (and a GIF beside it)")
    live.add_argument("--out-dir", default="out/live", help="where snapshots and r-key recordings go (default: out/live)")
    live.add_argument("--no-blocks", action="store_true", help="start with the blocks off")
    live.add_argument("--decoys", action="store_true", help="start with the decoys on")
    live.add_argument("--heatmap", default="none", choices=HEATMAPS, help="start with the heatmap (default: none)")
    _add_fraction(live)
    live.add_argument("--library", default=None, help="block library folder (default: the shipped one)")
    live.add_argument("--retries", type=_at_least(0), default=3, help="reopen a camera or stream that stops, this often")
    live.add_argument("--seed", type=int, default=0, help="farm world seed (default: 0)")
    live.add_argument("--virtual-camera", action="store_true",
                      help="also send the defended frames to a virtual camera (needs the virtualcam extra)")
    live.add_argument("--workers", type=_at_least(1), default=2,
                      help="frames detected and defended at once, on threads (default: 2; 1 = lowest latency)")
    _add_weights(live)
    _add_min_size(live)
    _add_config(live, "configs/webcam.yaml")
    _add_device(live)


def _add_bench(sub) -> None:
    bench = _subcommand(sub, "bench", "benchmark the world, the detector, the defended pipeline and RISE", """
        saviour bench
        saviour bench --frames 100 --rise-n 1000 --device cpu
        saviour bench --soak 10000                    # adds the memory rows (about 7 minutes)
        saviour bench --blocks                        # adds the default library's generation time
        """, _handler("bench", "bench"))
    bench.add_argument("--frames", type=int, default=300, help="frames per timing (default: 300)")
    bench.add_argument("--rise-n", type=int, default=4000, help="RISE masks for the RISE rows (default: 4000)")
    bench.add_argument("--soak", type=int, default=0,
                       help="frames of a live run to measure memory growth over, e.g. 10000 (default: 0, off)")
    bench.add_argument("--blocks", action="store_true",
                       help="also time making the default block library with `saviour blocks generate` (minutes)")
    _add_device(bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saviour", description="Save the chickens: a hunter network, its detector and the farm world.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for add in (_add_detect, _add_train_hunter, _add_train_farm, _add_explain,
                _add_attack_explanation, _add_evaluate, _add_blocks, _add_demo,
                _add_batch, _add_gif, _add_live, _add_bench):
        add(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("deep-chicken-saviour")
    except metadata.PackageNotFoundError:   # run from a source tree that was never installed
        return "(not installed)"


def _unrecognized(extra: list[str], argv: list[str]) -> str:
    """argparse's message for arguments it did not expect, with the likely cause when a shell expanded
    an unquoted `--source` glob into several files."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    given_source = any(arg == "--source" or arg.startswith("--source=") for arg in argv)
    if given_source and all(os.path.exists(arg) for arg in extra):
        message += ("; --source takes one value: quote a glob so the shell passes it on unexpanded, "
                    "e.g. --source 'frames/*.png'")
    return message


def _terminate(signum, frame):
    """SIGTERM as Ctrl-C: every command then removes its partial files the way it does on Ctrl-C.
    Later signals are ignored, so that clean-up is not itself cut short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate)   # first, so start-up (seconds of imports) is covered
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    # FFmpeg (inside OpenCV) prints its own errors, such as a refused stream connection, beside ours;
    # an environment setting of the user's own still wins
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", QUIET)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(_unrecognized(extra, sys.argv[1:] if argv is None else argv))
    try:
        if getattr(args, "config", None) or getattr(args, "set", None):
            config.apply(args.parser, args.config, args.set)
            args = parser.parse_args(argv)
        code = args.func(args)
    except SaviourError as error:
        print(f"saviour: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("saviour: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:   # a full disk or a vanished folder mid-run: the writers removed their partial files
        print(f"saviour: error: {describe_failure(error)}", file=sys.stderr)
        return EXIT_FAILED
    return code or 0
