"""The core inference engine: bit-packed binarized networks, evaluated exactly.

A `PackedNet` holds each layer's binary weights as uint64 words (the words an MRAM array
stores) and integer thresholds obtained by folding BatchNorm and sign; its dense and conv
layers run on compiled XNOR-popcount kernels (numba). The Monte Carlo evaluators of many
faulty copies live apart, in `mrambnn.montecarlo`, and this package never imports them.
"""

from mrambnn.engine.conv import Conv
from mrambnn.engine.first_layer import FirstLayerReuse, predict_draws
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.network import Layer, PackedNet, accuracy, forward, forward_from, predict
from mrambnn.engine.ops import (
    binary_dense_preactivation,
    dense_preactivation,
    integer_dense_preactivation,
)
from mrambnn.engine.serialize import ModelFileError, load_packed_net, save_packed_net

__all__ = [
    "Affine",
    "Conv",
    "Dense",
    "FirstLayerReuse",
    "Layer",
    "ModelFileError",
    "PackedNet",
    "Threshold",
    "accuracy",
    "binary_dense_preactivation",
    "dense_preactivation",
    "forward",
    "forward_from",
    "integer_dense_preactivation",
    "load_packed_net",
    "predict",
    "predict_draws",
    "save_packed_net",
]
