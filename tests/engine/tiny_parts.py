"""Tiny synthetic parts made in memory, for fast engine tests.

A bright rounded plate on a dark background with a slot, jittered by a pixel
or two and noised like a camera frame; a defect is a dark blob on the plate.
"""

from __future__ import annotations

import cv2
import numpy as np


def normal_part(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    image = np.full((size, size), 0.15, dtype=np.float32)
    shift = rng.integers(-1, 2, size=2)
    top_left = (size // 6 + int(shift[0]), size // 5 + int(shift[1]))
    bottom_right = (size - size // 6 + int(shift[0]), size - size // 5 + int(shift[1]))
    cv2.rectangle(image, top_left, bottom_right, 0.75, thickness=-1)
    cv2.rectangle(image, (size // 3, size // 2 - 3), (2 * size // 3, size // 2 + 3), 0.3, thickness=-1)
    gradient = np.linspace(-0.05, 0.05, size, dtype=np.float32)[None, :]
    image = image + gradient + rng.normal(0, 0.01, image.shape).astype(np.float32)
    return np.clip(image, 0, 1)[..., None]


def defective_part(rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A part with a dark blob on the plate, and the blob's mask."""
    image = normal_part(rng, size)[..., 0].copy()
    mask = np.zeros((size, size), np.uint8)
    centre = (size // 4 + 4, size // 3)
    cv2.circle(mask, centre, max(3, size // 14), 1, thickness=-1)
    image[mask > 0] = 0.1
    return image[..., None], mask.astype(bool)


def part_set(seed: int = 0, *, n_normal: int = 12, size: int = 96):
    rng = np.random.default_rng(seed)
    return [normal_part(rng, size) for _ in range(n_normal)]


def synthetic_parts(count, seed, size=64, channels=1):
    """Grey parts: a bright disk and a bar, shifted by up to 1 pixel, with sensor noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    images = []
    for _ in range(count):
        dy, dx = rng.uniform(-1.0, 1.0, size=2)
        image = np.full((size, size), 0.2, dtype=np.float32)
        image[(rows - size / 2 - dy) ** 2 + (cols - size / 2 - dx) ** 2 < (size / 4) ** 2] = 0.7
        image[int(size * 0.8 + dy) : int(size * 0.8 + dy) + 4, 8 : size - 8] = 0.5
        image += rng.normal(0.0, 0.02, image.shape).astype(np.float32)
        image = np.clip(image, 0.0, 1.0)
        images.append(np.repeat(image[..., None], channels, axis=-1))
    return images


def with_planted_blob(image, centre=(28, 38), radius=3):
    """A copy of ``image`` with a dark round defect; also returns the defect mask."""
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    mask = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2
    defective = image.copy()
    defective[mask] = 0.0
    return defective, mask
