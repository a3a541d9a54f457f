"""What aligning one picture gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RegistrationResult:
    """Outcome of aligning one image.

    ``image``: aligned and cropped float32 (h, w, C) in [0, 1], or None when
    refused. ``quality``: zero-mean normalised cross-correlation, in [-1, 1],
    between the aligned image and the reference, both grey at the working
    resolution, on the valid part of the region of interest (1 = same picture
    up to a brightness gain and offset, about 0 = unrelated); NaN when refused,
    so a picture is either aligned with its quality or refused with its reason.
    ``matrix``: 2x3 affine map from reference pixel coordinates (x, y, 1) to
    pixel coordinates of the input image after it was brought to the
    reference size. ``reason``: why it was refused, in words, or "".
    ``valid_mask``: (h, w) bool, False where the aligned pixel came from
    outside the picture (filled with the reference's pixel). ``coverage``:
    valid fraction of the region. ``motion``: rotation (degrees), shift (px)
    and scale of the warp kept. ``size_adjustment``: how the picture was
    brought to the reference size, "" when it already had it.
    """

    image: np.ndarray | None
    quality: float
    matrix: np.ndarray
    accepted: bool
    reason: str = ""
    valid_mask: np.ndarray | None = None
    coverage: float = float("nan")
    motion: dict = field(default_factory=dict)
    size_adjustment: str = ""
    measured_quality: float = float("nan")


def without_outside_pixels(anomaly_map: np.ndarray, valid_mask: np.ndarray | None) -> np.ndarray:
    """``anomaly_map`` with 0 wherever the aligned picture showed no pixel of its own.

    The one rule for every anomaly map that leaves the engine (evaluation,
    inspection, the exported runtime, the platform): pixels a warp brought in
    from outside the picture hold the reference's pixels, so whatever a map
    says there is not about the part. ``valid_mask`` None means all valid; a
    mask of another size than the map is resized (nearest neighbour).
    """
    import cv2

    if valid_mask is None or valid_mask.all():
        return anomaly_map
    valid_mask = np.asarray(valid_mask, dtype=bool)
    if valid_mask.shape != anomaly_map.shape[:2]:
        size = (anomaly_map.shape[1], anomaly_map.shape[0])
        valid_mask = cv2.resize(valid_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return np.where(valid_mask.reshape(valid_mask.shape + (1,) * (anomaly_map.ndim - 2)), anomaly_map, 0).astype(
        anomaly_map.dtype, copy=False
    )
