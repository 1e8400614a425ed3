"""Assemble a Tiny ImageNet-200 archive in the official layout (``tiny-imagenet-200.zip``)
from a training folder and the validation archive, for machines without the official zip.

    python scripts/tiny_imagenet_zip.py TRAIN_FOLDER VAL_ZIP OUT_ZIP

TRAIN_FOLDER holds ``<class id>/images/*.JPEG`` (and ``<class id>_boxes.txt``); classes
not in the validation archive's ``wnids.txt`` are dropped (the copy in
github.com/rangeetpan/IMagenet, commit 6125d8a1, adds n02480855 and n10148035 to the
official 200). VAL_ZIP is ``tiny-imagenet-200-val.zip`` (``../shared/data/
tiny-imagenet-200/``). The archive is written atomically, images stored uncompressed; it
is data, never part of the repository. The result is checked by loading it with mrambnn.
"""

import os
import sys
import zipfile
from pathlib import Path

from mrambnn.datasets.tiny_imagenet import TINY_IMAGENET_SIZES, TinyImageNetSource

TOP = "tiny-imagenet-200/"
PER_CLASS = TINY_IMAGENET_SIZES["train"] // 200


def main(train: Path, val_zip: Path, out: Path) -> None:
    with zipfile.ZipFile(val_zip) as val:
        wnids = val.read(TOP + "wnids.txt").decode().split()
        members = [(info, val.read(info)) for info in val.infolist() if not info.is_dir()]
    dropped = sorted(p.name for p in train.iterdir() if p.is_dir() and p.name not in wnids)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        for info, data in members:
            archive.writestr(info.filename, data)
        for wnid in sorted(wnids):
            images = sorted((train / wnid / "images").glob("*.JPEG"))
            if len(images) != PER_CLASS:
                raise SystemExit(f"{train / wnid / 'images'}: {len(images)} images, "
                                 f"expected {PER_CLASS}")
            for image in images:
                archive.write(image, f"{TOP}train/{wnid}/images/{image.name}")
            boxes = train / wnid / f"{wnid}_boxes.txt"
            if boxes.is_file():
                archive.write(boxes, f"{TOP}train/{wnid}/{boxes.name}")
    source = TinyImageNetSource(partial)
    x, y = source.read("train")
    print(f"{out}: {len(x)} training images of {len(source.wnids)} classes "
          f"(dropped {', '.join(dropped) or 'none'}), {len(source.read('test')[0])} "
          "validation images")
    os.replace(partial, out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
