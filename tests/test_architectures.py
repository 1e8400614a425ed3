"""Architecture names: the named layouts, the parametric families, their sizes, and the
torch modules built from them."""

import pytest

from mrambnn.architectures import NAMED, architecture_help, parse_architecture


def test_parametric_names_mean_what_they_say() -> None:
    assert parse_architecture("mlp-2x256").dense == (256, 256)
    assert parse_architecture("mlp-512-256").dense == (512, 256)
    vgg = parse_architecture("vgg-w64-d1024")
    assert [c for c, _ in vgg.conv] == [64, 64, 128, 128, 256, 256] and vgg.dense == (1024,) * 2
    assert parse_architecture("vgg-w48") == NAMED["vgg-w48"]
    assert parse_architecture("vgg-w16").dense == (512, 512)
    # any layout in shorthand, and its shorthand back
    layout = "32C3-MP2-48C3-48C3-MP2-512FC-out"
    free = parse_architecture(layout)
    assert free.conv == ((32, True), (48, False), (48, True)) and free.dense == (512,)
    assert free.layout() == layout and parse_architecture("64C3-MP2-10FC").dense == (10,)
    assert parse_architecture(NAMED["vgg-w48"].layout()).conv == NAMED["vgg-w48"].conv
    for bad, needle in (("mlp-3x", "unknown architecture"), ("resnet-18", "mlp-DxW"),
                        ("mlp-2x0", "width must be in"), ("mlp-0x4", "depth must be"),
                        ("MP2-32C3", "MP2 must follow"), ("32C3-MP2-MP2", "MP2 must follow"),
                        ("64FC-32C3", "before the dense"), ("32C5-MP2", "unknown"),
                        ("0C3-10FC", "width must be in")):
        with pytest.raises(ValueError, match=needle):
            parse_architecture(bad)


def test_sizes_count_every_binary_weight() -> None:
    assert NAMED["mlp-3x1024"].n_weights((28, 28, 1), 10) == 2_910_208  # the shipped MNIST
    assert NAMED["vgg-w48"].n_weights((32, 32, 3), 10) == 2_484_240  # the shipped CIFAR-10
    assert NAMED["conv-fashion"].layout() == "64C3-MP2-128C3-MP2-256FC-out"
    text = architecture_help()
    for name in NAMED:
        assert name in text
    assert "vgg-w48 (48C3-48C3-MP2-96C3-96C3-MP2-192C3-192C3-MP2-512FC-512FC-out, 2.48 M" in text


def test_torch_modules_follow_the_parametric_names() -> None:
    torch = pytest.importorskip("torch")
    from mrambnn.nn import build_model

    mlp = build_model("mlp-2x256", (28, 28, 1), 10)
    weights = [m.weight.shape for m in mlp.modules()
               if type(m).__name__ == "BinaryLinear"]
    assert weights == [torch.Size([256, 784]), torch.Size([256, 256]), torch.Size([10, 256])]
    vgg = build_model("vgg-w8-d32", (32, 32, 3), 10)
    assert sum(p.numel() for n, p in vgg.named_parameters() if n.endswith("weight") and p.dim()
               > 1) == parse_architecture("vgg-w8-d32").n_weights((32, 32, 3), 10)
