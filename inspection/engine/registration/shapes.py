"""Bringing a picture to the reference's shape (channels and size) before it is aligned.

Same aspect ratio, other size: a different camera resolution of the same field
of view, so the picture is resized. Each side within ``SLIGHT_SIZE_CHANGE`` of
the reference's but the aspect ratio changed (a line-scan camera whose frames
differ by a few rows): the picture is cropped or padded about its centre,
without resampling, and the padded pixels are marked invalid. Anything else is
resized, as the nearest reading of "the same field of view". The adjustment is
returned in words so that it can be shown next to the result.
"""

from __future__ import annotations

import numpy as np

from ..data.imageio import to_gray

#: Largest relative difference of a side that is cropped or padded instead of resized.
SLIGHT_SIZE_CHANGE = 0.05
_SAME_ASPECT = 0.01


def conform(image: np.ndarray, shape: tuple[int, int, int], *, nearest: bool = False):
    """(picture in the reference's shape, float32 (H, W) validity in {0, 1}, adjustment in words)."""
    import cv2

    height, width, channels = shape
    if image.shape[2] != channels:
        image = np.repeat(image, 3, axis=2) if channels == 3 else to_gray(image)[:, :, None]
    picture_height, picture_width = image.shape[:2]
    validity = np.ones((height, width), np.float32)
    if (picture_height, picture_width) == (height, width):
        return image, validity, ""
    described = f"{picture_width}x{picture_height} px"
    relative_height, relative_width = picture_height / height - 1.0, picture_width / width - 1.0
    same_aspect = abs((picture_width / picture_height) / (width / height) - 1.0) <= _SAME_ASPECT
    if not same_aspect and max(abs(relative_height), abs(relative_width)) <= SLIGHT_SIZE_CHANGE:
        image, validity = _crop_or_pad(image, height, width)
        return image, validity, f"{described} cropped or padded about the centre to {width}x{height} px"
    if nearest:
        interpolation = cv2.INTER_NEAREST
    else:
        # Area averaging avoids aliasing when shrinking, but blurs blocks
        # when enlarging; use it only when no side grows.
        shrinking = picture_height >= height and picture_width >= width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    image = cv2.resize(image, (width, height), interpolation=interpolation)
    if image.ndim == 2:
        image = image[:, :, None]
    return image, validity, f"{described} resized to {width}x{height} px"


def _crop_or_pad(image: np.ndarray, height: int, width: int):
    import cv2

    picture_height, picture_width = image.shape[:2]
    validity = np.ones((picture_height, picture_width), np.float32)
    # Crop the sides that are too long, about the centre.
    top, left = max(0, (picture_height - height) // 2), max(0, (picture_width - width) // 2)
    image = image[top : top + height, left : left + width]
    validity = validity[top : top + height, left : left + width]
    # Pad the sides that are too short, about the centre, by repeating the edge.
    pad_height, pad_width = height - image.shape[0], width - image.shape[1]
    if pad_height or pad_width:
        padding = (pad_height // 2, pad_height - pad_height // 2, pad_width // 2, pad_width - pad_width // 2)
        image = cv2.copyMakeBorder(image, *padding, borderType=cv2.BORDER_REPLICATE)
        validity = cv2.copyMakeBorder(validity, *padding, borderType=cv2.BORDER_CONSTANT, value=0)
        if image.ndim == 2:
            image = image[:, :, None]
    return np.ascontiguousarray(image), validity


def as_image(image: np.ndarray, what: str) -> np.ndarray:
    """``image`` as float32 (H, W, 1|3), or ValueError naming ``what`` it was meant to be."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3) or image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"{what} must be an (H, W, 1|3) array, got shape {image.shape}")
    return image.astype(np.float32, copy=False)
