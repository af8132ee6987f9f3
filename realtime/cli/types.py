"""Argument types with ranges: a value from a flag or a config file is checked by the same function."""

from __future__ import annotations

import argparse


def scale_list(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0.7,0.35, got {text!r}") from None


def eps_fraction(text: str) -> float:
    try:
        if "/" in text:
            top, bottom = text.split("/")
            return float(top) / float(bottom)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected a number such as -0.25 or -64/255, got {text!r}") from None


def attack_budget(text: str) -> float:
    """An L-infinity pixel budget in (0, 1], as a number or a fraction such as 16/255."""
    value = eps_fraction(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a budget in (0, 1] such as 16/255, got {text!r}")
    return value


def budget_list(text: str) -> tuple[float, ...]:
    return tuple(attack_budget(v) for v in text.split(","))


def bound_list(text: str) -> tuple[float | None, ...]:
    """L-infinity bounds, 'none' for only the valid pixel range: e.g. none,8/255."""
    return tuple(None if v.strip() == "none" else attack_budget(v) for v in text.split(","))


def at_least(minimum: int):
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


def number_in(contains, expected: str):
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


block_fraction = number_in(lambda v: 0 < v <= 2, "a block fraction in (0, 2]")
class_balance = number_in(lambda v: 0 <= v <= 1, "a class balance in [0, 1]")
positive = number_in(lambda v: v > 0, "a positive number")
not_negative = number_in(lambda v: v >= 0, "a number of at least 0")
removal_share = number_in(lambda v: 0 <= v < 1, "a share of pixels in [0, 1)")


def min_size_px(text: str) -> float | None:
    """'auto' (None: the detector follows the frame height) or a positive number of pixels."""
    if text == "auto":
        return None
    try:
        return positive(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto or a positive number of pixels, got {text!r}") from None


def frame_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT in pixels, each at least 32 (the farm world's smallest)."""
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and min(int(width), int(height)) >= 32):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT of at least 32x32 pixels, e.g. 1280x720, got {text!r}")
    return int(width), int(height)


def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 6001,6002, got {text!r}") from None


def fraction_range(text: str) -> tuple[float, float]:
    """LOW,HIGH: a range of block sides, each a block fraction, LOW at most HIGH."""
    values = fraction_list(text)
    if len(values) != 2 or values[0] > values[1]:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH block fractions with LOW <= HIGH, e.g. 0.9,1.3, "
                                         f"got {text!r}")
    return values


def area_range(text: str) -> tuple[float, float]:
    """LOW,HIGH: a range of shares of the image area, each in (0, 1), LOW at most HIGH."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2 or not 0 < values[0] <= values[1] < 1:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH shares of the image area in (0, 1) with LOW <= HIGH, "
                                         f"e.g. 0.03,0.25, got {text!r}")
    return values


def fraction_list(text: str) -> tuple[float, ...]:
    values = scale_list(text)
    for value in values:
        block_fraction(str(value))
    return values
