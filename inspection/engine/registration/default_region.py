"""The region of interest in force when nobody set one: the part, where that aligns the good pictures as the frame does.

The suggestion (``region.suggest_roi``) is only trusted once it is measured on
the product's own good training pictures: the region drives the alignment as
well as the crop, and a small region can lose what a whole frame gets right.
A round part with ribs every 10 degrees, aligned on a region just around it,
had too few pyramid levels for ECC to find the coarse turn and landed one rib
away (10 degrees off) on 1 of 12 pictures turned by up to 20 degrees, where
the whole frame found every turn within 0.05 degree. So the chosen method
registers the training pictures again with the suggested region; the
suggestion is kept only if every picture lands on the pose the whole frame
found (``SAME_POSE_DEGREES``, ``SAME_POSE_SHIFT``), otherwise the
whole frame stays, with the reason. With "none" nothing moves the parts, so
the region is grown to hold the part where each training picture shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .alignment import Registrar
from .region import region_holding_every_picture, suggest_roi

#: Where the region in force came from when nobody set it: suggested, not confirmed.
SUGGESTED = "suggested"
#: How far the two alignments of one picture may differ and still be the same pose: in turn (degrees), and in
#: where the region's centre lands (fraction of the reference's longer side). Identity-first leaves a
#: picture a few pixels off in place on one region and not on the other; a wrong optimum is a rib (10
#: degrees) or a part's width away.
SAME_POSE_DEGREES = 2.0
SAME_POSE_SHIFT = 0.03


def suggested_region(
    reference: np.ndarray, chosen: str, settings: dict[str, Any], pictures: Sequence[np.ndarray], frame_results
) -> tuple[Registrar | None, list | None, dict[str, Any]]:
    """(registrar measuring with the suggested region, its results, region report), or (None, None, report)
    when the whole frame stays; ``frame_results`` are the pictures registered by ``chosen`` on the whole frame."""
    height, width = np.asarray(reference).shape[:2]
    frame = [0, 0, int(width), int(height)]
    if chosen == "none" and len(pictures):
        roi = [int(value) for value in region_holding_every_picture(reference, pictures)]
        why = (
            "the part where it lies on the reference and on every good training picture, with a margin "
            "(registration 'none' leaves each part where it lies)"
        )
    else:
        roi = [int(value) for value in suggest_roi(reference)]
        why = "the part on the reference with a margin (the box around what differs from the background)"
    if roi == frame:
        return (
            None,
            None,
            _report(
                frame,
                "nothing stands out from the background on the reference or the "
                "pictures (a surface filling the frame?): the whole frame",
            ),
        )
    registrar = Registrar(**{**settings, "method": chosen, "roi": roi, "min_quality": -1.0}).fit(reference)
    results = [registrar.register(picture) for picture in pictures]
    if chosen != "none":
        moved = _moved_apart(frame_results, results, roi, max(height, width))
        if moved:
            return (
                None,
                None,
                _report(
                    frame,
                    f"the whole frame: aligned on the suggested region {roi}, {moved} of {len(results)} good training "
                    "pictures landed on another pose than with the whole frame (turned more than "
                    f"{SAME_POSE_DEGREES:g} degrees or moved more than {SAME_POSE_SHIFT:.0%} of the frame apart), "
                    "so the region is not trusted to align this part",
                ),
            )
    return registrar, results, _report(roi, why)


def _report(roi: list[int], why: str) -> dict[str, Any]:
    return {"source": SUGGESTED, "roi": roi, "why": why}


def _moved_apart(frame_results, region_results, roi, frame_side: float) -> int:
    """How many pictures the two registrations put in different poses (or only one of them accepted)."""
    x, y, width, height = roi
    centre = np.array([x + width / 2.0, y + height / 2.0, 1.0])
    moved = 0
    for frame_result, region_result in zip(frame_results, region_results):
        if frame_result.accepted != region_result.accepted:
            moved += 1
        elif frame_result.accepted:
            first, second = frame_result.matrix.astype(np.float64), region_result.matrix.astype(np.float64)
            turn = np.degrees(np.arctan2(first[1, 0], first[0, 0]) - np.arctan2(second[1, 0], second[0, 0]))
            turn = abs((turn + 180.0) % 360.0 - 180.0)
            shift = float(np.linalg.norm(first @ centre - second @ centre))
            moved += bool(turn > SAME_POSE_DEGREES or shift > SAME_POSE_SHIFT * frame_side)
    return moved
