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
