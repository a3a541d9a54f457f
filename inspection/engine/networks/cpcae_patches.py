"""Cutting images into overlapping square patches and putting them back.

The autoencoder sees an image as a grid of overlapping patches; its output
patches are stitched back by averaging wherever they overlap, which also
smooths seams between neighbouring reconstructions.

All functions accept a single image (H, W, C) or a stack (n, H, W, C); the loops
run over patch positions (tens per image), never over pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def patch_grid(height: int, width: int, patch_size: int, stride: int) -> list[tuple[int, int]]:
    """Top-left (y, x) of patches covering the whole image, row by row.

    Patches start every ``stride`` pixels; if that leaves a strip uncovered at
    the bottom or right, one more row/column is placed flush with the border,
    so every pixel is covered and no patch reaches outside.
    """
    if patch_size < 1 or stride < 1:
        raise ValueError(f"patch_size and stride must be positive, got {patch_size} and {stride}")
    if height < patch_size or width < patch_size:
        raise ValueError(f"a {width}x{height} image is smaller than the {patch_size}-pixel patch")
    rows = _starts(height, patch_size, stride)
    columns = _starts(width, patch_size, stride)
    return [(int(y), int(x)) for y in rows for x in columns]


def _starts(length: int, patch_size: int, stride: int) -> np.ndarray:
    starts = np.arange(0, length - patch_size + 1, stride)
    if starts[-1] != length - patch_size:
        starts = np.append(starts, length - patch_size)
    return starts


def extract_patches(image: np.ndarray, positions: Sequence[tuple[int, int]], patch_size: int) -> np.ndarray:
    """Patches at ``positions``: (N, p, p, C) for one image, (n, N, p, p, C) for a stack."""
    array = np.asarray(image)
    single = array.ndim == 3
    stack = array[None] if single else array
    if stack.ndim != 4:
        raise ValueError(f"expected (H, W, C) or (n, H, W, C), got shape {array.shape}")
    ys, xs = _position_arrays(positions)
    # Fancy indexing with broadcast row and column offsets gathers every patch
    # of every image in one copy: result axes (n, N, p, p, C).
    offsets = np.arange(patch_size)
    rows = (ys[:, None] + offsets)[:, :, None]  # (N, p, 1)
    columns = (xs[:, None] + offsets)[:, None, :]  # (N, 1, p)
    patches = stack[:, rows, columns]
    return patches[0] if single else patches


def reassemble(patches: np.ndarray, positions: Sequence[tuple[int, int]], shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`extract_patches`, averaging overlapping pixels.

    ``shape`` is the output shape, (H, W, C) or (n, H, W, C) matching the
    patches' layout. Pixels no patch covers (only possible with a custom
    position list) are 0.
    """
    patches = np.asarray(patches)
    shape = tuple(int(size) for size in shape)
    single = len(shape) == 3
    stack = patches[None] if single else patches
    out_shape = (1,) + shape if single else shape
    if stack.ndim != 5 or stack.shape[1] != len(positions):
        raise ValueError(f"patches of shape {patches.shape} do not match {len(positions)} positions")
    patch_size = stack.shape[2]
    total = np.zeros(out_shape, dtype=np.float32)
    counts = np.zeros(out_shape[1:3], dtype=np.float32)
    for index, (y, x) in enumerate(positions):
        total[:, y : y + patch_size, x : x + patch_size] += stack[:, index]
        counts[y : y + patch_size, x : x + patch_size] += 1.0
    result = total / np.maximum(counts, 1.0)[None, :, :, None]
    return result[0] if single else result


def _position_arrays(positions: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    grid = np.asarray(positions, dtype=np.intp).reshape(-1, 2)
    return grid[:, 0], grid[:, 1]
