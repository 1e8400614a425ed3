"""Decoding JPEG (or any Pillow-readable) images into uint8 pixel arrays.

Every failure is a `DataError` of one line naming the file. Pillow decodes; colour
images keep their three channels, grey or palette ones are converted to RGB (Tiny
ImageNet and ILSVRC2012 both hold a few greyscale and CMYK JPEGs).
"""

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from mrambnn.datasets.base import DataError

__all__ = ["IMAGENET_CROP", "IMAGENET_RESIZE", "decode_rgb", "resize_center_crop"]

# The standard ImageNet evaluation transform: shorter side to 256 pixels, centre 224x224.
IMAGENET_RESIZE = 256
IMAGENET_CROP = 224


def _open(data: bytes, where: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise DataError(f"{where}: not a readable image ({error})") from error
    return image.convert("RGB") if image.mode != "RGB" else image


def decode_rgb(data: bytes, where: str, *, shape: tuple[int, int] | None = None
               ) -> np.ndarray:
    """The image in ``data`` (the bytes of a JPEG, PNG, ... file) as (H, W, 3) uint8.

    Args:
        where: the file's name, for errors.
        shape: the (H, W) the image must have (None: any).
    Raises:
        DataError: unreadable data, or another size than ``shape``.
    """
    image = _open(data, where)
    if shape is not None and (image.height, image.width) != tuple(shape):
        raise DataError(f"{where}: image is {image.height}x{image.width}, expected "
                        f"{shape[0]}x{shape[1]}")
    return np.asarray(image, dtype=np.uint8)


def resize_center_crop(data: bytes, where: str, *, resize: int = IMAGENET_RESIZE,
                       crop: int = IMAGENET_CROP) -> np.ndarray:
    """The image in ``data`` with its shorter side scaled to ``resize`` pixels (bilinear,
    antialiased) and its centre ``crop`` x ``crop`` pixels cut out: (crop, crop, 3) uint8.
    Sizes and offsets are rounded as torchvision's ``Resize`` and ``CenterCrop`` round them.
    """
    if crop > resize:
        raise ValueError(f"crop ({crop}) larger than resize ({resize})")
    image = _open(data, where)
    short, long = sorted((image.width, image.height))
    long = int(resize * long / short)  # truncated, as torchvision's Resize(resize) does
    size = (resize, long) if image.width <= image.height else (long, resize)
    image = image.resize(size, Image.Resampling.BILINEAR)
    left, top = round((size[0] - crop) / 2), round((size[1] - crop) / 2)
    return np.asarray(image.crop((left, top, left + crop, top + crop)), dtype=np.uint8)
