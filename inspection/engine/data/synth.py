"""Synthetic zipper-cursor images in the MVTec layout, for demos, tests and benchmarks.

The seed paper's zipper-cursor data set is private, so this module renders
stand-ins: six distinct cursor (slider) types photographed under a fixed
ring light, with the variations a real line shows between good parts (a few
pixels of shift, a few degrees of rotation, lighting gain and offset, sensor
noise) and the paper's four defect kinds, each with a pixel mask:

* bubble: a small round blister, lit on one side and shadowed on the other;
* residue: a dark irregular deposit that also kills the metal's shine;
* scratch: a thin groove, brighter or darker than the metal around it;
* halo: a soft ring of discoloured finish.

Parts are rendered as a height map plus an albedo map, shaded with a
Lambertian + Blinn-Phong model (gradients and specular highlights make the
metal look metallic), then posed by one affine warp so image and mask always
agree. Everything is vectorised; a 120-image set renders in about a second.
The same seed always gives the same pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

DEFECT_TYPES = ("bubble", "residue", "scratch", "halo")
SET_DESCRIPTIONS = {
    1: "rectangular nickel slider with a pull tab (grey)",
    2: "rounded brass slider (colour)",
    3: "grey slider whose pull tab has a hole (grey)",
    4: "gunmetal slider with an embossed logo (colour)",
    5: "slider with a toothed channel down its middle (grey)",
    6: "tapered blue-anodised slider with a lock pin (colour)",
}
_COLOUR_SETS = {2: (0.80, 0.63, 0.32), 4: (0.42, 0.45, 0.52), 6: (0.22, 0.38, 0.78)}
_GREY_ALBEDO = 0.72
_BACKGROUND = (0.13, 0.14, 0.15)
_LIGHT = np.array([-0.45, -0.55, 1.0]) / np.linalg.norm([-0.45, -0.55, 1.0])
_RELIEF_PIXELS = 0.035  # body height as a fraction of the image side


def render_set(
    out_dir: str | Path,
    *,
    set_id: int,
    seed: int = 0,
    n_train: int = 60,
    n_test_good: int = 30,
    n_test_defective: int = 30,
    size: Sequence[int] = (256, 256),
) -> Path:
    """Write one cursor set in MVTec layout under ``out_dir`` and return it.

    ``train/good``, ``test/good``, ``test/<defect>`` (defect kinds in turn) and
    ``ground_truth/<defect>/<stem>_mask.png`` (0/255). ``size`` is (H, W).
    """
    from .imageio import save_image

    _check_set_id(set_id)
    out_dir = Path(out_dir)
    jobs = [("train", "good", index, None) for index in range(n_train)]
    jobs += [("test", "good", index, None) for index in range(n_test_good)]
    jobs += [("test", DEFECT_TYPES[index % 4], index, DEFECT_TYPES[index % 4]) for index in range(n_test_defective)]
    for split, folder, index, defect in jobs:
        split_code = 0 if split == "train" else (1 if defect is None else 2)
        image, mask = render_cursor(set_id, seed=(seed, set_id, split_code, index), defect=defect, size=size)
        stem = f"{index:03d}"
        target = out_dir / split / folder
        target.mkdir(parents=True, exist_ok=True)
        save_image(target / f"{stem}.png", image)
        if defect is not None:
            mask_dir = out_dir / "ground_truth" / defect
            mask_dir.mkdir(parents=True, exist_ok=True)
            save_image(mask_dir / f"{stem}_mask.png", mask.astype(np.float32))
    return out_dir


def render_cursor(
    set_id: int,
    *,
    seed: int | Sequence[int],
    defect: str | None = None,
    size: Sequence[int] = (256, 256),
) -> tuple[np.ndarray, np.ndarray]:
    """One photo of a cursor: float32 (H, W, 1|3) in [0, 1] and a bool (H, W) defect mask.

    The defect is drawn from its own random stream, so the same ``seed`` with
    ``defect=None`` gives the identical part without the defect.
    """
    import cv2

    _check_set_id(set_id)
    if defect is not None and defect not in DEFECT_TYPES:
        raise ValueError(f"defect must be one of {DEFECT_TYPES} or None, not {defect!r}")
    height, width = int(size[0]), int(size[1])
    pose_rng, noise_rng, defect_rng = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(_entropy(seed)).spawn(3)
    )
    scale = min(height, width) / 2.0
    x = (np.arange(width, dtype=np.float32) - width / 2) / scale
    y = (np.arange(height, dtype=np.float32) - height / 2) / scale
    x, y = np.meshgrid(x, y)

    relief, albedo_gain = _cursor_shape(set_id, x, y)
    shine = np.ones_like(relief)
    mask = np.zeros(relief.shape, np.float32)
    if defect is not None:
        _add_defect(defect, defect_rng, x, y, scale, relief, albedo_gain, shine, mask)

    # Pose: one warp for every map, so the mask follows the part exactly.
    angle = pose_rng.uniform(-3.0, 3.0)
    shift = pose_rng.uniform(-3.0, 3.0, size=2)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    matrix[:, 2] += shift
    maps = np.dstack([relief, albedo_gain, shine, mask])
    maps = cv2.warpAffine(maps, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    relief, albedo_gain, shine, mask = (maps[:, :, index] for index in range(4))

    image = _shade(set_id, relief * _RELIEF_PIXELS * min(height, width), albedo_gain, shine, x, y)
    image = cv2.GaussianBlur(image, (0, 0), 0.6)  # lens blur
    gain, offset = pose_rng.uniform(0.92, 1.08), pose_rng.uniform(-0.03, 0.03)
    image = image * gain + offset + noise_rng.normal(0.0, 0.01, image.shape).astype(np.float32)
    image = np.clip(image, 0.0, 1.0).astype(np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    return image, mask > 0.5


def _entropy(seed: int | Sequence[int]) -> list[int]:
    return [int(value) for value in (seed if isinstance(seed, (tuple, list)) else (seed,))]


def _check_set_id(set_id: int) -> None:
    if set_id not in SET_DESCRIPTIONS:
        raise ValueError(f"set_id must be 1 to 6, not {set_id!r}")


# ---------------------------------------------------------------- geometry
def _box(x, y, cx, cy, half_width, half_height, radius, taper=0.0):
    """Signed distance to a rounded box (negative inside); taper widens it downwards."""
    half_width = half_width + taper * (y - cy)
    qx = np.abs(x - cx) - half_width + radius
    qy = np.abs(y - cy) - half_height + radius
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return outside + np.minimum(np.maximum(qx, qy), 0) - radius


def _circle(x, y, cx, cy, radius):
    return np.hypot(x - cx, y - cy) - radius


def _plateau(distance, bevel=0.06):
    """Height 1 inside, 0 outside, with a smooth bevelled edge of width ``bevel``."""
    t = np.clip(-distance / bevel, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _cursor_shape(set_id: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relief (0 = table, 1 = top of the body) and albedo multiplier of one cursor type."""
    dome = 1.0 - 0.25 * np.clip((x / 0.45) ** 2 + ((y + 0.15) / 0.6) ** 2, 0, 1)
    tab = 0.55 * _plateau(_box(x, y, 0.0, 0.52, 0.17, 0.30, 0.10))
    bridge = 0.7 * _plateau(_box(x, y, 0.0, 0.28, 0.09, 0.08, 0.03))
    albedo = np.ones_like(x)
    if set_id == 1:
        body = _plateau(_box(x, y, 0.0, -0.18, 0.36, 0.44, 0.08)) * dome
        rivet = 0.15 * _plateau(_circle(x, y, 0.0, -0.42, 0.06), 0.03)
        relief = np.maximum(np.maximum(body + rivet, tab), bridge)
    elif set_id == 2:
        body = _plateau(np.hypot(x / 0.42, (y + 0.15) / 0.52) - 1.0, 0.12) * (0.6 + 0.4 * dome)
        relief = np.maximum(body, np.maximum(tab, bridge))
    elif set_id == 3:
        body = _plateau(_box(x, y, 0.0, -0.18, 0.34, 0.42, 0.14)) * dome
        holed_tab = tab * (1.0 - _plateau(_circle(x, y, 0.0, 0.58, 0.08), 0.03))
        relief = np.maximum(body, np.maximum(holed_tab, bridge))
    elif set_id == 4:
        body = _plateau(_box(x, y, 0.0, -0.18, 0.38, 0.44, 0.06)) * dome
        ring = np.abs(_circle(x, y, 0.0, -0.2, 0.17)) - 0.025
        bar = _box(x, y, 0.0, -0.2, 0.025, 0.12, 0.01)
        logo = 0.12 * _plateau(np.minimum(ring, bar), 0.02)
        relief = np.maximum(body + logo * (body > 0.5), np.maximum(tab, bridge))
        albedo = albedo * (1.0 + 0.25 * (logo > 0.06))
    elif set_id == 5:
        body = _plateau(_box(x, y, 0.0, -0.18, 0.36, 0.44, 0.08)) * dome
        channel = _plateau(_box(x, y, 0.0, -0.18, 0.08, 0.36, 0.02), 0.03)
        teeth = 0.5 + 0.5 * np.sign(np.sin(y * 40.0))
        relief = np.maximum(body - 0.45 * channel * (1.0 - 0.4 * teeth), np.maximum(tab, bridge))
        albedo = albedo * (1.0 - 0.2 * channel)
    else:
        body = _plateau(_box(x, y, 0.0, -0.18, 0.28, 0.44, 0.06, taper=0.25)) * dome
        pin = 0.2 * _plateau(_circle(x, y, 0.0, -0.5, 0.05), 0.02)
        relief = np.maximum(body + pin, np.maximum(tab, bridge))
    return relief.astype(np.float32), albedo.astype(np.float32)


# ----------------------------------------------------------------- defects
def _add_defect(defect, rng, x, y, scale, relief, albedo, shine, mask) -> None:
    """Modify the maps in place and draw the defect's mask (canonical pose)."""
    import cv2

    # Defects sit on the flat top of the body, away from its bevel.
    margin = max(1, int(round(7 * scale / 128.0)))
    top = (relief > 0.8).astype(np.uint8)
    candidates = np.argwhere(cv2.erode(top, np.ones((2 * margin + 1,) * 2, np.uint8)) > 0)
    if len(candidates) == 0:
        candidates = np.argwhere(top > 0)
    row, column = candidates[rng.integers(len(candidates))]
    cx, cy = x[row, column], y[row, column]
    r = np.hypot(x - cx, y - cy) * scale  # distance in pixels
    pixel = 256.0 / (2 * scale)  # sizes below are given for a 256-pixel image

    if defect == "bubble":
        radius = rng.uniform(3.5, 6.0) / pixel
        bump = np.exp(-0.5 * (r / (radius / 2)) ** 2)
        relief += 0.25 * bump
        mask[:] = np.maximum(mask, r <= radius)
    elif defect == "residue":
        radius = rng.uniform(5.0, 9.0) / pixel
        noise = cv2.GaussianBlur(rng.normal(size=x.shape).astype(np.float32), (0, 0), max(1.0, radius / 3))
        noise /= noise.std() + 1e-6
        blob = ((r / radius + 0.35 * noise) < 1.0).astype(np.float32)
        blob = cv2.GaussianBlur(blob, (0, 0), 0.8)
        albedo *= 1.0 - rng.uniform(0.45, 0.6) * blob
        shine *= 1.0 - 0.85 * blob
        mask[:] = np.maximum(mask, blob > 0.5)
    elif defect == "scratch":
        length = rng.uniform(15.0, 35.0) / pixel
        direction = rng.uniform(0, np.pi)
        start = np.array([column, row]) - 0.5 * length * np.array([np.cos(direction), np.sin(direction)])
        end = start + length * np.array([np.cos(direction), np.sin(direction)])
        line = np.zeros(x.shape, np.float32)
        cv2.line(
            line,
            tuple(int(v) for v in start.round()),
            tuple(int(v) for v in end.round()),
            1.0,
            max(1, int(round(1 / pixel))),
            cv2.LINE_AA,
        )
        relief -= 0.08 * line
        albedo *= 1.0 + (0.45 if rng.random() < 0.5 else -0.45) * line
        mask[:] = np.maximum(mask, cv2.dilate((line > 0.2).astype(np.float32), np.ones((3, 3), np.uint8)))
    else:  # halo
        radius = rng.uniform(8.0, 14.0) / pixel
        ring = np.exp(-(((r - radius) / (2.5 / pixel)) ** 2))
        albedo *= 1.0 - rng.uniform(0.3, 0.4) * ring
        mask[:] = np.maximum(mask, ring > 0.35)


# ----------------------------------------------------------------- shading
def _shade(set_id, height_px, albedo_gain, shine, x, y):
    import cv2

    dx = cv2.Sobel(height_px, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    dy = cv2.Sobel(height_px, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    normal = np.dstack([-dx, -dy, np.ones_like(dx)])
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    diffuse = np.clip(normal @ _LIGHT.astype(np.float32), 0.0, 1.0)
    half = _LIGHT + np.array([0.0, 0.0, 1.0])
    half = (half / np.linalg.norm(half)).astype(np.float32)
    specular = np.clip(normal @ half, 0.0, 1.0) ** 40 * shine
    # A broad sheen that varies across the part, as a polished surface
    # mirrors the uneven brightness of the surroundings.
    sheen = 0.12 * np.sin(2.5 * x + 1.5 * y + set_id)

    on_part = np.clip(height_px / (0.2 * height_px.max() + 1e-6), 0, 1)
    background = np.array(_BACKGROUND, np.float32) * (1.0 - 0.25 * (x * x + y * y))[..., None]
    if set_id in _COLOUR_SETS:
        base = np.array(_COLOUR_SETS[set_id], np.float32)
    else:
        base = np.array([_GREY_ALBEDO] * 3, np.float32)
    lit = (0.25 + 0.75 * diffuse + sheen)[..., None] * base * albedo_gain[..., None]
    # Metal reflects highlights in its own colour, mixed with white.
    lit = lit + (0.55 * specular)[..., None] * (0.5 * base + 0.5)
    image = on_part[..., None] * lit + (1.0 - on_part[..., None]) * background
    if set_id not in _COLOUR_SETS:
        return image[:, :, 0].astype(np.float32)
    return image.astype(np.float32)
