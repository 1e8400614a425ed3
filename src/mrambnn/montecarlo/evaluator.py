"""`DrawEvaluator`: exact predictions of a network under many fault draws, by the
fastest path for its layout.

Paths (all give the predictions of a full re-evaluation, draw by draw):
- *batched incremental*: all the draws of a call at once, image by image, only what each
  draw changes: `mrambnn.montecarlo.dense_draws` for all-dense networks,
  `mrambnn.montecarlo.conv_draws` for convolutional ones with int16-sized sums;
- *general incremental* (`mrambnn.montecarlo.general`): the other networks, draw by draw;
- *full*: the packed engine re-evaluates every image, the clean first layer computed once
  for all the draws of a call (`mrambnn.engine.predict_draws`).
'auto' takes the incremental path unless so many weights flipped that changes reach nearly
every image; where the full path becomes faster depends on the processor and the network,
so it is measured on the machine at hand (about a second per network) and cached
(`mrambnn.montecarlo.path_choice`). For scale, on a 2-core Intel machine with benchmarks/
monte_carlo.py: the shipped MNIST MLP's crossover lay near 1.5 % flipped weights, the
CIFAR-10 VGG's near 0.04 %.
"""

from collections.abc import Sequence

import numpy as np

from mrambnn.engine import PackedNet, predict_draws
from mrambnn.montecarlo.conv_draws import ConvDrawEvaluator, supports_conv
from mrambnn.montecarlo.dense_draws import DenseDrawEvaluator, supports
from mrambnn.montecarlo.general import GeneralEvaluator
from mrambnn.montecarlo.path_choice import SAMPLE_IMAGES, cached_full_above, measure_full_above

__all__ = ["PATHS", "DrawEvaluator"]

PATHS = ("auto", "incremental", "full")


class DrawEvaluator:
    """Exact predictions of ``net`` with other stored weights, on fixed ``images``.

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8 images; the clean network is evaluated on them here.
        full_above: fraction of flipped weights above which 'auto' runs the full path;
            None: measured on this machine when first needed, and cached.
    Attributes:
        incremental: the incremental evaluator chosen for the network's layout.
        clean_predictions: (N,) int64 labels of the clean network.
    """

    def __init__(self, net: PackedNet, images: np.ndarray, *,
                 full_above: float | None = None) -> None:
        self.net = net
        self.images = images
        self.n_images = len(images)
        self.incremental: DenseDrawEvaluator | ConvDrawEvaluator | GeneralEvaluator = (
            DenseDrawEvaluator(net, images) if supports(net)
            else ConvDrawEvaluator(net, images) if supports_conv(net)
            else GeneralEvaluator(net, images))
        if full_above is not None and not 0.0 <= full_above <= 1.0:
            raise ValueError(f"full_above must be a fraction in [0, 1], got {full_above}")
        self._full_above = full_above
        self.clean_predictions = self.incremental.clean_predictions

    @property
    def full_above(self) -> float:
        """The fraction of flipped weights above which 'auto' runs the full path (given,
        or measured on this machine: `mrambnn.montecarlo.path_choice`)."""
        if self._full_above is None:
            self._full_above = cached_full_above(
                self.net, type(self.incremental).__name__, self._measure_full_above)
        return self._full_above

    def _measure_full_above(self) -> float:
        sample = self.images[:SAMPLE_IMAGES]
        timed = (self.incremental if self.n_images <= SAMPLE_IMAGES
                 else type(self.incremental)(self.net, sample))
        crossover, _ = measure_full_above(self.net, sample, timed.predict_draws,
                                          rng=np.random.default_rng(0x9A7F))
        return crossover

    @property
    def batched(self) -> bool:
        """Whether the incremental path takes many draws at once (one clean pass per image
        serves them all), so that a caller should hand it all the draws of a point."""
        return not isinstance(self.incremental, GeneralEvaluator)

    def predict(self, words: Sequence[np.ndarray], *, path: str = "auto") -> np.ndarray:
        """Predicted labels (N,) with stored weights ``words`` (one (out, n_words) uint64
        array per layer); ``path``: one of `PATHS` (the result is the same, only the
        time differs)."""
        return self.predict_many([words], path=path)[0]

    def predict_many(self, draws: Sequence[Sequence[np.ndarray]], *, path: str = "auto"
                     ) -> np.ndarray:
        """Predicted labels (D, N) for D draws of stored weights (see `predict`)."""
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; choose one of {', '.join(PATHS)}")
        n_layers = len(self.net.layers)
        for words in draws:
            if len(words) != n_layers:
                raise ValueError(f"expected {n_layers} weight arrays, got {len(words)}")
        if not draws:
            return np.zeros((0, self.n_images), np.int64)
        if path == "auto":
            flipped = sum(int(np.bitwise_count(w ^ layer.weight_words).sum())
                          for w, layer in zip(draws[0], self.net.layers, strict=True))
            path = ("full" if flipped and flipped > self.full_above * self.net.n_weights
                    else "incremental")
        if path == "full":
            return predict_draws(self.net, self.images, draws)
        return self.incremental.predict_draws(draws)

    def accuracies(self, draws: Sequence[Sequence[np.ndarray]], labels: np.ndarray, *,
                   path: str = "auto") -> list[float]:
        """Fraction of ``labels`` (N,) predicted under each of D draws (D floats)."""
        predictions = self.predict_many(draws, path=path)
        return [float(np.mean(p == np.asarray(labels))) for p in predictions]
