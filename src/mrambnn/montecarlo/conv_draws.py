"""Many fault draws of a convolutional BNN, image by image, only what changes.

`ConvDrawEvaluator` takes the images in chunks; for each chunk it computes every layer's
clean margins once with the packed kernels (`conv_margins`, XNOR-popcount), then the
compiled kernel of `mrambnn.montecarlo.conv_draw_kernel` runs all the draws on each image,
propagating only the toggled bits and the flipped weights. Nothing is kept between calls
but the network, so memory is bounded by the chunk: about ``chunk * 2 * (sum of H*W*out
over the layers)`` bytes (256 images of the CIFAR-10 VGG-w48: 90 MB).

A call with D draws costs one clean pass plus D sparse updates per image, so the more
draws per call, the cheaper each one (a sweep passes all the draws of a BER point).
"""

from collections.abc import Sequence

import numpy as np

from mrambnn.bits import pack_bits, unpack_signs
from mrambnn.engine import Affine, Conv, PackedNet, Threshold, dense_preactivation, predict
from mrambnn.engine.conv import filter_operand
from mrambnn.engine.kernels import conv_margins
from mrambnn.engine.threads import IMAGES_PER_BLOCK, in_blocks
from mrambnn.montecarlo.conv_draw_kernel import DrawArrays, NetArrays, draws_kernel
from mrambnn.montecarlo.flips import csr_offsets, flipped_weights

__all__ = ["ConvDrawEvaluator", "supports_conv"]


# Margins and their changes are int16 (twice the SIMD lanes of int32): a margin is clipped
# to +-_LIMIT, exact as long as no draw can move any pre-activation that far.
_LIMIT = 16_000


def _reach(net: PackedNet, layer_index: int) -> int:
    """Largest change of one pre-activation of a layer: 2 * fan-in * max|input|."""
    layer = net.layers[layer_index]
    largest = net.largest_input if layer.integer_input else 1
    return 2 * layer.in_features * largest


def supports_conv(net: PackedNet) -> bool:
    """Whether ``net`` has this evaluator's layout: a convolution, and pre-activations
    that fit its int16 arithmetic."""
    return (any(isinstance(layer, Conv) for layer in net.layers)
            and all(_reach(net, i) < _LIMIT for i in range(len(net.layers))))


class ConvDrawEvaluator:
    """Exact predictions of ``net`` (with convolutions) under many weight draws.

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8 images.
        chunk: images whose clean margins are held at once (bounds memory).
        prune: settle a channel's flipped weights only at pixels within their reach of
            the threshold; False: at every pixel (the same predictions, slower; for
            checking).
    """

    def __init__(self, net: PackedNet, images: np.ndarray, *, chunk: int = 256,
                 prune: bool = True) -> None:
        if not supports_conv(net):
            raise ValueError("ConvDrawEvaluator needs a network with a convolution and "
                             f"fan-in x largest input below {_LIMIT // 2}")
        if chunk < 1:
            raise ValueError("chunk must be >= 1")
        self.net, self.images, self.chunk = net, np.asarray(images), chunk
        self.prune = prune
        self.n_images = len(self.images)
        dims, columns, negative, pre_sizes, map_sizes = [], [], [], [], []
        for layer in net.layers:
            direction = layer.head.direction.astype(np.int64)
            if isinstance(layer, Conv):
                h, w, c = layer.in_shape
                k, pool, pad = layer.filter_size, int(layer.pool), int(layer.padding or 0)
                ho, wo, _ = layer.conv_shape
            else:
                h, w, c, k, pool, pad, ho, wo = 1, 1, layer.in_features, 1, 0, 0, 1, 1
            o = layer.out_features
            dims.append((h, w, c, o, k, pool, pad, ho, wo))
            signs = unpack_signs(layer.weight_words, layer.in_features)  # (out, k*k*C)
            signed = (signs * direction[:, None].astype(np.int8)).reshape(o, k, k, c)
            # (ky, C, kx reversed, out): see the kernel's step 1
            columns.append(signed[:, :, ::-1, :].transpose(1, 3, 2, 0).ravel())
            negative.append(direction < 0)
            pre_sizes.append(ho * wo * o)
            if isinstance(layer.head, Threshold):
                map_sizes.append(ho * wo * o // (4 if pool else 1))
        self.dims = np.array(dims, np.int64)
        self.wt = np.ascontiguousarray(np.concatenate(columns), dtype=np.int8)
        self.wt_off = csr_offsets([c.size for c in columns])
        self.negative = np.concatenate(negative)
        self.neg_off = csr_offsets([n.size for n in negative])
        self.pre_off = csr_offsets(pre_sizes)
        self.map_off = csr_offsets(map_sizes)
        self.max_pre = max(pre_sizes)
        self.max_pixels = int(max(max(h * w, ho * wo) for h, w, *_, ho, wo in dims))
        self.max_out = int(self.dims[:, 3].max())
        last = net.layers[-1].head
        assert isinstance(last, Affine)
        self.scale = np.ascontiguousarray(last.scale, dtype=np.float64)
        self.offset = np.ascontiguousarray(last.offset, dtype=np.float64)
        # each conv layer's filters as the packed kernels take them
        self.filters = [filter_operand(layer) if isinstance(layer, Conv) else None
                        for layer in net.layers]
        self.clean_predictions = predict(net, self.images)

    def clean_margins(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Margins (N, sum of H'*W'*out) int16 (clipped to +-16000) of every layer, laid
        out (H', W', out) each, before pooling (the output layer: its pre-activations),
        and the first layer's inputs (N, H*W*C) int16, for (N, H, W, C) uint8 ``images``."""
        x = self.net.first_input(images)
        x0 = np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.int16)
        margins = np.empty((len(x), self.pre_off[-1]), np.int16)
        for li, (layer, filters) in enumerate(zip(self.net.layers, self.filters, strict=True)):
            head = layer.head
            begin, end = int(self.pre_off[li]), int(self.pre_off[li + 1])
            if isinstance(layer, Conv):
                assert filters is not None and isinstance(head, Threshold)
                x = conv_margins(x if layer.integer_input else pack_bits(x), filters,
                                 layer.in_shape[2], head.threshold, head.direction,
                                 integer=layer.integer_input, pool=layer.pool,
                                 margins=margins, offset=begin, limit=_LIMIT,
                                 padding=layer.padding)
                continue
            flat = x.reshape(len(x), -1)
            a = dense_preactivation(layer, flat).astype(np.int64)
            m = (head.direction * a - np.clip(head.threshold, -2**40, 2**40)
                 if isinstance(head, Threshold) else a)
            margins[:, begin:end] = np.clip(m, -_LIMIT, _LIMIT)
            x = m >= 0
        return margins, x0

    def _flips(self, draws: Sequence[Sequence[np.ndarray]]) -> DrawArrays:
        """CSR over (draw, layer) of the flipped weights: pointers, outputs, and their
        (ky, kx, c) patch positions (3, F)."""
        counts, outs, ins = [], [], []
        for words in draws:
            if len(words) != len(self.net.layers):
                raise ValueError(f"expected {len(self.net.layers)} weight arrays, "
                                 f"got {len(words)}")
            for li, (layer, faulty) in enumerate(zip(self.net.layers, words, strict=True)):
                faulty = np.asarray(faulty)
                if faulty.shape != layer.weight_words.shape:
                    raise ValueError(f"weights of shape {faulty.shape}, expected "
                                     f"{layer.weight_words.shape}")
                out, inp, _ = flipped_weights(layer.weight_words, faulty)
                counts.append(out.size)
                outs.append(out)
                c, k = self.dims[li, 2], self.dims[li, 4]
                ins.append(np.stack([inp // (k * c), inp // c % k, inp % c]))
        return DrawArrays(
            flip_ptr=csr_offsets(counts), flip_out=np.concatenate(outs).astype(np.int64),
            flip_patch=np.ascontiguousarray(np.concatenate(ins, axis=1), dtype=np.int64))

    def predict_draws(self, draws: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
        """Predicted labels (D, N) for D draws, each a sequence of stored weight arrays
        (one (out, n_words) uint64 array per layer)."""
        if not draws:
            return np.zeros((0, self.n_images), np.int64)
        flips = self._flips(draws)
        predictions = np.empty((len(draws), self.n_images), np.int64)
        for begin in range(0, self.n_images, self.chunk):
            images = self.images[begin:begin + self.chunk]
            predictions[:, begin:begin + len(images)] = self._chunk(images, flips)
        return predictions

    def _chunk(self, images: np.ndarray, flips: DrawArrays) -> np.ndarray:
        """Predictions (D, len(images)): one clean pass, then the kernel on blocks of
        images in threads (`in_blocks`)."""
        margins, x0 = self.clean_margins(images)
        absmax0 = np.abs(x0).max(axis=1, initial=0).astype(np.int64)
        net = NetArrays(dims=self.dims, wt=self.wt, wt_off=self.wt_off, pre_off=self.pre_off,
                        map_off=self.map_off, negative=self.negative, neg_off=self.neg_off,
                        scale=self.scale, offset=self.offset, max_pre=self.max_pre,
                        max_pixels=self.max_pixels, max_out=self.max_out, prune=self.prune)
        blocks = in_blocks(lambda start, end: draws_kernel(
            net, flips, margins[start:end], x0[start:end], absmax0[start:end]),
            len(images), min_block=IMAGES_PER_BLOCK)
        return np.concatenate(blocks, axis=1)
