"""Tiny ImageNet-200 (Stanford CS231n): 200 ImageNet classes, 64x64 RGB JPEG images,
500 training and 50 validation images per class. Images come from ImageNet (its
non-commercial research terms apply); the task is ImageNet-derived, not ImageNet-1k.

Read from the official archive ``tiny-imagenet-200.zip``, from an archive of the
validation part alone in the same layout (``tiny-imagenet-200-val.zip``), or from the
folder either was extracted to, without extracting anything:

- ``wnids.txt``: the 200 class ids (WordNet ids, 'n01443537');
- ``words.txt``: id, tab, names ('goldfish, Carassius auratus'), for every WordNet id;
- ``train/<id>/images/<id>_<k>.JPEG``: the training images;
- ``val/images/val_<k>.JPEG`` and ``val/val_annotations.txt`` (file, tab, class id, tab,
  bounding box): the validation images. The official test images carry no labels, so the
  validation set is the `Dataset`'s test split.

Labels number the class ids in sorted order (0 = the smallest id), the order an
ImageFolder-style loader gives, whatever the order of ``wnids.txt``. Greyscale images are
converted to RGB. Every problem (a missing or unreadable image, an unknown class id, a
count or size other than the official one) is a one-line `DataError` naming the file.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from mrambnn.datasets.base import DataError
from mrambnn.datasets.file_tree import FileTree
from mrambnn.datasets.jpeg import decode_rgb

__all__ = ["TINY_IMAGENET_ARCHIVES", "TINY_IMAGENET_SHAPE", "TINY_IMAGENET_SIZES",
           "TinyImageNetSource", "find_tiny_imagenet"]

TINY_IMAGENET_SHAPE = (64, 64, 3)
TINY_IMAGENET_SIZES = {"train": 100_000, "test": 10_000}
N_CLASSES = 200
# Archives looked for in a folder, the complete one first.
TINY_IMAGENET_ARCHIVES = ("tiny-imagenet-200.zip", "tiny-imagenet-200-val.zip")
_TOP = "tiny-imagenet-200/"
_DECODE_THREADS = 4  # Pillow decodes without the GIL


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class TinyImageNetSource:
    """Tiny ImageNet in ``path`` (an archive, or a folder holding ``wnids.txt`` directly
    or in ``tiny-imagenet-200/``).

    Attributes:
        wnids: the 200 class ids, sorted (index = label).
        classes: the first name of each class in ``words.txt`` (index = label).
        splits: the splits present ('train' and/or 'test').
    """

    def __init__(self, path: Path) -> None:
        self.tree = FileTree(Path(path))
        self.prefix = ("" if "wnids.txt" in self.tree
                       else _TOP if _TOP + "wnids.txt" in self.tree else None)
        if self.prefix is None:
            raise DataError(f"{path}: not Tiny ImageNet (no wnids.txt, nor "
                            f"{_TOP}wnids.txt)")
        listed = _lines(self.tree.text(self.prefix + "wnids.txt"))
        where = self.tree.where(self.prefix + "wnids.txt")
        if len(listed) != N_CLASSES or len(set(listed)) != N_CLASSES:
            raise DataError(f"{where}: expected {N_CLASSES} distinct class ids, found "
                            f"{len(set(listed))}")
        self.wnids = tuple(sorted(listed))
        self.label_of = {wnid: label for label, wnid in enumerate(self.wnids)}
        names = {}
        for line in _lines(self.tree.text(self.prefix + "words.txt")):
            wnid, _, words = line.partition("\t")
            names[wnid] = words.split(",")[0].strip()
        missing = [wnid for wnid in self.wnids if wnid not in names]
        if missing:
            raise DataError(f"{self.tree.where(self.prefix + 'words.txt')}: no names for "
                            f"{missing[0]}")
        self.classes = tuple(names[wnid] for wnid in self.wnids)
        self.splits = tuple(split for split, marker in
                            (("train", "train/"), ("test", "val/val_annotations.txt"))
                            if self.tree.names(self.prefix + marker))

    def _files(self, split: str) -> tuple[list[str], np.ndarray]:
        """The relative paths of ``split``'s images and their (N,) uint8 labels."""
        if split == "test":
            annotations = self.prefix + "val/val_annotations.txt"
            files, labels = [], []
            for n, line in enumerate(_lines(self.tree.text(annotations)), start=1):
                fields = line.split("\t")
                if len(fields) < 2 or fields[1] not in self.label_of:
                    raise DataError(f"{self.tree.where(annotations)}: line {n}: expected "
                                    "'file<TAB>class id', with one of the 200 class ids")
                files.append(f"{self.prefix}val/images/{fields[0]}")
                labels.append(self.label_of[fields[1]])
        else:
            files, labels = [], []
            for wnid in self.wnids:
                folder = f"{self.prefix}train/{wnid}/images/"
                found = [name for name in self.tree.names(folder) if name.endswith(".JPEG")]
                if not found:
                    raise DataError(f"{self.tree.where(folder)}: no training images of "
                                    f"class {wnid}")
                files += found
                labels += [self.label_of[wnid]] * len(found)
        if len(files) != TINY_IMAGENET_SIZES[split]:
            raise DataError(f"{self.tree.root}: expected {TINY_IMAGENET_SIZES[split]} "
                            f"{split} images, found {len(files)}")
        return files, np.asarray(labels, np.uint8)

    def read(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """The images (N, 64, 64, 3) uint8 and labels (N,) uint8 of ``split`` ('train':
        the training images, class by class; 'test': the validation images in the order
        of ``val_annotations.txt``)."""
        if split not in self.splits:
            raise DataError(f"{self.tree.root}: holds no {split} images of Tiny ImageNet "
                            "(the validation-only archive has no training part; the "
                            "official tiny-imagenet-200.zip has both)")
        files, labels = self._files(split)
        images = np.empty((len(files), *TINY_IMAGENET_SHAPE), np.uint8)

        def decode(k: int) -> None:
            images[k] = decode_rgb(self.tree.read(files[k]), self.tree.where(files[k]),
                                   shape=TINY_IMAGENET_SHAPE[:2])

        with ThreadPoolExecutor(_DECODE_THREADS) as pool:
            for _ in pool.map(decode, range(len(files)), chunksize=256):
                pass
        return images, labels


def find_tiny_imagenet(folders: list[Path], splits: tuple[str, ...]) -> TinyImageNetSource:
    """The first of ``folders`` (each an archive, a Tiny ImageNet folder, or a folder
    holding one of `TINY_IMAGENET_ARCHIVES` or ``tiny-imagenet-200/``) that holds
    ``splits``. DataError naming every place searched otherwise."""
    searched = []
    for folder in folders:
        candidates = [folder] if folder.is_file() else [
            folder, folder / _TOP.rstrip("/"), *(folder / name for name in TINY_IMAGENET_ARCHIVES)]
        for candidate in candidates:
            if candidate.is_file() or (candidate / "wnids.txt").is_file():
                source = TinyImageNetSource(candidate)
                if all(split in source.splits for split in splits):
                    return source
                searched.append(f"{candidate} (only {' and '.join(source.splits)})")
        searched.append(str(folder))
    raise DataError(f"tiny-imagenet: nothing holds its {' and '.join(splits)} images; "
                    f"searched {', '.join(dict.fromkeys(searched))}; give --data-dir (the "
                    f"official {TINY_IMAGENET_ARCHIVES[0]}, a folder holding it, or the "
                    "folder it was extracted to) or set MRAMBNN_TINY_IMAGENET")
