"""The trainable BNN architectures by name, without torch: what ``--arch`` accepts, what
each name means, and how many binary weights it has.

Names: the fixed ones of `NAMED`, and two parametric families:

- ``mlp-DxW`` (D hidden layers of W units, e.g. ``mlp-2x256``) or ``mlp-W1-W2-...``
  (e.g. ``mlp-512-256``): binary fully connected layers, BatchNorm and sign after each;
- ``vgg-wC`` or ``vgg-wC-dD``: the BinaryNet CIFAR-10 layout 2xC-MP-2x2C-MP-2x4C-MP of
  3x3 'same' convolutions, then two dense layers of D units (default 512);
- any layout in the usual shorthand, as `Architecture.layout` writes it: ``NC3`` (a 3x3
  'same' convolution of N channels), ``MP2`` (2x2 max-pooling after it), ``NFC`` (a dense
  layer of N units), joined by '-', the output layer implied or written ``out``; e.g.
  ``32C3-MP2-64C3-64C3-MP2-512FC``.

Every layer, the first and the output layer included, has binary weights; `mrambnn.nn`
builds the torch module from an `Architecture`.
"""

import re
from dataclasses import dataclass

__all__ = ["NAMED", "Architecture", "architecture_help", "parse_architecture"]

# largest layer width a name may ask for (a typo like mlp-3x10240000 fails fast)
MAX_WIDTH = 65536


@dataclass(frozen=True, kw_only=True)
class Architecture:
    """A BNN layout.

    Attributes:
        name: the name it was asked by.
        conv: (out_channels, pool after) of each 3x3 'same' binary convolution, in order.
        dense: units of each hidden binary dense layer after the convolutions.
        note: where the layout comes from, or what it is for.
    """

    name: str
    conv: tuple[tuple[int, bool], ...] = ()
    dense: tuple[int, ...] = ()
    note: str = ""

    def layout(self) -> str:
        """The layers in the usual shorthand, e.g. '64C3-MP2-128C3-MP2-256FC'."""
        parts = []
        for channels, pool in self.conv:
            parts.append(f"{channels}C3")
            if pool:
                parts.append("MP2")
        parts += [f"{units}FC" for units in self.dense]
        return "-".join(parts) + "-out"

    def n_weights(self, input_shape: tuple[int, int, int], n_classes: int) -> int:
        """Binary weights on an (H, W, C) input with ``n_classes`` outputs."""
        h, w, channels = input_shape
        total = 0
        for out, pool in self.conv:
            total += 9 * channels * out
            channels = out
            if pool:
                h, w = h // 2, w // 2
        width = h * w * channels
        for units in (*self.dense, n_classes):
            total += width * units
            width = units
        return total


def _vgg(name: str, width: int, dense: int, note: str = "") -> Architecture:
    conv = ((width, False), (width, True), (2 * width, False), (2 * width, True),
            (4 * width, False), (4 * width, True))
    return Architecture(name=name, conv=conv, dense=(dense, dense), note=note)


NAMED: dict[str, Architecture] = {
    "mlp-3x1024": Architecture(name="mlp-3x1024", dense=(1024,) * 3,
                               note="the shipped MNIST network"),
    "mlp-3x2048": Architecture(name="mlp-3x2048", dense=(2048,) * 3),
    "mlp-tiny": Architecture(name="mlp-tiny", dense=(64, 32), note="tests"),
    "vgg-binarynet": _vgg("vgg-binarynet", 128, 1024,
                          "Courbariaux/Hubara et al. 2016: 88.6 % on CIFAR-10"),
    "vgg-narrow": _vgg("vgg-narrow", 32, 256, "a quarter of the width, quick CPU runs"),
    "vgg-w48": _vgg("vgg-w48", 48, 512, "the shipped CIFAR-10 network"),
    "conv-small": Architecture(name="conv-small", conv=((32, True), (64, True)), dense=(256,)),
    "conv-fashion": Architecture(name="conv-fashion", conv=((64, True), (128, True)),
                                 dense=(256,), note="the shipped Fashion-MNIST network"),
    "conv-tiny": Architecture(name="conv-tiny", conv=((8, False), (8, True)), dense=(16,),
                              note="tests"),
}


def _width(text: str, name: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_WIDTH:
        raise ValueError(f"architecture {name!r}: a width must be in 1..{MAX_WIDTH}, got "
                         f"{value}")
    return value


def parse_architecture(name: str) -> Architecture:
    """The architecture a name means (module docstring); ValueError naming the accepted
    forms otherwise."""
    if name in NAMED:
        return NAMED[name]
    if match := re.fullmatch(r"mlp-(\d+)x(\d+)", name):
        depth, width = int(match[1]), _width(match[2], name)
        if not 1 <= depth <= 64:
            raise ValueError(f"architecture {name!r}: depth must be in 1..64")
        return Architecture(name=name, dense=(width,) * depth)
    if re.fullmatch(r"mlp-\d+(-\d+)*", name):
        return Architecture(name=name, dense=tuple(_width(w, name) for w in name[4:].split("-")))
    if match := re.fullmatch(r"vgg-w(\d+)(?:-d(\d+))?", name):
        return _vgg(name, _width(match[1], name),
                    _width(match[2], name) if match[2] else 512)
    if re.fullmatch(r"(\d+C3|MP2|\d+FC)(-(\d+C3|MP2|\d+FC))*(-out)?", name):
        return _shorthand(name)
    raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(NAMED)}, or "
                     "mlp-DxW / mlp-W1-W2-... / vgg-wC / vgg-wC-dD, or a layout such as "
                     "32C3-MP2-64C3-MP2-256FC")


def _shorthand(name: str) -> Architecture:
    """The layout ``name`` in shorthand (module docstring)."""
    conv: list[tuple[int, bool]] = []
    dense: list[int] = []
    for token in name.removesuffix("-out").split("-"):
        if token == "MP2":
            if not conv or conv[-1][1] or dense:
                raise ValueError(f"architecture {name!r}: MP2 must follow a convolution "
                                 "(once)")
            conv[-1] = (conv[-1][0], True)
        elif token.endswith("C3"):
            if dense:
                raise ValueError(f"architecture {name!r}: convolutions must come before the "
                                 "dense layers")
            conv.append((_width(token[:-2], name), False))
        else:
            dense.append(_width(token[:-2], name))
    return Architecture(name=name, conv=tuple(conv), dense=tuple(dense))


def architecture_help() -> str:
    """What ``--arch`` accepts, with each named layout and its size on MNIST (28x28x1) or
    CIFAR-10 (32x32x3)."""
    rows = []
    for arch in NAMED.values():
        shape = (32, 32, 3) if arch.name.startswith("vgg") else (28, 28, 1)
        where = "CIFAR-10" if shape == (32, 32, 3) else "MNIST"
        size = arch.n_weights(shape, 10) / 1e6
        note = f"; {arch.note}" if arch.note else ""
        rows.append(f"{arch.name} ({arch.layout()}, {size:.2f} M weights on {where}{note})")
    return ("; ".join(rows) + "; or parametric: mlp-DxW (D layers of W, e.g. mlp-2x256), "
            "mlp-W1-W2-..., vgg-wC or vgg-wC-dD (BinaryNet layout of base width C, dense D, "
            "default 512), or any layout in shorthand (NC3 a 3x3 convolution, MP2 a 2x2 "
            "max-pool, NFC a dense layer), e.g. 32C3-MP2-64C3-64C3-MP2-512FC")
