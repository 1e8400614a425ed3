import numpy as np
import pytest

from mrambnn.bits import pack_signs
from mrambnn.engine import (
    Affine,
    Conv,
    Dense,
    ModelFileError,
    PackedNet,
    Threshold,
    forward,
    load_packed_net,
    save_packed_net,
)


def _net(seed: int = 0) -> PackedNet:
    rng = np.random.default_rng(seed)
    w1 = pack_signs(rng.choice(np.array([-1, 1], np.int8), (20, 12)))
    w2 = pack_signs(rng.choice(np.array([-1, 1], np.int8), (3, 20)))
    hidden = Threshold(threshold=rng.integers(-50, 50, 20), direction=np.ones(20, np.int8))
    out = Affine(scale=rng.normal(size=3), offset=rng.normal(size=3))
    return PackedNet(layers=(
        Dense(weight_words=w1, in_features=12, integer_input=True, head=hidden),
        Dense(weight_words=w2, in_features=20, integer_input=False, head=out)),
                     input_shape=(3, 4, 1), metadata={"dataset": "toy", "seed": 4})


def test_round_trip(tmp_path) -> None:
    net = _net()
    save_packed_net(net, tmp_path / "m.npz")
    back = load_packed_net(tmp_path / "m.npz")
    images = np.random.default_rng(1).integers(0, 256, (10, 3, 4, 1), dtype=np.uint8)
    np.testing.assert_array_equal(forward(net, images)[0], forward(back, images)[0])
    assert back.metadata == net.metadata and back.input_shape == (3, 4, 1)


def test_round_trip_keeps_input_levels_and_valid_padding(tmp_path) -> None:
    """A table coding of the pixels and a 'valid' convolution survive the file, and both
    enter the content hash."""
    rng = np.random.default_rng(2)
    conv = Conv(weight_words=pack_signs(rng.choice(np.array([-1, 1], np.int8), (4, 18))),
                in_shape=(6, 6, 2), filter_size=3, pool=True, integer_input=True, padding=0,
                head=Threshold(threshold=rng.integers(-20, 20, 4), direction=np.ones(4, np.int8)))
    last = Dense(weight_words=pack_signs(rng.choice(np.array([-1, 1], np.int8), (3, 16))),
                 in_features=16, integer_input=False,
                 head=Affine(scale=np.ones(3), offset=np.zeros(3)))
    levels = np.stack([np.arange(256) // 16 - 8, 2 * (np.arange(256) >= 128) - 1])
    net = PackedNet(layers=(conv, last), input_shape=(6, 6, 2), input_levels=levels)
    assert conv.out_shape == (2, 2, 4)
    images = rng.integers(0, 256, (5, 6, 6, 2), dtype=np.uint8)
    np.testing.assert_array_equal(net.first_input(images)[..., 1],
                                  np.where(images[..., 1] >= 128, 1, -1))
    save_packed_net(net, tmp_path / "m.npz")
    back = load_packed_net(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.levels, net.levels)
    assert isinstance(back.layers[0], Conv) and back.layers[0].padding == 0
    assert back.content_sha256() == net.content_sha256()
    np.testing.assert_array_equal(forward(back, images)[0], forward(net, images)[0])
    same_padding = PackedNet(layers=(Conv(**{**conv.__dict__, "padding": 1, "pool": False}),
                                     Dense(**{**last.__dict__, "in_features": 4 * 6 * 6,
                                              "weight_words": np.zeros((3, 3), np.uint64)})),
                             input_shape=(6, 6, 2), input_levels=levels)
    offset_coded = PackedNet(layers=net.layers, input_shape=(6, 6, 2))
    assert len({net.content_sha256(), same_padding.content_sha256(),
                offset_coded.content_sha256()}) == 3
    with pytest.raises(ValueError, match="not both"):
        PackedNet(layers=net.layers, input_shape=(6, 6, 2), input_levels=levels,
                  input_offset=3)
    with pytest.raises(ValueError, match="shape"):
        PackedNet(layers=net.layers, input_shape=(6, 6, 2), input_levels=levels[:1])


def test_corrupt_foreign_and_missing_files_are_clear_errors(tmp_path) -> None:
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ModelFileError, match="not a readable"):
        load_packed_net(tmp_path / "garbage.npz")
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="no valid mrambnn metadata"):
        load_packed_net(tmp_path / "foreign.npz")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_packed_net(tmp_path / "absent.npz")
    np.savez(tmp_path / "pickled.npz", meta=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError):
        load_packed_net(tmp_path / "pickled.npz")


def test_truncated_file_is_a_clear_error(tmp_path) -> None:
    save_packed_net(_net(), tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_packed_net(tmp_path / "cut.npz")


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="weight_words"):
        Dense(weight_words=np.zeros((2, 3), np.uint64), in_features=64, integer_input=False,
              head=Affine(scale=np.ones(2), offset=np.zeros(2)))
