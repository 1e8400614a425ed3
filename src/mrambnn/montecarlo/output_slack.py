"""How much the last hidden layer of a dense network may change before an image's
prediction can: the table that lets `mrambnn.montecarlo.dense_draw_kernel` settle an image
and draw without evaluating that layer.

With output scores ``score_c = s_c a_c + o_c`` (`mrambnn.engine.layers.Affine`) and t the
image's clean prediction, a toggle of input j of the output layer (x_j to -x_j, clean
weights) changes the gap ``score_t - score_c`` by ``-2 x_j (s_t w_tj - s_c w_cj)``. A neuron
j of the last hidden layer with clean margin m_j can only toggle if the changes reaching it
(2 per toggled input, 2 per flipped weight) add up to at least ``|m_j|``; so if every
neuron with ``|m_j| <= r`` toggled, each in the way that hurts, gap c would lose at most
``H_c(r) = sum_{|m_j| <= r} max(0, 2 x_j (s_t w_tj - s_c w_cj))``. The table holds
``min_c (gap_c - H_c(r))`` per image and r; flipped output weights, known per draw, take
their own part (``2 f_c |s_c|`` from score c).
"""

import numpy as np

__all__ = ["REACH_LIMIT", "slack_table"]

REACH_LIMIT = 256  # reach values tabulated: past this, an image is evaluated in full
_IMAGES_PER_CHUNK = 512  # bounds the (images, neurons) temporaries


def slack_table(margins: np.ndarray, bits: np.ndarray, signs: np.ndarray, scores: np.ndarray,
                scale: np.ndarray, reach_limit: int = REACH_LIMIT) -> np.ndarray:
    """(N, reach_limit) float32 slack, rounded down: entry (n, r) is the least over classes
    c other than the top one of ``gap_c - H_c(r)`` (module docstring).

    Args:
        margins: (N, n_hidden) integer clean margins of the last hidden layer's neurons.
        bits: (N, n_hidden) bool, their clean output bits (x_j = +1 where set).
        signs: (C, n_hidden) +-1 weights of the output layer.
        scores: (N, C) float64 clean scores; scale: (C,) the head's scales s_c.
    """
    n_images, n_classes = scores.shape
    slack = np.empty((n_images, reach_limit), np.float64)
    signs = signs.astype(np.float64)
    scale = np.asarray(scale, np.float64)
    for begin in range(0, n_images, _IMAGES_PER_CHUNK):
        end = min(begin + _IMAGES_PER_CHUNK, n_images)
        x = np.where(bits[begin:end], 1.0, -1.0)
        top = np.argmax(scores[begin:end], axis=1)
        # a margin past the limit is never within reach of a tabulated r
        where = np.minimum(np.abs(margins[begin:end]), reach_limit).astype(np.int64)
        where += (reach_limit + 1) * np.arange(end - begin)[:, None]
        least = np.full((end - begin, reach_limit), np.inf)
        for c in range(n_classes):
            harm = np.maximum(0.0, 2 * x * (scale[top, None] * signs[top]
                                             - scale[c] * signs[c]))
            by_margin = np.bincount(where.ravel(), harm.ravel(),
                                    minlength=(end - begin) * (reach_limit + 1))
            lost = np.cumsum(by_margin.reshape(end - begin, -1)[:, :reach_limit], axis=1)
            gap = scores[np.arange(begin, end), top] - scores[begin:end, c]
            candidate = np.where((top == c)[:, None], np.inf, gap[:, None] - lost)
            np.minimum(least, candidate, out=least)
        slack[begin:end] = least
    rounded = slack.astype(np.float32)
    # rounding to float32 must not raise the slack: step down where it did
    too_high = rounded.astype(np.float64) > slack
    rounded[too_high] = np.nextafter(rounded[too_high], np.float32(-np.inf))
    return rounded
