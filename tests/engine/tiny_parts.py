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
