"""ILSVRC2012 (ImageNet-1k) validation images with their labels, streamed in chunks.

ImageNet cannot be downloaded here; a user brings the validation set in one of the usual
layouts, as a folder or a zip archive of it:

- an ImageFolder tree, ``<class id>/<image>.JPEG`` (class ids are WordNet ids,
  'n01440764');
- the flat folder of ``ILSVRC2012_val_00000001.JPEG`` ... with a ground-truth file:
  - ``LOC_val_solution.csv`` (Kaggle: ``ImageId,PredictionString``, the class id first),
    with ``LOC_synset_mapping.txt`` (the 1000 ids, one per line, first word) beside it
    when the csv does not name all 1000 classes;
  - a text file of ``<file name> <label>`` lines (labels 0..999 in sorted class-id order,
    as in the widely used ``val.txt``);
  - the devkit's ``ILSVRC2012_validation_ground_truth.txt`` (one ILSVRC2012_ID, 1..1000,
    per line, in file-name order) with the devkit's ``meta.mat`` beside it (read with
    SciPy; it maps those ids to class ids).

Labels number the class ids in sorted order (0 = n01440764), the order of an ImageFolder
loader and of most published ImageNet networks; the devkit's own id order differs and is
translated. Images are decoded with Pillow, scaled so that the shorter side is 256
pixels and centre-cropped to 224 x 224 (`resize_center_crop`), a chunk at a time, so that
the 50,000 images never sit in memory at once. Problems are one-line `DataError`s naming
the file.
"""

import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy.io

from mrambnn.datasets.base import DataError
from mrambnn.datasets.file_tree import FileTree
from mrambnn.datasets.jpeg import IMAGENET_CROP, IMAGENET_RESIZE, resize_center_crop

__all__ = ["IMAGENET_CLASSES", "ImageNetValidation"]

IMAGENET_CLASSES = 1000
_WNID = re.compile(r"n\d{8}")
_VAL_FILE = re.compile(r"(?:.*/)?(ILSVRC2012_val_\d{8})\.(?:JPEG|jpeg|jpg|JPG|png|PNG)")
_IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
_DECODE_THREADS = 4


def _is_image(name: str) -> bool:
    return name.lower().endswith(_IMAGE_SUFFIXES)


class ImageNetValidation:
    """ILSVRC2012 validation images in ``path`` (a folder or a zip archive; module
    docstring), labelled by ``ground_truth`` (a file; None: an ImageFolder tree, or a
    ground-truth file found in ``path``).

    Attributes:
        files: the images' relative paths, in evaluation order (N,).
        labels: (N,) int64 labels, 0..999 (sorted class ids).
        wnids: the 1000 class ids, sorted (index = label); empty where the ground truth
            gives the labels directly (``val.txt``).
        image_shape: (crop, crop, 3) of a preprocessed image.
    """

    def __init__(self, path: Path, ground_truth: Path | None = None, *,
                 resize: int = IMAGENET_RESIZE, crop: int = IMAGENET_CROP) -> None:
        self.tree = FileTree(Path(path))
        self.resize, self.crop = resize, crop
        self.image_shape = (crop, crop, 3)
        images = [name for name in self.tree.names() if _is_image(name)]
        if not images:
            raise DataError(f"{path}: holds no images (.JPEG, .jpg or .png)")
        folders = {name.rsplit("/", 2)[-2] if name.count("/") else "" for name in images}
        if ground_truth is None and all(_WNID.fullmatch(f) for f in folders):
            self._image_folder(images, sorted(folders))
        else:
            self._flat(images, ground_truth)

    def _image_folder(self, images: list[str], wnids: list[str]) -> None:
        if len(wnids) != IMAGENET_CLASSES:
            raise DataError(f"{self.tree.root}: an ImageFolder tree of {len(wnids)} class "
                            f"folders; ILSVRC2012 has {IMAGENET_CLASSES}")
        self.wnids = tuple(wnids)
        label_of = {wnid: k for k, wnid in enumerate(wnids)}
        self.files = images
        self.labels = np.array([label_of[name.rsplit("/", 2)[-2]] for name in images],
                               np.int64)

    def _flat(self, images: list[str], ground_truth: Path | None) -> None:
        by_id = {}
        for name in images:
            match = _VAL_FILE.fullmatch(name)
            if match is None:
                raise DataError(f"{self.tree.where(name)}: not an ILSVRC2012_val_<8 digits> "
                                "image, nor in a class-id folder")
            by_id[match.group(1)] = name
        gt = self._ground_truth_tree(ground_truth)
        label_of_id = self._read_ground_truth(*gt, sorted(by_id))
        missing = sorted(set(by_id) - set(label_of_id))
        if missing:
            raise DataError(f"{gt[0].where(gt[1])}: no label for {missing[0]}")
        self.files = [by_id[image_id] for image_id in sorted(by_id)]
        self.labels = np.array([label_of_id[image_id] for image_id in sorted(by_id)],
                               np.int64)

    def _ground_truth_tree(self, ground_truth: Path | None) -> tuple[FileTree, str]:
        """The tree and name of the ground-truth file: ``ground_truth`` itself, or the
        first known file name in the images' tree."""
        if ground_truth is not None:
            ground_truth = Path(ground_truth)
            if not ground_truth.is_file():
                raise DataError(f"{ground_truth}: no such ground-truth file")
            return FileTree(ground_truth.parent), ground_truth.name
        for name in self.tree.names():
            base = name.rsplit("/", 1)[-1]
            if base in ("LOC_val_solution.csv", "val.txt",
                        "ILSVRC2012_validation_ground_truth.txt"):
                return self.tree, name
        raise DataError(f"{self.tree.root}: flat ILSVRC2012_val_* images need a ground-truth "
                        "file (LOC_val_solution.csv, val.txt or the devkit's "
                        "ILSVRC2012_validation_ground_truth.txt with meta.mat)")

    def _read_ground_truth(self, tree: FileTree, name: str, image_ids: list[str]
                           ) -> dict[str, int]:
        """Image id ('ILSVRC2012_val_00000001') -> label, from ground-truth file ``name``;
        sets ``self.wnids``."""
        where = tree.where(name)
        lines = [line.strip() for line in tree.text(name).splitlines() if line.strip()]
        folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
        if name.endswith(".csv"):
            return self._kaggle(tree, folder, lines, where)
        if lines and len(lines[0].split()) == 2:
            self.wnids = ()  # labels given directly: the class ids are not named
            labels = {}
            for n, line in enumerate(lines, start=1):
                fields = line.split()
                match = _VAL_FILE.fullmatch(fields[0]) if len(fields) == 2 else None
                if match is None or not fields[1].isdigit() or int(fields[1]) >= IMAGENET_CLASSES:
                    raise DataError(f"{where}: line {n}: expected '<ILSVRC2012_val_*.JPEG> "
                                    f"<label 0..{IMAGENET_CLASSES - 1}>'")
                labels[match.group(1)] = int(fields[1])
            return labels
        return self._devkit(tree, folder, lines, where, image_ids)

    def _kaggle(self, tree: FileTree, folder: str, lines: list[str], where: str
                ) -> dict[str, int]:
        if not lines or not lines[0].startswith("ImageId,"):
            raise DataError(f"{where}: expected the header 'ImageId,PredictionString'")
        wnid_of = {}
        for n, line in enumerate(lines[1:], start=2):
            image_id, _, prediction = line.partition(",")
            wnid = prediction.split(" ", 1)[0]
            if not _WNID.fullmatch(wnid):
                raise DataError(f"{where}: line {n}: expected '<image id>,<class id> ...'")
            wnid_of[image_id] = wnid
        mapping = folder + "LOC_synset_mapping.txt"
        if mapping in tree:
            wnids = sorted(line.split()[0] for line in tree.text(mapping).splitlines()
                           if line.strip())
        else:
            wnids = sorted(set(wnid_of.values()))
        if len(wnids) != IMAGENET_CLASSES or len(set(wnids)) != IMAGENET_CLASSES:
            raise DataError(f"{where}: names {len(set(wnids))} classes, not "
                            f"{IMAGENET_CLASSES}; put LOC_synset_mapping.txt (the 1000 "
                            "class ids) beside it")
        self.wnids = tuple(wnids)
        label_of = {wnid: k for k, wnid in enumerate(wnids)}
        unknown = sorted(set(wnid_of.values()) - set(label_of))
        if unknown:
            raise DataError(f"{where}: class id {unknown[0]} is not one of the 1000")
        return {image_id: label_of[wnid] for image_id, wnid in wnid_of.items()}

    def _devkit(self, tree: FileTree, folder: str, lines: list[str], where: str,
                image_ids: list[str]) -> dict[str, int]:
        if not all(line.isdigit() and 1 <= int(line) <= IMAGENET_CLASSES for line in lines):
            raise DataError(f"{where}: expected one ILSVRC2012_ID (1..1000) per line, or "
                            "'<file> <label>' lines")
        meta = folder + "meta.mat"
        if meta not in tree:
            raise DataError(f"{where}: the devkit's ground truth needs the devkit's "
                            f"meta.mat beside it ({tree.where(meta)})")
        wnid_of_id = _devkit_classes(tree, meta)
        self.wnids = tuple(sorted(wnid_of_id.values()))
        label_of = {wnid: k for k, wnid in enumerate(self.wnids)}
        # line k is the image ILSVRC2012_val_<k>, whichever images are present
        return {f"ILSVRC2012_val_{k:08d}": label_of[wnid_of_id[int(line)]]
                for k, line in enumerate(lines, start=1)}

    def __len__(self) -> int:
        return len(self.files)

    def chunks(self, size: int = 500, *, start: int = 0, stop: int | None = None
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Images (n, crop, crop, 3) uint8 and labels (n,) int64, ``size`` images at a
        time, of images ``start`` to ``stop`` (None: the last) in evaluation order."""
        if size < 1:
            raise ValueError(f"chunk size must be >= 1, got {size}")
        stop = len(self.files) if stop is None else min(stop, len(self.files))
        with ThreadPoolExecutor(_DECODE_THREADS) as pool:
            for begin in range(start, stop, size):
                names = self.files[begin:min(begin + size, stop)]
                decoded = pool.map(lambda name: resize_center_crop(
                    self.tree.read(name), self.tree.where(name), resize=self.resize,
                    crop=self.crop), names)
                yield np.stack(list(decoded)), self.labels[begin:begin + len(names)]


def _devkit_classes(tree: FileTree, meta: str) -> dict[int, str]:
    """ILSVRC2012_ID -> class id of the 1000 leaf classes of the devkit's ``meta.mat``."""
    try:
        synsets = scipy.io.loadmat(io.BytesIO(tree.read(meta)), squeeze_me=True,
                                   struct_as_record=False)["synsets"]
        classes = {int(s.ILSVRC2012_ID): str(s.WNID) for s in np.atleast_1d(synsets)
                   if int(s.ILSVRC2012_ID) <= IMAGENET_CLASSES}
    except (KeyError, AttributeError, ValueError, TypeError, NotImplementedError) as error:
        raise DataError(f"{tree.where(meta)}: not the devkit's meta.mat ({error})") from error
    if sorted(classes) != list(range(1, IMAGENET_CLASSES + 1)):
        raise DataError(f"{tree.where(meta)}: does not list ILSVRC2012_IDs 1..1000")
    return classes
