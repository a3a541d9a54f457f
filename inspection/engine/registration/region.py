"""A suggested region of interest: the part, not the frame.

The background is what the frame's border shows (a part is rarely cut by the
frame's edge); whatever differs from it clearly is the part. The suggestion is
the bounding box of that, with a margin, clipped to the frame. Where nothing
stands out from the border (a textured surface filling the frame, a part
touching all four edges), or where the border itself shows a texture rather
than a plain background (its robust spread above ``TEXTURED_BORDER``), the
whole frame is suggested. Measured border spreads (grey, 0-1): circuitboard
0.017-0.026, the synthetic sets 0.010-0.012 and rendered parts 0.002-0.003
(a plain background); magnetic tiles 0.045-0.13 and a textured plate filling
the frame 0.069 (no background to tell the part from).
"""

from __future__ import annotations

import numpy as np

from ..data.imageio import to_gray

#: Margin around the part, as a fraction of the reference's longer side.
MARGIN = 0.04
_WORKING_SIDE = 256
_BORDER = 0.03  # of each side: the strip that shows the background
#: Robust spread of the border's grey values above which the border shows a texture, not a background.
TEXTURED_BORDER = 0.04


def suggest_roi(reference: np.ndarray) -> tuple[int, int, int, int]:
    """(x, y, w, h) in reference pixels around what differs from the background."""
    import cv2

    reference = np.asarray(reference, dtype=np.float32)
    height, width = reference.shape[:2]
    scale = min(1.0, _WORKING_SIDE / max(height, width))
    small = cv2.resize(
        to_gray(reference if reference.ndim == 3 else reference[..., None]),
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    small = cv2.GaussianBlur(small, (5, 5), 0)
    band = max(2, round(_BORDER * min(small.shape)))
    border = np.concatenate(
        [small[:band].ravel(), small[-band:].ravel(), small[:, :band].ravel(), small[:, -band:].ravel()]
    )
    background = float(np.median(border))
    spread = 1.4826 * float(np.median(np.abs(border - background)))
    if spread > TEXTURED_BORDER:
        return (0, 0, width, height)
    differs = np.abs(small - background) > max(6.0 * spread, 0.08)
    differs = cv2.morphologyEx(differs.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    # A frame-filling texture differs everywhere, its border included.
    border_differs = np.mean(
        np.concatenate(
            [differs[:band].ravel(), differs[-band:].ravel(), differs[:, :band].ravel(), differs[:, -band:].ravel()]
        )
    )
    if not differs.any() or border_differs > 0.25:
        return (0, 0, width, height)
    rows, columns = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    margin = MARGIN * max(height, width)
    x0 = max(0, int(np.floor(columns[0] / scale - margin)))
    y0 = max(0, int(np.floor(rows[0] / scale - margin)))
    x1 = min(width, int(np.ceil((columns[-1] + 1) / scale + margin)))
    y1 = min(height, int(np.ceil((rows[-1] + 1) / scale + margin)))
    return (x0, y0, x1 - x0, y1 - y0)


def region_holding_every_picture(reference: np.ndarray, pictures) -> tuple[int, int, int, int]:
    """The suggestion on the reference grown to hold the part where each picture shows it.

    For registration "none", which leaves every part where it lies: the region
    must hold the part in every good picture, not only where it sat on the
    reference. Each picture's suggestion is taken in the reference's frame (a
    picture of another size is stretched to it, as registration does).
    """
    height, width = np.asarray(reference).shape[:2]
    x0, y0, region_width, region_height = suggest_roi(reference)
    x1, y1 = x0 + region_width, y0 + region_height
    for picture in pictures:
        picture_height, picture_width = np.asarray(picture).shape[:2]
        x, y, w, h = suggest_roi(picture)
        scale_x, scale_y = width / picture_width, height / picture_height
        x0, y0 = min(x0, int(np.floor(x * scale_x))), min(y0, int(np.floor(y * scale_y)))
        x1, y1 = max(x1, int(np.ceil((x + w) * scale_x))), max(y1, int(np.ceil((y + h) * scale_y)))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    return (x0, y0, x1 - x0, y1 - y0)
