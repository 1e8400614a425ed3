"""Argument types of the command line: each turns a string into a checked value, or an
argparse error naming what is wrong."""

import argparse
import sys
from collections.abc import Callable

from tqdm import tqdm

from mrambnn.engine.threads import cores

__all__ = ["bar", "layers", "positive", "probabilities", "workers"]


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
