"""Pictures of the part classes registration must never refuse, rendered in the tests.

Each renderer returns float32 (H, W, 3) in [0, 1] and, where the part moves, the
true warp (2x3, reference pixel -> picture pixel) relative to the part placed
at the frame's centre unrotated.
"""

from __future__ import annotations

import cv2
import numpy as np

SIDE = 192


def radial_part(*, centre=(SIDE / 2, SIDE / 2), angle: float = 0.0, seed: int = 0, side: int = SIDE,
                radius: float = 60.0) -> np.ndarray:
    """A round part seen from above (a cap, a gear blank) with a radial texture and one small mark.

    The disc and its rings are rotation-symmetric; the radial ribs repeat every
    10 degrees and only the mark near the rim and a faint angular shading tell
    one orientation from another, as on a real cap. Sensor noise differs per
    ``seed``. ``angle`` in degrees, counter-clockwise as seen on screen.
    """
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
    grey = cv2.GaussianBlur(grey.astype(np.float32), (3, 3), 0) + rng.normal(0, 0.01, grey.shape).astype(np.float32)
    return np.clip(np.repeat(grey[:, :, None], 3, axis=2) * np.array([1.0, 0.95, 0.85], np.float32), 0, 1)


def true_warp(*, centre, angle: float, side: int = SIDE) -> np.ndarray:
    """Reference -> picture map for a part moved from the frame's centre to ``centre`` and turned by ``angle``."""
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    matrix[:, 2] += np.array(centre, dtype=np.float64) - side / 2
    return matrix


def square_part(*, shift=(0.0, 0.0), angle: float = 0.0, seed: int = 0, side: int = SIDE) -> np.ndarray:
    """A square plate filling the frame to its edges (so its region of interest touches the frame)."""
    rng = np.random.default_rng(1000)  # the plate's print is the same on every part
    canvas = np.full((side, side, 3), 0.5, np.float32)
    for _ in range(25):
        colour = tuple(float(value) for value in rng.uniform(0.1, 0.9, 3))
        x, y = int(rng.integers(0, side - 20)), int(rng.integers(0, side - 20))
        cv2.rectangle(canvas, (x, y), (x + int(rng.integers(8, 30)), y + int(rng.integers(8, 30))), colour, -1)
    canvas = cv2.GaussianBlur(canvas, (3, 3), 0)
    matrix = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    matrix[:, 2] += shift
    moved = cv2.warpAffine(canvas, matrix, (side, side), borderMode=cv2.BORDER_CONSTANT, borderValue=(0.1, 0.1, 0.1))
    noise = np.random.default_rng(seed).normal(0, 0.01, moved.shape).astype(np.float32)
    return np.clip(moved + noise, 0, 1)


def texture_surface(*, seed: int, height: int = SIDE, width: int = SIDE) -> np.ndarray:
    """A steel-strip or fabric-like surface: a new random texture on every picture."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 1, (height, width)).astype(np.float32)
    streaks = cv2.GaussianBlur(noise, (0, 0), sigmaX=6.0, sigmaY=0.8)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.0)
    grey = 0.5 + 0.5 * streaks / (streaks.std() + 1e-6) * 0.12 + 0.04 * grain
    return np.clip(np.repeat(grey[:, :, None], 3, axis=2), 0, 1)
