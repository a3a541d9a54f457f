"""Applying a warp found at working scale to the full-resolution picture, straight into the crop."""

from __future__ import annotations

import numpy as np


def warp_into_crop(image: np.ndarray, matrix: np.ndarray, roi, *, nearest: bool = False) -> np.ndarray:
    """The region ``roi`` = (x, y, w, h) of the reference frame, taken from ``image`` through ``matrix``.

    ``nearest``: nearest-neighbour and zero outside the picture (for masks);
    otherwise bilinear, edge-replicated and clipped to [0, 1] float32.
    """
    import cv2

    x, y, roi_width, roi_height = roi
    # Warp straight into the crop: output pixel (u, v) is reference pixel
    # (u + x, v + y), so the translation absorbs the ROI offset.
    cropped = matrix.astype(np.float64).copy()
    cropped[:, 2] += cropped[:, :2] @ np.array([x, y], dtype=np.float64)
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    border = cv2.BORDER_CONSTANT if nearest else cv2.BORDER_REPLICATE
    aligned = cv2.warpAffine(
        image,
        cropped,
        (roi_width, roi_height),
        flags=interpolation | cv2.WARP_INVERSE_MAP,
        borderMode=border,
        borderValue=0,
    )
    if aligned.ndim == 2:
        aligned = aligned[:, :, None]
    if nearest:
        return aligned
    return np.clip(aligned, 0.0, 1.0).astype(np.float32, copy=False)


def to_full_resolution(matrix: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """Conjugate a working-scale transform by the downscaling: S^-1 M S."""
    scaling = np.diag([scale_x, scale_y, 1.0])
    homogeneous = np.vstack([matrix.astype(np.float64), [0.0, 0.0, 1.0]])
    return (np.linalg.inv(scaling) @ homogeneous @ scaling)[:2].astype(np.float32)


def warp_filled_from_reference(image: np.ndarray, validity: np.ndarray, matrix: np.ndarray, roi, reference: np.ndarray):
    """The warped crop and where it shows the picture: pixels brought in from outside the picture take the
    reference's own values there, so they look like a good part to every method."""
    aligned = warp_into_crop(image, matrix, roi)
    inside = warp_into_crop(validity.astype(np.uint8), matrix, roi, nearest=True)[..., 0] > 0
    if not inside.all():
        x, y, roi_width, roi_height = roi
        crop = reference[y : y + roi_height, x : x + roi_width]
        aligned = np.where(inside[..., None], aligned, crop).astype(np.float32, copy=False)
    return aligned, inside
