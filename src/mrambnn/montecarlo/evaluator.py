"""`DrawEvaluator`: exact predictions of a network under many fault draws, by the
fastest path for its layout.

Paths (all give the predictions of a full re-evaluation, draw by draw):
- *batched incremental*: all the draws of a call at once, image by image, only what each
  draw changes: `mrambnn.montecarlo.dense_draws` for all-dense networks,
  `mrambnn.montecarlo.conv_draws` for convolutional ones with int16-sized sums;
- *general incremental* (`mrambnn.montecarlo.general`): the other networks, draw by draw;
- *full*: the packed engine re-evaluates every image (`mrambnn.engine.predict`).
'auto' takes the incremental path unless so many weights flipped that changes reach nearly
every image: above 1.5 % of the weights (0.04 % in a convolutional network) the full path
is faster (measured with benchmarks/monte_carlo.py on the shipped MNIST MLP, 3,000 images
x 20 draws: incremental 9.1x the full path at BER 1e-3, 5.2x at 2e-3, 2.9x at 5e-3, 1.2x at
1e-2; on the shipped CIFAR-10 net, 300 images x 20 draws: 2.5x at BER 5e-5, 2.0x at 1e-4,
1.4x at 2e-4, 1.0x at 5e-4, 0.71x at 1e-3).
"""

from collections.abc import Sequence

import numpy as np

from mrambnn.engine import PackedNet, predict
from mrambnn.montecarlo.conv_draws import ConvDrawEvaluator, supports_conv
from mrambnn.montecarlo.dense_draws import DenseDrawEvaluator, supports
from mrambnn.montecarlo.general import GeneralEvaluator

__all__ = ["CONV_FULL_ABOVE", "DENSE_FULL_ABOVE", "PATHS", "DrawEvaluator"]

PATHS = ("auto", "incremental", "full")
# Fractions of flipped weights above which 'auto' takes the full path (module docstring).
DENSE_FULL_ABOVE = 1.5e-2
CONV_FULL_ABOVE = 4e-4


class DrawEvaluator:
    """Exact predictions of ``net`` with other stored weights, on fixed ``images``.

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8 images; the clean network is evaluated on them here.
    Attributes:
        incremental: the incremental evaluator chosen for the network's layout.
        full_above: fraction of flipped weights above which 'auto' runs the full path.
        clean_predictions: (N,) int64 labels of the clean network.
    """

    def __init__(self, net: PackedNet, images: np.ndarray) -> None:
        self.net = net
        self.images = images
        self.n_images = len(images)
        self.incremental: DenseDrawEvaluator | ConvDrawEvaluator | GeneralEvaluator = (
            DenseDrawEvaluator(net, images) if supports(net)
            else ConvDrawEvaluator(net, images) if supports_conv(net)
            else GeneralEvaluator(net, images))
        self.full_above = (CONV_FULL_ABOVE if isinstance(self.incremental, ConvDrawEvaluator)
                           else DENSE_FULL_ABOVE)
        self.clean_predictions = self.incremental.clean_predictions

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
            path = "full" if flipped > self.full_above * self.net.n_weights else "incremental"
        if path == "full":
            return np.stack([predict(self.net.with_weight_words(tuple(words)), self.images)
                             for words in draws])
        return self.incremental.predict_draws(draws)

    def accuracies(self, draws: Sequence[Sequence[np.ndarray]], labels: np.ndarray, *,
                   path: str = "auto") -> list[float]:
        """Fraction of ``labels`` (N,) predicted under each of D draws (D floats)."""
        predictions = self.predict_many(draws, path=path)
        return [float(np.mean(p == np.asarray(labels))) for p in predictions]
