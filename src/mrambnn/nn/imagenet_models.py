"""The two standard ImageNet BNN families, for 224 x 224 inputs, exported to a `GraphNet`
(`mrambnn.nn.graph_export`).

- `AlexNetBNN` (``alexnet-bnn``): the BinaryNet AlexNet layout (Courbariaux, Hubara et
  al. 2016; BinaryNet.pytorch ``alexnet_binary``, widths inflated 3x): every convolution
  and dense weight binary, the first layer on integer pixels (``pixel - 128``), conv ->
  [overlapping 3 x 3 stride-2 max-pool] -> BatchNorm -> sign, the output BatchNorm giving
  the scores. 11 x 11 stride-4 stem, then 5 x 5 and 3 x 3 convolutions, three dense
  layers; 77 M binary weights for 1,000 classes, all in the MRAM.
- `BiRealResNet18` (``resnet18-bnn``): the Bi-Real-18 layout (Liu et al., ECCV 2018): a
  real-valued 7 x 7 stride-2 stem with BatchNorm and a 3 x 3 stride-2 max-pool, sixteen
  binary 3 x 3 convolutions each with its own shortcut (sign -> binary conv -> BatchNorm,
  added to the real-valued input of the block), downsampling shortcuts of a 2 x 2
  average-pool, a real 1 x 1 convolution and BatchNorm, global average pooling and a real
  dense classifier with bias. 10.9 M binary weights in the MRAM; the stem, shortcut and
  classifier weights (1.2 M for 1,000 classes) and every BatchNorm are real-valued, kept
  in an error-free memory. Input: pixels normalised with the ImageNet mean and std.
"""

import numpy as np
import torch
from torch import nn

from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["IMAGENET_MEAN", "IMAGENET_MODELS", "IMAGENET_STD", "AlexNetBNN", "BiRealResNet18",
           "build_imagenet_model", "input_levels"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
BN_EPS = 1e-5


class AlexNetBNN(nn.Module):
    """BinaryNet AlexNet. Input (N, 3, 224, 224) of integers ``pixel - 128``; output
    (N, n_classes) scores. ``width`` scales every layer (1.0: 192-576-1152-768-256
    channels, 4096-wide dense layers)."""

    input_layout = "nchw"
    input_offset = 128

    def __init__(self, n_classes: int = 1000, *, width: float = 1.0,
                 input_size: int = 224) -> None:
        super().__init__()
        c1, c2, c3, c4, c5, d = (max(1, round(v * width))
                                 for v in (192, 576, 1152, 768, 256, 4096))

        def block(cin: int, cout: int, k: int, stride: int, padding: int, pool: bool
                  ) -> list[nn.Module]:
            layers: list[nn.Module] = [BinaryConv2d(cin, cout, k, padding, stride)]
            if pool:
                layers.append(nn.MaxPool2d(3, 2))
            return [*layers, nn.BatchNorm2d(cout, eps=BN_EPS), SignActivation()]

        self.features = nn.Sequential(*block(3, c1, 11, 4, 2, True),
                                      *block(c1, c2, 5, 1, 2, True),
                                      *block(c2, c3, 3, 1, 1, False),
                                      *block(c3, c4, 3, 1, 1, False),
                                      *block(c4, c5, 3, 1, 1, True))
        side = input_size
        for k, s, p in ((11, 4, 2), (3, 2, 0), (5, 1, 2), (3, 2, 0), (3, 2, 0)):
            side = (side + 2 * p - k) // s + 1
        self.classifier = nn.Sequential(
            nn.Flatten(),
            BinaryLinear(c5 * side * side, d), nn.BatchNorm1d(d, eps=BN_EPS), SignActivation(),
            BinaryLinear(d, d), nn.BatchNorm1d(d, eps=BN_EPS), SignActivation(),
            BinaryLinear(d, n_classes), nn.BatchNorm1d(n_classes, eps=BN_EPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BiRealBlock(nn.Module):
    """sign -> binary 3 x 3 conv (stride 1 or 2) -> BatchNorm, plus the shortcut: the
    input itself, or (when the shape changes) 2 x 2 average-pool -> real 1 x 1 conv ->
    BatchNorm."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.sign = SignActivation()
        self.conv = BinaryConv2d(cin, cout, 3, 1, stride)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout, eps=BN_EPS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.sign(x))) + self.shortcut(x)


class BiRealResNet18(nn.Module):
    """Bi-Real-18. Input (N, 3, H, W) of normalised pixels ``(pixel / 255 - mean) /
    std``; output (N, n_classes). ``width`` scales the channels (1.0: 64-128-256-512)."""

    input_layout = "nchw"

    def __init__(self, n_classes: int = 1000, *, width: float = 1.0) -> None:
        super().__init__()
        widths = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 7, 2, 3, bias=False),
                                  nn.BatchNorm2d(widths[0], eps=BN_EPS),
                                  nn.MaxPool2d(3, 2, 1))
        blocks: list[nn.Module] = []
        cin = widths[0]
        for stage, cout in enumerate(widths):
            for i in range(4):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BiRealBlock(cin, cout, stride))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.blocks(self.stem(x))), 1))


IMAGENET_MODELS = {"alexnet-bnn": AlexNetBNN, "resnet18-bnn": BiRealResNet18}


def build_imagenet_model(name: str, n_classes: int = 1000, **options: float) -> nn.Module:
    """A fresh ``alexnet-bnn`` or ``resnet18-bnn``."""
    if name not in IMAGENET_MODELS:
        raise ValueError(f"unknown ImageNet model {name!r}; choose one of "
                         f"{', '.join(IMAGENET_MODELS)}")
    return IMAGENET_MODELS[name](n_classes, **options)  # type: ignore[arg-type]


def input_levels(model: nn.Module, channels: int = 3) -> np.ndarray:
    """(C, 256) table of what ``model`` takes for each pixel value: int16 ``pixel -
    input_offset`` for integer-input models, float64 normalised pixels otherwise."""
    pixels = np.arange(256)
    offset = getattr(model, "input_offset", None)
    if offset is not None:
        return np.tile(pixels - offset, (channels, 1)).astype(np.int16)
    mean = np.asarray(IMAGENET_MEAN, np.float64)[:, None]
    std = np.asarray(IMAGENET_STD, np.float64)[:, None]
    return (pixels[None, :] / 255.0 - mean) / std
