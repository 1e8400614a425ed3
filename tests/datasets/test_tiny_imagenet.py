"""Tiny ImageNet and JPEG loading, on small files made here (archive, folder, bad input)."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mrambnn.datasets import DataError, load_dataset, load_test_set, loaders
from mrambnn.datasets import tiny_imagenet as tiny
from mrambnn.datasets.file_tree import FileTree
from mrambnn.datasets.jpeg import decode_rgb, resize_center_crop

WNIDS = [f"n{k:08d}" for k in (7, 3, 5)]  # not sorted: labels follow the sorted order


def _jpeg(pixels: np.ndarray, mode: str = "RGB") -> bytes:
    stream = io.BytesIO()
    image = Image.fromarray(pixels if mode == "RGB" else pixels[..., 0], mode)
    image.save(stream, format="JPEG", quality=100, subsampling=0)
    return stream.getvalue()


def _files(per_class_train: int = 2, per_class_val: int = 2, *, grey: bool = False
           ) -> dict[str, bytes]:
    """A Tiny ImageNet in the official layout with 3 classes; every image a flat colour
    whose red value encodes (class, index), so that order and labels can be checked."""
    files = {"tiny-imagenet-200/wnids.txt": "\n".join(WNIDS).encode() + b"\n",
             "tiny-imagenet-200/words.txt": b"".join(
                 f"{w}\tname {w[-1]}, other\n".encode() for w in [*WNIDS, "n99999999"])}
    annotations = []
    for c, wnid in enumerate(WNIDS):
        for k in range(per_class_train):
            pixels = np.full((64, 64, 3), (40 * c + 10 * k, 100, 150), np.uint8)
            files[f"tiny-imagenet-200/train/{wnid}/images/{wnid}_{k}.JPEG"] = _jpeg(pixels)
        files[f"tiny-imagenet-200/train/{wnid}/{wnid}_boxes.txt"] = b"boxes\n"
        for k in range(per_class_val):
            n = c * per_class_val + k
            mode = "L" if grey and n == 0 else "RGB"
            pixels = np.full((64, 64, 3), (200 - 30 * c - 5 * k, 60, 20), np.uint8)
            files[f"tiny-imagenet-200/val/images/val_{n}.JPEG"] = _jpeg(pixels, mode)
            annotations.append(f"val_{n}.JPEG\t{wnid}\t0\t0\t63\t63")
    files["tiny-imagenet-200/val/val_annotations.txt"] = "\n".join(annotations).encode()
    return files


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


@pytest.fixture
def small_sizes(monkeypatch) -> None:
    monkeypatch.setattr(tiny, "N_CLASSES", 3)
    monkeypatch.setitem(tiny.TINY_IMAGENET_SIZES, "train", 6)
    monkeypatch.setitem(tiny.TINY_IMAGENET_SIZES, "test", 6)


@pytest.mark.parametrize("layout", ["zip", "folder"])
def test_reads_both_splits_from_archive_or_folder(tmp_path, small_sizes, layout) -> None:
    files = _files(grey=True)
    path = (_zip(tmp_path / "tiny-imagenet-200.zip", files) if layout == "zip"
            else _folder(tmp_path, files) / "tiny-imagenet-200")
    source = tiny.TinyImageNetSource(path)
    assert source.wnids == tuple(sorted(WNIDS)) and source.splits == ("train", "test")
    assert source.classes == ("name 3", "name 5", "name 7")
    x, y = source.read("train")
    assert x.shape == (6, 64, 64, 3) and x.dtype == np.uint8
    # n...3 (second in wnids.txt, red 40 + 10 k) is label 0; n...7 (first, red 10 k) is 2
    assert list(y) == [0, 0, 1, 1, 2, 2]
    assert [round(int(v) / 10) for v in x[:, 0, 0, 0]] == [4, 5, 8, 9, 0, 1]
    x, y = source.read("test")
    assert list(y) == [2, 2, 0, 0, 1, 1]  # the annotation order, labels by sorted id
    assert x.shape == (6, 64, 64, 3)
    assert np.ptp(x[0], axis=-1).max() == 0  # the greyscale JPEG, as three equal channels


def test_load_dataset_finds_the_archive_in_a_folder(tmp_path, small_sizes, monkeypatch) -> None:
    monkeypatch.setitem(loaders._SIZES, "tiny-imagenet", (6, 6))
    _zip(tmp_path / "tiny-imagenet-200.zip", _files())
    data = load_dataset("tiny-imagenet", tmp_path)
    assert data.x_train.shape == (6, 64, 64, 3) and data.x_test.shape == (6, 64, 64, 3)
    assert len(data.classes) == 3
    # the validation-only archive serves the test split, and says why it cannot train
    files = {k: v for k, v in _files().items() if "/train/" not in k}
    (tmp_path / "val").mkdir()
    val_only = _zip(tmp_path / "val" / "tiny-imagenet-200-val.zip", files)
    assert load_test_set("tiny-imagenet", val_only).x_test.shape == (6, 64, 64, 3)
    with pytest.raises(DataError, match=r"only test.*MRAMBNN_TINY_IMAGENET"):
        load_dataset("tiny-imagenet", val_only.parent)


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.pop("tiny-imagenet-200/val/images/val_3.JPEG"), r"val_3\.JPEG: missing"),
    (lambda f: f.update({"tiny-imagenet-200/val/images/val_2.JPEG": b"not a jpeg"}),
     r"val_2\.JPEG: not a readable image"),
    (lambda f: f.update({"tiny-imagenet-200/val/images/val_1.JPEG":
                         _jpeg(np.zeros((32, 64, 3), np.uint8))}),
     r"val_1\.JPEG: image is 32x64, expected 64x64"),
    (lambda f: f.update({"tiny-imagenet-200/val/val_annotations.txt": b"val_0.JPEG\tn1\n"}),
     r"val_annotations\.txt: line 1"),
    (lambda f: f.pop("tiny-imagenet-200/val/images/val_5.JPEG")
     and f.update({"tiny-imagenet-200/val/val_annotations.txt":
                   f["tiny-imagenet-200/val/val_annotations.txt"].rsplit(b"\n", 1)[0]}),
     r"expected 6 test images, found 5"),
    (lambda f: f.update({"tiny-imagenet-200/wnids.txt": b"n00000007\nn00000007\n"}),
     r"wnids\.txt: expected 3 distinct class ids"),
])
def test_bad_input_is_a_one_line_error_naming_the_file(tmp_path, small_sizes, change,
                                                       message) -> None:
    files = _files()
    change(files)
    with pytest.raises(DataError, match=message) as error:
        tiny.TinyImageNetSource(_zip(tmp_path / "t.zip", files)).read("test")
    assert "\n" not in str(error.value)


def test_not_tiny_imagenet_and_not_an_archive(tmp_path) -> None:
    with pytest.raises(DataError, match="not Tiny ImageNet"):
        tiny.TinyImageNetSource(_folder(tmp_path / "x", {"a.txt": b"a"}))
    (tmp_path / "broken.zip").write_bytes(b"PK but not really")
    with pytest.raises(DataError, match=r"broken\.zip: not a readable zip archive"):
        FileTree(tmp_path / "broken.zip")
    with pytest.raises(DataError, match="no such file or folder"):
        FileTree(tmp_path / "absent")


def test_resize_and_centre_crop_match_the_standard_transform() -> None:
    # 300 x 600 (H x W) -> shorter side 256: 256 x 512, centre 224 x 224 from (16, 144)
    pixels = np.zeros((300, 600, 3), np.uint8)
    pixels[:, 300:] = 255  # right half white: the crop's centre column is the boundary
    out = resize_center_crop(_jpeg(pixels), "x.JPEG")
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert out[:, :100].max() < 10 and out[:, 125:].min() > 245
    # a portrait image keeps its orientation; a small one is scaled up
    assert resize_center_crop(_jpeg(np.zeros((80, 60, 3), np.uint8)), "y").shape == (224, 224, 3)
    with pytest.raises(ValueError, match="crop"):
        resize_center_crop(_jpeg(pixels), "x", resize=200, crop=224)
    with pytest.raises(DataError, match="z.JPEG: not a readable image"):
        decode_rgb(b"\xff\xd8 truncated", "z.JPEG")


@pytest.mark.skipif(not Path(__file__).resolve().parents[3].joinpath(
    "shared/data/tiny-imagenet-200/tiny-imagenet-200-val.zip").is_file(),
    reason="the Tiny ImageNet validation archive is not beside the checkout")
def test_the_official_validation_set() -> None:
    data = load_test_set("tiny-imagenet")
    assert data.x_test.shape == (10_000, 64, 64, 3) and len(data.classes) == 200
    assert np.bincount(data.y_test).tolist() == [50] * 200
    assert data.classes[0] == "goldfish"  # n01443537, the smallest id
