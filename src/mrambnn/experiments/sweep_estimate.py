"""How long a BER sweep will take, estimated before it runs, so that a long run is announced.

The estimate is an upper one: every draw is costed as a full pass of the test images
through the packed network (the incremental engine is usually faster, never slower by
much), timed on a sample of the images in this process, plus, with a code in the loop,
the words the decoder must see (messages with more than t raw errors, expected from the
binomial law) at the decoder's measured cost per word.
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from mrambnn.bits import WORD_BITS
from mrambnn.engine import PackedNet, predict
from mrambnn.engine.threads import cores
from mrambnn.experiments.ber_sweep import SweepConfig
from mrambnn.experiments.deploy import check_layers
from mrambnn.memory.ecc import get_code

__all__ = ["LONG_RUN_SECONDS", "SweepEstimate", "estimate_sweep"]

LONG_RUN_SECONDS = 120.0  # a sweep expected to take longer is announced with its estimate
SAMPLE_IMAGES = 256  # images timed to cost a pass
SAMPLE_WORDS = 2000  # received words timed to cost the decoder


@dataclass(frozen=True, kw_only=True)
class SweepEstimate:
    """The expected cost of a sweep.

    Attributes:
        n_draws: draws still to run.
        pass_seconds: one full pass of the test images, s.
        decoded_words: words expected to go through the decoder, over all the draws.
        decode_seconds: their decoding, s (0 without a code).
        seconds: the whole sweep, s (an upper estimate).
    """

    n_draws: int
    pass_seconds: float
    decoded_words: float
    decode_seconds: float
    seconds: float

    def message(self, code: str) -> str:
        """A one-line announcement of the estimate."""
        minutes = self.seconds / 60
        parts = [f"{self.n_draws} draws, each a pass of about {self.pass_seconds:.1f} s"]
        if self.decoded_words:
            parts.append(f"{self.decoded_words:,.0f} words through the {code} decoder "
                         f"(about {self.decode_seconds:.0f} s)")
        return (f"this sweep may take up to about {minutes:.0f} min ({'; '.join(parts)}); "
                "fewer --draws or --n-images shorten it, and it resumes from --out")


def _seconds_per_image(net: PackedNet, images: np.ndarray) -> float:
    predict(net, images[:2])  # kernels compiled or loaded before timing
    sample = images[:SAMPLE_IMAGES]
    start = time.perf_counter()
    predict(net, sample)
    return (time.perf_counter() - start) / max(len(sample), 1)


def _decoder_seconds_per_word(code_name: str) -> float:
    code = get_code(code_name)
    words = np.random.default_rng(0).integers(0, 2, (SAMPLE_WORDS, code.n)).astype(np.uint8)
    code.decode(words[:2])  # tables built, decoder compiled or loaded before timing
    start = time.perf_counter()
    code.decode(words)
    return (time.perf_counter() - start) / SAMPLE_WORDS


def estimate_sweep(net: PackedNet, images: np.ndarray, config: SweepConfig, *,
                   workers: int = 1) -> SweepEstimate:
    """Expected cost of running ``config`` on ``net`` over ``images`` (N, H, W, C) with
    ``workers`` workers, from scratch (a resumed sweep takes less)."""
    if config.n_images is not None:
        images = images[: config.n_images]
    todo = [(ber, config.draws_at(ber)) for ber in config.bers]
    n_draws = sum(draws for _, draws in todo)
    parallel = max(1, min(workers, cores()))
    pass_seconds = _seconds_per_image(net, images) * len(images) if n_draws else 0.0
    code = get_code(config.code)
    decoded = 0.0
    if code.t and n_draws:
        per_message = code.k // WORD_BITS
        n_messages = sum(-(-net.layers[i].weight_words.size // per_message)
                         for i in check_layers(net, config.layers))
        decoded = sum(draws * n_messages * float(binom.sf(code.t, code.n, ber))
                      for ber, draws in todo)
    decode_seconds = decoded * _decoder_seconds_per_word(config.code) if decoded else 0.0
    seconds = (n_draws * pass_seconds + decode_seconds) / parallel
    return SweepEstimate(n_draws=n_draws, pass_seconds=pass_seconds, decoded_words=decoded,
                         decode_seconds=decode_seconds, seconds=seconds)
