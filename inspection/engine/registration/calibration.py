"""Refusal limits and motion bounds measured on a product's own good training pictures.

A fixed similarity minimum refuses every good picture of a textured product
(each has its own texture: similarities 0.01-0.17 to any one reference) while
letting a nearly identical wrong part through elsewhere. So the minimum is set
below what the product's good pictures reach: their 2nd percentile, less the
larger of ``QUALITY_MARGIN`` and the distance from that percentile to their
median (a wide spread earns a wide margin). The motion bounds are the largest
motion the training pictures needed, with a margin, and never wider than the
configured ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

QUALITY_MARGIN = 0.1
LOW_QUANTILE = 0.02
#: Fewer good pictures than this say too little about their spread: the general minimum stays.
MIN_CALIBRATION_PICTURES = 5
#: Robust standard deviations below the median beyond which a "good" picture is taken as mislabelled.
OUTLIER_DEVIATIONS = 4.0
ROTATION_MARGIN_DEGREES = 3.0
SHIFT_MARGIN = 0.03  # of the reference's longer side
SPREAD_FACTOR = 1.25

MIN_QUALITY_RULE = (
    f"{LOW_QUANTILE:.0%} quantile of the good training pictures' similarity (pictures more than "
    f"{OUTLIER_DEVIATIONS:g} robust deviations below the median left out), less the larger of {QUALITY_MARGIN} "
    f"and its distance to their median"
)


def calibrated_min_quality(qualities: Sequence[float]) -> float:
    """The similarity below which a picture is refused, from the good training pictures' similarities."""
    values = np.array([value for value in qualities if math.isfinite(value)], dtype=np.float64)
    if len(values) == 0:
        raise ValueError("no measured similarity to calibrate on")
    median = float(np.median(values))
    deviation = 1.4826 * float(np.median(np.abs(values - median)))
    # One mislabelled picture must not open the door to everything.
    kept = values[values >= median - OUTLIER_DEVIATIONS * max(deviation, 0.01)]
    low = float(np.quantile(kept, LOW_QUANTILE))
    margin = max(QUALITY_MARGIN, median - low)
    return round(low - margin, 4)


def bounds_from_spread(motions: Sequence[dict], *, frame_side: float, ceiling: dict) -> dict:
    """``max_rotation``, ``max_shift`` and ``max_scale_change`` from the training pictures' motions.

    ``ceiling`` holds the configured bounds (``max_rotation`` in degrees or
    "any"): the measured ones never exceed them, so a product that allows
    only small rotations keeps that promise.
    """
    from .motion import rotation_limit

    if not motions:
        return dict(ceiling)
    rotations = [abs(motion["rotation"]) for motion in motions]
    shifts = [math.hypot(motion["shift_x"], motion["shift_y"]) / frame_side for motion in motions]
    scales = [abs(motion["scale"] - 1.0) for motion in motions]
    rotation = max(rotations) * SPREAD_FACTOR + ROTATION_MARGIN_DEGREES
    shift = max(shifts) * SPREAD_FACTOR + SHIFT_MARGIN
    scale = max(scales) * SPREAD_FACTOR + 0.02
    return {
        "max_rotation": round(min(rotation, rotation_limit(ceiling["max_rotation"])), 1),
        "max_shift": round(min(shift, float(ceiling["max_shift"])), 3),
        "max_scale_change": round(min(scale, float(ceiling["max_scale_change"])), 3),
    }


def spread(values: Sequence[float]) -> dict:
    """Smallest, median and largest of ``values`` (rounded for a report), or Nones when empty."""
    finite = [float(value) for value in values if math.isfinite(value)]
    if not finite:
        return {"min": None, "median": None, "max": None}
    return {"min": round(min(finite), 4), "median": round(float(np.median(finite)), 4), "max": round(max(finite), 4)}
