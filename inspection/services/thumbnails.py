"""Thumbnails: small JPEG copies of images for grids, made once when a file is stored."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile

THUMBNAIL_SIDE = 256
JPEG_QUALITY = 85


def thumbnail_from_bytes(data: bytes) -> ContentFile:
    """A JPEG at most THUMBNAIL_SIDE pixels on its longer side, from an image file already checked as valid."""
    from PIL import Image as PillowImage
    from PIL import ImageOps

    with PillowImage.open(io.BytesIO(data)) as opened:
        picture = ImageOps.exif_transpose(opened)
        return _jpeg(picture)


def thumbnail_from_pixels(pixels: np.ndarray) -> ContentFile:
    """A JPEG thumbnail of an engine image (float (H, W, C) in [0, 1])."""
    from PIL import Image as PillowImage

    from inspection.engine.data.imageio import to_uint8

    array = to_uint8(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return _jpeg(PillowImage.fromarray(array))


def _jpeg(picture) -> ContentFile:
    if picture.mode not in ("L", "RGB"):
        # 16-bit, palette and alpha images: the thumbnail only has to look right.
        picture = picture.convert("RGB") if picture.mode in ("P", "RGBA", "LA", "CMYK") else picture.convert("L")
    picture = picture.copy()
    picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return ContentFile(buffer.getvalue())
