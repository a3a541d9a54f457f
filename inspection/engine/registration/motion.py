"""How far a warp moves the part, the product's bounds on that, and which warp to keep.

A warp is a 2x3 matrix mapping reference pixel coordinates to picture pixel
coordinates. Its motion is read at the centre of the region of interest: the
rotation (degrees), the shift of that centre (pixels of the reference frame)
and the uniform scale. Bounds are what a product's parts can really do on the
line; a warp outside them latched onto something else (a symmetric part
"rotated" by 40 degrees, a texture matched to itself one period over).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: ``max_rotation`` value that lets any rotation through, spelled out on purpose.
ANY_ROTATION = "any"


@dataclass(frozen=True)
class Motion:
    rotation: float  # degrees, counter-clockwise positive in image coordinates
    shift_x: float  # pixels of the reference frame
    shift_y: float
    scale: float

    @property
    def shift(self) -> float:
        return math.hypot(self.shift_x, self.shift_y)

    def displacement(self, radius: float) -> float:
        """Largest distance, in pixels, a point within ``radius`` of the centre moves: the warp's size."""
        turn = 2.0 * radius * abs(math.sin(math.radians(self.rotation) / 2.0))
        return self.shift + turn + abs(self.scale - 1.0) * radius


def motion_of(matrix: np.ndarray, centre: Sequence[float]) -> Motion:
    matrix = np.asarray(matrix, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        return Motion(float("nan"), float("nan"), float("nan"), float("nan"))
    centre_point = np.array([centre[0], centre[1], 1.0])
    moved = matrix @ centre_point
    rotation = math.degrees(math.atan2(matrix[1, 0], matrix[0, 0]))
    scale = math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))
    return Motion(rotation, float(moved[0] - centre[0]), float(moved[1] - centre[1]), scale)


def rotation_limit(max_rotation: float | str | None) -> float:
    """``max_rotation`` as degrees in [0, 180]; ``"any"`` is 180."""
    if max_rotation == ANY_ROTATION:
        return 180.0
    problem = f"max_rotation must be degrees between 0 and 180 or {ANY_ROTATION!r}, not {max_rotation!r}"
    try:
        value = float(max_rotation)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if not 0.0 <= value <= 180.0:  # also refuses NaN
        raise ValueError(problem)
    return value


@dataclass(frozen=True)
class MotionBounds:
    """Largest rotation (degrees), shift (fraction of the reference's longer side) and scale change."""

    max_rotation: float
    max_shift: float
    max_scale_change: float
    frame_side: float

    def violation(self, motion: Motion) -> str | None:
        """Why ``motion`` is outside the bounds, in words, or None when it is inside."""
        if not all(math.isfinite(value) for value in (motion.rotation, motion.shift, motion.scale)):
            return "alignment failed (no finite transform found)"
        if abs(motion.rotation) > self.max_rotation:
            return (
                f"a rotation of {abs(motion.rotation):.1f}° is needed, more than the product's "
                f"largest rotation of {self.max_rotation:g}°"
            )
        shift_fraction = motion.shift / self.frame_side
        if shift_fraction > self.max_shift:
            return (
                f"a shift of {motion.shift:.0f} px ({shift_fraction:.0%} of the frame) is needed, more than the "
                f"product's largest shift of {self.max_shift:.0%}"
            )
        if abs(motion.scale - 1.0) > self.max_scale_change:
            return (
                f"a scale change of {motion.scale:.2f}x is needed, more than the product's largest of "
                f"{1 + self.max_scale_change:.2f}x"
            )
        return None


@dataclass
class Candidate:
    """One warp tried for a picture: where it came from and how well it matches."""

    matrix: np.ndarray
    origin: str  # "identity", "ecc", "orb", "orb+ecc", "shift", "shift+ecc"
    quality: float = float("nan")
    coverage: float = float("nan")
    motion: Motion | None = None
    violation: str | None = None


def choose_candidate(
    candidates: Sequence[Candidate], *, radius: float, identity_margin: float, min_coverage: float
) -> tuple[Candidate | None, str]:
    """The warp to keep, identity first, and the reason when none can be kept.

    Only warps inside the bounds that leave enough of the region inside the
    picture compete, so a warp outside them gives way to the next best. The
    identity is kept unless a warp matches better by ``identity_margin``; among
    warps that match about as well as the best, the smallest one wins, so a
    nearly symmetric part is not turned by a rotation that gains nothing.
    """
    eligible = [
        candidate
        for candidate in candidates
        if candidate.violation is None and math.isfinite(candidate.quality) and candidate.coverage >= min_coverage
    ]
    if not eligible:
        return None, _why_none_eligible(candidates, min_coverage)
    best = max(candidate.quality for candidate in eligible)
    identity = next((candidate for candidate in eligible if candidate.origin == "identity"), None)
    if identity is not None and best - identity.quality < identity_margin:
        return identity, ""
    # A tenth of the margin: matching "as well" tolerates noise of the
    # estimate, not a real gain.
    as_good = [candidate for candidate in eligible if candidate.quality >= best - identity_margin / 10]
    return min(as_good, key=lambda candidate: candidate.motion.displacement(radius)), ""


def _why_none_eligible(candidates: Sequence[Candidate], min_coverage: float) -> str:
    # The identity never breaks a bound, so only coverage or a failed
    # estimate leaves nothing to choose from.
    covering = [candidate for candidate in candidates if math.isfinite(candidate.coverage)]
    if covering:
        widest = max(covering, key=lambda candidate: candidate.coverage)
        shown, needed = shown_apart(widest.coverage, min_coverage, percent=True)
        return (
            f"only {shown} of the region of interest lies inside the picture after alignment "
            f"(at least {needed} needed to judge it)"
        )
    return "alignment failed (no finite transform found)"


def shown_apart(value: float, limit: float, *, percent: bool = False) -> tuple[str, str]:
    """``value`` and ``limit`` written with the fewest decimals at which they read differently.

    Rounding keeps their order, so once the two texts differ they say the
    truth: never "similarity 0.60 is below the minimum 0.60".
    """
    scale, unit, start = (100.0, "%", 0) if percent else (1.0, "", 2)
    for decimals in range(start, 7):
        shown = f"{value * scale:.{decimals}f}", f"{limit * scale:.{decimals}f}"
        if shown[0] != shown[1]:
            break
    return shown[0] + unit, shown[1] + unit
