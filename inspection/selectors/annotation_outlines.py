"""Outlines of an image's current defect regions, to draw over other pictures of the same registered frame.

The inspection page draws them over the anomaly map, so that where the model
looked and where a person marked the defect can be compared at a glance. The
outlines are worked out here, once per page, as SVG paths in registered-image
pixels; the page scales them with the picture.
"""

from __future__ import annotations

import numpy as np

from inspection.lib.mask_png import mask_read
from inspection.models import Image
from inspection.selectors.annotations import annotation_current


def annotation_outlines(*, image: Image | None) -> dict | None:
    """The current annotation's regions as outlines, or None when the image has no region.

    {revision, registration_revision, width, height,
     regions: [{name, color, area, path}], legend: [{name, color}] (one entry per defect type)}
    """
    if image is None or not image.aligned_file:
        return None
    annotation = annotation_current(image=image)
    if annotation is None:
        return None
    regions, legend, size = [], {}, None
    for region in annotation.regions.all():
        mask = mask_read(region.mask)
        size = mask.shape
        defect_type = region.defect_type
        regions.append(
            {"name": defect_type.name, "color": defect_type.color, "area": region.area, "path": svg_path(mask)}
        )
        legend.setdefault(defect_type.name, defect_type.color)
    if not regions:
        return None
    return {
        "revision": annotation.revision,
        "registration_revision": annotation.registration_revision,
        "width": size[1],
        "height": size[0],
        "regions": regions,
        "legend": [{"name": name, "color": color} for name, color in legend.items()],
    }


def svg_path(mask: np.ndarray) -> str:
    """An SVG path through the centres of the boundary pixels of every part (and hole) of the mask."""
    import cv2

    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    parts = []
    for contour in contours:
        points = contour.reshape(-1, 2)
        # A lone pixel has one point; its zero-length subpath is drawn as a dot by the round line caps.
        steps = " L".join(f"{x + 0.5:g} {y + 0.5:g}" for x, y in points)
        parts.append(f"M{steps} Z")
    return " ".join(parts)
