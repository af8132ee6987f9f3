"""Options several subcommands share, and how a subcommand is declared and run."""

from __future__ import annotations

import argparse
import importlib
import textwrap

from engine.choices import DEVICE_CHOICES
from realtime.choices import ATTACK_EPS, DEFAULT_FRACTION
from realtime.cli.types import at_least, attack_budget, block_fraction, min_size_px, scale_list


def add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES,
                        help="auto picks CUDA when present, else the CPU (default: auto)")


def add_weights(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", default="hunter",
                        help="'hunter' (shipped) or a checkpoint from `saviour train-hunter` (default: hunter)")


def add_model(parser: argparse.ArgumentParser) -> None:
    """The hunter (its weights from --weights) or a real-world ImageNet classifier."""
    parser.add_argument("--model", default="hunter",
                        help="hunter (the farm world's; --weights), or a real-world ImageNet classifier: "
                             "efficientnet_lite0 (installed), timm:NAME, torchvision:NAME (default: hunter)")


MIN_SIZE_HELP = ("smallest animal to find, in frame pixels, or auto: 20 up to 360p, then in proportion to the "
                 "frame height (40 at 720p, 60 at 1080p), which scans any frame as its 360p version "
                 "(default: auto); 20 on a 1080p frame scans nine times the pixels")


def add_min_size(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-size", type=min_size_px, default=None, metavar="PX|auto", help=MIN_SIZE_HELP)


def add_detector(parser: argparse.ArgumentParser) -> None:
    add_weights(parser)
    add_model(parser)
    add_min_size(parser)
    parser.add_argument("--scales", type=scale_list, default=None,
                        help="pyramid scales, e.g. 0.7,0.35,0.175 (default: chosen from the frame height)")
    parser.add_argument("--stride", type=int, default=9, help="window stride in pyramid pixels: 9, 3 or 1")
    parser.add_argument("--threshold", type=float, default=None,
                        help="class probability to keep a window, in (0, 1) (default: 0.99; ImageNet models 0.5)")
    add_device(parser)


def add_images(parser: argparse.ArgumentParser, verb: str, crops: int) -> None:
    """The classifier and the images to work on: files, or crops of a farm world never trained on."""
    parser.add_argument("--weights", "--model", dest="weights", default="farm",
                        help="'farm' (shipped), 'hunter', a checkpoint file, or an ImageNet classifier: "
                             "efficientnet_lite0 (installed), timm:NAME or torchvision:NAME (their weights "
                             "download on first use)")
    parser.add_argument("--random-weights", action="store_true",
                        help="with torchvision:NAME, random weights instead of ImageNet's: no download, to try it out")
    parser.add_argument("--image", nargs="+", default=None, help=f"image files to {verb} (default: farm-world crops)")
    parser.add_argument("--crops", type=at_least(1), default=crops, help=f"farm-world crops to {verb} (default: {crops})")
    parser.add_argument("--seed", type=int, default=7000, help="world seed of the crops and RISE masks (default: 7000)")


def add_image_folder(parser: argparse.ArgumentParser, verb: str, limit: int) -> None:
    parser.add_argument("--images", default=None, metavar="DIR",
                        help=f"a folder of photos to {verb}, each resized and centre-cropped to the model's input")
    parser.add_argument("--limit", type=at_least(1), default=limit,
                        help=f"with --images: this many photos, evenly spread over the folder by name (default: {limit})")


def handler(module: str, name: str):
    """`realtime.commands.<module>.<name>`, imported when its command runs: the command modules load
    torch, which takes seconds, and `--help` or a mistyped argument should answer at once."""
    def run(args):
        return getattr(importlib.import_module(f"realtime.commands.{module}"), name)(args)
    return run


def subcommand(sub, name: str, summary: str, examples: str, func) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=summary, description=summary,
                            epilog="examples:\n" + textwrap.indent(textwrap.dedent(examples).strip(), "  "),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=func, parser=parser)
    return parser


def add_attack_eps(parser: argparse.ArgumentParser, which: str, default: float | None = None) -> None:
    per_mode = ", ".join(f"{mode} {round(eps * 255)}/255" for mode, eps in ATTACK_EPS.items())
    parser.add_argument("--attack-eps", type=attack_budget, default=default,
                        help=f"pixel budget (L-infinity) of {which}, e.g. 16/255 (default: "
                             + (f"{round(default * 255)}/255)" if default else f"{per_mode})"))


def add_fraction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fraction", type=block_fraction, default=DEFAULT_FRACTION,
                        help="block side / chicken box side (default: %(default)s)")


def add_config(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--config", default=None, help=f"YAML file of settings, e.g. {example}")
    parser.add_argument("--set", action="append", default=None, metavar="KEY=VALUE",
                        help="override one setting (repeatable), e.g. --set fraction=0.6")


