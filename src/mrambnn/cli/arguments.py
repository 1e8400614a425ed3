"""Argument types of the command line: each turns a string into a checked value, or an
argparse error naming what is wrong."""

import argparse
import sys
from collections.abc import Callable
from fractions import Fraction

from tqdm import tqdm

from mrambnn.engine.threads import cores

__all__ = ["bar", "fraction", "image_shape", "layers", "positive", "probabilities", "wer_pair",
           "workers"]


def bar(label: str, total: int) -> Callable[[int], None]:
    bar = tqdm(total=total, desc=label, unit="draw", leave=True, file=sys.stderr)
    return bar.update


def probabilities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text}") from error
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise argparse.ArgumentTypeError(f"BER {v} is outside [0, 1]")
    return values


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def workers(text: str) -> int:
    """1 or more; more than this machine's cores would only compete, so capped there."""
    return min(positive(text), cores())


def layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of layer indices: {text}") from error


def fraction(text: str) -> Fraction:
    """An exact positive number: ``1/255``, ``0.0078125``, ``2``."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError) as error:
        raise argparse.ArgumentTypeError(f"not a number or fraction: {text}") from error
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def image_shape(text: str) -> tuple[int, int, int]:
    """``H,W,C``: the shape of the uint8 images a model classifies."""
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not H,W,C: {text}") from error
    if len(values) != 3 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"not three positive sizes H,W,C: {text}")
    return (values[0], values[1], values[2])


def wer_pair(text: str) -> tuple[float, float]:
    """``AP2P,P2AP``: the write error rates of the two switching directions."""
    values = probabilities(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"not two write error rates AP2P,P2AP: {text}")
    return (values[0], values[1])
