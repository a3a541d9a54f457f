"""Synthetic part classes that registration must handle, as pictures and as MVTec-layout data sets.

Each class stands for parts a new product may bring, where a fixed
registration setting used to refuse good pictures or misalign them:

* ``round-fixtured``: a round cap with a radial texture, fixtured (+-2 px jitter, no turn);
* ``round-turned``: the same cap turned by up to +-20 degrees (+-3 px);
* ``round-anywhere``: the cap anywhere in the frame at any angle (a conveyor);
* ``square-edge``: a printed square plate filling the frame, so its region touches the frame (+-6 px, +-3 degrees);
* ``texture``: a surface with its own random texture on every picture, from
  a line-scan camera whose frame height varies by +-3 %.

Pictures are float32 (H, W, 3) in [0, 1]. Defects are drawn in the part's own
coordinates before it is posed, so a defect moves with the part: a dark
scratch or a bright spot, with its pixel mask. ``true_warp`` is the
reference -> picture map of a moved round part (the cap rendered at the
frame's centre with no turn is the reference).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

SIDE = 192
CASES = ("round-fixtured", "round-turned", "round-anywhere", "square-edge", "texture")
DEFECT_KINDS = ("scratch", "spot")


def radial_part(
    *,
    centre=(SIDE / 2, SIDE / 2),
    angle: float = 0.0,
    seed: int = 0,
    side: int = SIDE,
    radius: float = 60.0,
    defect: dict | None = None,
) -> np.ndarray:
    """A round part seen from above (a cap, a gear blank) with a radial texture and one small mark.

    The disc and its rings are rotation-symmetric; the radial ribs repeat every
    10 degrees and only the mark near the rim and a faint angular shading tell
    one orientation from another, as on a real cap. Sensor noise differs per
    ``seed``. ``angle`` in degrees, counter-clockwise as seen on screen.
    ``defect`` (see ``plant_defect``) is placed relative to the part's centre
    and turns with it; with a defect the mask is returned too.
    """
    import cv2

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    dx, dy = x - centre[0], y - centre[1]
    distance = np.hypot(dx, dy)
    # Screen y points down: a counter-clockwise turn subtracts from the image angle.
    theta = np.arctan2(dy, dx) + np.radians(angle)
    inside = np.clip(radius - distance + 0.5, 0.0, 1.0)
    ribs = 0.08 * np.cos(36 * theta) * (distance > radius * 0.45)
    rings = 0.1 * (np.abs(distance - radius * 0.3) < 2.5) + 0.1 * (np.abs(distance - radius * 0.85) < 2.0)
    shading = 0.06 * np.cos(theta - 0.7)
    mark_x, mark_y = radius * 0.65 * np.cos(np.radians(-angle)), radius * 0.65 * np.sin(np.radians(-angle))
    mark = 0.35 * (np.hypot(dx - mark_x, dy - mark_y) < radius * 0.09)
    part = 0.55 + ribs + rings + shading - mark
    grey = 0.15 + inside * (part - 0.15)
    mask = None
    if defect is not None:
        # The defect's place in the part's frame, turned and moved as the part is.
        turn = np.radians(-angle)
        offset_x, offset_y = defect["at"]
        placed = dict(
            defect,
            at=(
                centre[0] + offset_x * np.cos(turn) - offset_y * np.sin(turn),
                centre[1] + offset_x * np.sin(turn) + offset_y * np.cos(turn),
            ),
            angle=defect.get("angle", 0.0) + angle,
        )
        grey, mask = plant_defect(grey, placed)
    grey = cv2.GaussianBlur(grey.astype(np.float32), (3, 3), 0) + rng.normal(0, 0.01, grey.shape).astype(np.float32)
    picture = np.clip(np.repeat(grey[:, :, None], 3, axis=2) * np.array([1.0, 0.95, 0.85], np.float32), 0, 1)
    return picture if mask is None else (picture, mask)


def true_warp(*, centre, angle: float, side: int = SIDE) -> np.ndarray:
    """Reference -> picture map for a part moved from the frame's centre to ``centre`` and turned by ``angle``."""
    import cv2

    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    matrix[:, 2] += np.array(centre, dtype=np.float64) - side / 2
    return matrix


def square_part(
    *, shift=(0.0, 0.0), angle: float = 0.0, seed: int = 0, side: int = SIDE, defect: dict | None = None
) -> np.ndarray:
    """A square plate filling the frame to its edges (so its region of interest touches the frame).

    ``defect`` is placed on the plate (frame coordinates of the unmoved
    plate) and moves with it; with a defect the mask is returned too.
    """
    import cv2

    rng = np.random.default_rng(1000)  # the plate's print is the same on every part
    canvas = np.full((side, side, 3), 0.5, np.float32)
    for _ in range(25):
        colour = tuple(float(value) for value in rng.uniform(0.1, 0.9, 3))
        x, y = int(rng.integers(0, side - 20)), int(rng.integers(0, side - 20))
        cv2.rectangle(canvas, (x, y), (x + int(rng.integers(8, 30)), y + int(rng.integers(8, 30))), colour, -1)
    canvas = cv2.GaussianBlur(canvas, (3, 3), 0)
    mask = None
    if defect is not None:
        canvas, mask = plant_defect(canvas, defect)
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    matrix[:, 2] += shift
    moved = cv2.warpAffine(canvas, matrix, (side, side), borderMode=cv2.BORDER_CONSTANT, borderValue=(0.1, 0.1, 0.1))
    noise = np.random.default_rng(seed).normal(0, 0.01, moved.shape).astype(np.float32)
    picture = np.clip(moved + noise, 0, 1)
    if mask is None:
        return picture
    return picture, cv2.warpAffine(mask.astype(np.uint8), matrix, (side, side), flags=cv2.INTER_NEAREST) > 0


def texture_surface(*, seed: int, height: int = SIDE, width: int = SIDE, defect: dict | None = None) -> np.ndarray:
    """A steel-strip or fabric-like surface: a new random texture on every picture."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height, width)).astype(np.float32)
    streaks = cv2.GaussianBlur(noise, (0, 0), sigmaX=6.0, sigmaY=0.8)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.0)
    grey = 0.5 + 0.5 * streaks / (streaks.std() + 1e-6) * 0.12 + 0.04 * grain
    mask = None
    if defect is not None:
        grey, mask = plant_defect(grey, defect)
    picture = np.clip(np.repeat(grey[:, :, None], 3, axis=2), 0, 1)
    return picture if mask is None else (picture, mask)


def plant_defect(image: np.ndarray, defect: dict) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with a defect drawn in, and the defect's mask.

    ``defect``: ``kind`` "scratch" (a dark line ``length`` px long at
    ``angle`` degrees) or "spot" (a bright disc of ``radius`` px), centred at
    ``at`` = (x, y) in pixels, with ``contrast`` (default 0.25).
    """
    import cv2

    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    x, y = defect["at"]
    contrast = float(defect.get("contrast", 0.25))
    if defect["kind"] == "scratch":
        half = 0.5 * float(defect.get("length", 24.0))
        direction = np.radians(defect.get("angle", 0.0))
        start = (round(x - half * np.cos(direction)), round(y + half * np.sin(direction)))
        end = (round(x + half * np.cos(direction)), round(y - half * np.sin(direction)))
        cv2.line(mask, start, end, 1, thickness=int(defect.get("width", 2)))
        sign = -1.0
    elif defect["kind"] == "spot":
        cv2.circle(mask, (round(x), round(y)), int(defect.get("radius", 5)), 1, thickness=-1)
        sign = 1.0
    else:
        raise ValueError(f"unknown defect kind {defect['kind']!r}; expected one of {', '.join(DEFECT_KINDS)}")
    region = mask.astype(bool)
    marked = image.astype(np.float32, copy=True)
    marked[region] = marked[region] + sign * contrast
    return marked, region


def case_pictures(case: str, count: int, *, seed: int, defective: bool = False) -> list[tuple[np.ndarray, object]]:
    """``count`` pictures of ``case`` as (picture, mask or None); the same seed gives the same pictures."""
    if case not in CASES:
        raise ValueError(f"unknown registration case {case!r}; expected one of {', '.join(CASES)}")
    rng = np.random.default_rng(seed)
    render = _RENDERERS[case]
    pictures = []
    for index in range(count):
        pose = _POSES[case](rng)
        defect = _defect_for(case, rng, index) if defective else None
        rendered = render(seed=seed * 10_000 + index + 1, defect=defect, **pose)
        pictures.append(rendered if defective else (rendered, None))
    return pictures


def case_reference(case: str) -> np.ndarray:
    """The part as the reference sees it: centred, unturned, full-height frame."""
    if case not in CASES:
        raise ValueError(f"unknown registration case {case!r}; expected one of {', '.join(CASES)}")
    return _RENDERERS[case](seed=0)


def render_case(
    out_dir: str | Path,
    *,
    case: str,
    seed: int = 0,
    n_train: int = 40,
    n_test_good: int = 20,
    n_test_defective: int = 20,
) -> Path:
    """Write one registration case in MVTec layout (train/good first picture = the reference) and return it."""
    from .imageio import save_image

    out_dir = Path(out_dir)
    train = [case_reference(case)] + [picture for picture, _ in case_pictures(case, n_train - 1, seed=seed * 3 + 1)]
    good = [picture for picture, _ in case_pictures(case, n_test_good, seed=seed * 3 + 2)]
    defective = case_pictures(case, n_test_defective, seed=seed * 3 + 3, defective=True)
    for folder, pictures in (("train/good", train), ("test/good", good)):
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
        for index, picture in enumerate(pictures):
            save_image(out_dir / folder / f"{index:03d}.png", picture)
    for index, (picture, mask) in enumerate(defective):
        kind = DEFECT_KINDS[index % len(DEFECT_KINDS)]
        for folder, pixels, stem in (
            (f"test/{kind}", picture, f"{index:03d}"),
            (f"ground_truth/{kind}", mask.astype(np.float32), f"{index:03d}_mask"),
        ):
            (out_dir / folder).mkdir(parents=True, exist_ok=True)
            save_image(out_dir / folder / f"{stem}.png", pixels)
    return out_dir


def _defect_for(case: str, rng: np.random.Generator, index: int) -> dict:
    kind = DEFECT_KINDS[index % len(DEFECT_KINDS)]
    defect = {"kind": kind, "angle": float(rng.uniform(0, 180)), "length": float(rng.uniform(18, 30))}
    if case.startswith("round"):
        # On the cap, between its centre and its rim (part coordinates, relative to its centre).
        distance, direction = rng.uniform(12, 45), rng.uniform(0, 2 * np.pi)
        defect["at"] = (distance * np.cos(direction), distance * np.sin(direction))
    else:
        margin = 30
        defect["at"] = (float(rng.uniform(margin, SIDE - margin)), float(rng.uniform(margin, SIDE - margin)))
    return defect


def _round_fixtured(rng):
    return {"centre": (SIDE / 2 + rng.uniform(-2, 2), SIDE / 2 + rng.uniform(-2, 2)), "angle": 0.0}


def _round_turned(rng):
    return {
        "centre": (SIDE / 2 + rng.uniform(-3, 3), SIDE / 2 + rng.uniform(-3, 3)),
        "angle": float(rng.uniform(-20, 20)),
    }


def _round_anywhere(rng):
    return {"centre": (rng.uniform(62, 130), rng.uniform(62, 130)), "angle": float(rng.uniform(-180, 180))}


def _square_edge(rng):
    return {"shift": rng.uniform(-6, 6, 2), "angle": float(rng.uniform(-3, 3))}


def _texture(rng):
    return {"height": int(round(SIDE * rng.uniform(0.97, 1.03)))}


_POSES: dict[str, Callable] = {
    "round-fixtured": _round_fixtured,
    "round-turned": _round_turned,
    "round-anywhere": _round_anywhere,
    "square-edge": _square_edge,
    "texture": _texture,
}
_RENDERERS: dict[str, Callable] = {
    "round-fixtured": radial_part,
    "round-turned": radial_part,
    "round-anywhere": radial_part,
    "square-edge": square_part,
    "texture": texture_surface,
}
