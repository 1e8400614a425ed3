"""ILSVRC2012 validation loading (every ground-truth layout), on small files made here."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from mrambnn.datasets import DataError
from mrambnn.datasets import imagenet_val as val
from mrambnn.datasets.imagenet_val import ImageNetValidation

WNIDS = ["n00000002", "n00000005", "n00000009"]  # sorted: labels 0, 1, 2
# (height, width, class) of the six images ILSVRC2012_val_00000001 ... 06
IMAGES = [(300, 400, 2), (256, 256, 0), (500, 260, 1), (224, 300, 0), (400, 300, 2),
          (260, 260, 1)]


@pytest.fixture(autouse=True)
def three_classes(monkeypatch) -> None:
    monkeypatch.setattr(val, "IMAGENET_CLASSES", 3)


def _jpeg(height: int, width: int, label: int, *, grey: bool = False) -> bytes:
    pixels = np.full((height, width, 3), (60 * label + 20, 90, 30), np.uint8)
    stream = io.BytesIO()
    Image.fromarray(pixels[..., 0] if grey else pixels).save(stream, format="JPEG", quality=95)
    return stream.getvalue()


def _name(k: int) -> str:
    return f"ILSVRC2012_val_{k:08d}.JPEG"


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _flat() -> dict[str, bytes]:
    return {_name(k): _jpeg(h, w, c, grey=k == 4) for k, (h, w, c) in enumerate(IMAGES, 1)}


def _check(data: ImageNetValidation, chunk: int = 4) -> None:
    assert len(data) == 6
    chunks = list(data.chunks(chunk))
    assert [len(x) for x, _ in chunks] == [4, 2]
    x = np.concatenate([x for x, _ in chunks])
    y = np.concatenate([y for _, y in chunks])
    assert x.shape == (6, 224, 224, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y.tolist() == [c for _, _, c in IMAGES]
    # each image's colour encodes its class: the labels travel with the right images
    assert [round((int(v) - 20) / 60) for v in x[:, 112, 112, 0]] == y.tolist()


def test_image_folder_tree(tmp_path) -> None:
    files = {f"{WNIDS[c]}/{_name(k)}": _jpeg(h, w, c) for k, (h, w, c) in enumerate(IMAGES, 1)}
    data = ImageNetValidation(_write(tmp_path, files))
    assert data.wnids == tuple(WNIDS)
    # ImageFolder order: by class, then file name
    assert data.labels.tolist() == [0, 0, 1, 1, 2, 2]
    x, y = next(data.chunks(6))
    assert [round((int(v) - 20) / 60) for v in x[:, 112, 112, 0]] == y.tolist()


def test_flat_folder_with_label_list(tmp_path) -> None:
    files = _flat()
    files["val.txt"] = "".join(f"{_name(k)} {c}\n" for k, (_, _, c) in enumerate(IMAGES, 1)
                               ).encode()
    _check(ImageNetValidation(_write(tmp_path, files)))


def test_kaggle_csv_in_a_zip_archive(tmp_path) -> None:
    files = _flat()
    rows = [f"{_name(k)[:-5]},{WNIDS[c]} 1 2 3 4" for k, (_, _, c) in enumerate(IMAGES, 1)]
    files["LOC_val_solution.csv"] = "\n".join(["ImageId,PredictionString", *rows]).encode()
    with zipfile.ZipFile(tmp_path / "val.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(f"val/{name}", data)
    data = ImageNetValidation(tmp_path / "val.zip")
    assert data.wnids == tuple(WNIDS)
    _check(data)


def test_kaggle_csv_naming_too_few_classes_needs_the_mapping(tmp_path) -> None:
    files = _flat()
    rows = [f"{_name(k)[:-5]},{WNIDS[0]} 1 2 3 4" for k in range(1, 7)]
    files["LOC_val_solution.csv"] = "\n".join(["ImageId,PredictionString", *rows]).encode()
    with pytest.raises(DataError, match="names 1 classes, not 3; put LOC_synset_mapping"):
        ImageNetValidation(_write(tmp_path, files))
    (tmp_path / "LOC_synset_mapping.txt").write_text(
        "".join(f"{w} name {w}\n" for w in reversed(WNIDS)))
    assert ImageNetValidation(tmp_path).labels.tolist() == [0] * 6


def test_devkit_ground_truth_and_meta_mat(tmp_path) -> None:
    # the devkit numbers classes in its own order: ILSVRC2012_ID 1 is n...9 here
    devkit_ids = {1: WNIDS[2], 2: WNIDS[0], 3: WNIDS[1], 4: "n00000001"}  # 4: not a leaf
    synsets = np.array([(k, w) for k, w in devkit_ids.items()],
                       dtype=[("ILSVRC2012_ID", object), ("WNID", object)])
    devkit = tmp_path / "devkit" / "data"
    devkit.mkdir(parents=True)
    scipy.io.savemat(devkit / "meta.mat", {"synsets": synsets})
    id_of = {w: k for k, w in devkit_ids.items()}
    (devkit / "ILSVRC2012_validation_ground_truth.txt").write_text(
        "".join(f"{id_of[WNIDS[c]]}\n" for _, _, c in IMAGES))
    images = _write(tmp_path / "images", _flat())
    data = ImageNetValidation(images, devkit / "ILSVRC2012_validation_ground_truth.txt")
    assert data.wnids == tuple(WNIDS)
    _check(data)
    (devkit / "meta.mat").unlink()
    with pytest.raises(DataError, match="needs the devkit's meta.mat"):
        ImageNetValidation(images, devkit / "ILSVRC2012_validation_ground_truth.txt")


@pytest.mark.parametrize(("change", "message"), [
    (lambda f: f.update({"val.txt": b"ILSVRC2012_val_00000001.JPEG 7\n"}),
     r"val\.txt: line 1: expected"),
    (lambda f: f.update({"val.txt": f["val.txt"].rsplit(b"\n", 2)[0] + b"\n"}),
     r"val\.txt: no label for ILSVRC2012_val_00000006"),
    (lambda f: f.update({"picture.jpg": f[_name(1)]}),
     r"picture\.jpg: not an ILSVRC2012_val_<8 digits> image"),
    (lambda f: f.pop("val.txt"), r"need a ground-truth file"),
])
def test_bad_layouts_are_one_line_errors_naming_the_file(tmp_path, change, message) -> None:
    files = _flat()
    files["val.txt"] = "".join(f"{_name(k)} {c}\n" for k, (_, _, c) in enumerate(IMAGES, 1)
                               ).encode()
    change(files)
    with pytest.raises(DataError, match=message) as error:
        ImageNetValidation(_write(tmp_path, files))
    assert "\n" not in str(error.value)


def test_a_corrupt_image_is_named_when_its_chunk_is_read(tmp_path) -> None:
    files = _flat()
    files[_name(5)] = b"\xff\xd8\xff broken"
    files["val.txt"] = "".join(f"{_name(k)} {c}\n" for k, (_, _, c) in enumerate(IMAGES, 1)
                               ).encode()
    data = ImageNetValidation(_write(tmp_path, files))
    first = next(data.chunks(4))  # images 1-4 are fine
    assert len(first[0]) == 4
    with pytest.raises(DataError, match=r"ILSVRC2012_val_00000005\.JPEG: not a readable image"):
        list(data.chunks(4, start=4))
    with pytest.raises(DataError, match="no images"):
        ImageNetValidation(_write(tmp_path / "empty", {"a.txt": b""}))
    with pytest.raises(DataError, match="ImageFolder tree of 2 class folders"):
        ImageNetValidation(_write(tmp_path / "two", {f"{w}/{_name(1)}": files[_name(1)]
                                                    for w in WNIDS[:2]}))
