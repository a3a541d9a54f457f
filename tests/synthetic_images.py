"""Synthetic pictures for the tests, made in memory: one place for every test's images.

* Textured parts (``part_pixels``, ``part_png``): smooth random texture with a few
  bright shapes, enough structure for alignment to lock on, so a shifted copy
  registers and pure noise (``noise_pixels``) does not.
* The loop's small product (``good_pixels``, ``defective_pixels``, ``mvtec_zip``):
  the textured part shifted by at most a pixel with sensor noise; defective ones
  carry a bright scratch or a blob, so every method separates them by a margin.
* Tiny engine parts (``normal_part``, ``synthetic_parts``, ``with_planted_blob``):
  grey plates and disks for fast engine tests.
* Registration cases (``radial_part``, ``square_part``, ``texture_surface``):
  the part classes registration must never refuse, float32 (H, W, 3) in
  [0, 1], with the true warp (``true_warp``, 2x3, reference pixel -> picture
  pixel) where the part moves.
* Zipper cursors (``cursor_set``): the engine's synthetic sets at a small size,
  written to a folder, for the browser tests.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PillowImage

# Registration cases, rendered by the engine (which also writes them as data sets for the registration benchmark).
from inspection.engine.data.registration_cases import SIDE as SIDE
from inspection.engine.data.registration_cases import radial_part as radial_part
from inspection.engine.data.registration_cases import square_part as square_part
from inspection.engine.data.registration_cases import texture_surface as texture_surface
from inspection.engine.data.registration_cases import true_warp as true_warp

SIZE = 96
DEFECT_TYPES = ("scratch", "blob")


def part_pixels(*, size: int = 128, shift: tuple[int, int] = (0, 0), seed: int = 0) -> np.ndarray:
    """A grey uint8 picture of the same part, moved by `shift` (dx, dy) pixels."""
    rng = np.random.default_rng(seed)
    texture = cv2.resize(rng.random((size // 8, size // 8)).astype(np.float32), (size * 2, size * 2))
    canvas = (texture * 120 + 60).astype(np.uint8)
    center = size
    cv2.circle(canvas, (center - size // 4, center - size // 5), size // 6, 230, -1)
    cv2.rectangle(canvas, (center, center), (center + size // 4, center + size // 3), 20, -1)
    dx, dy = shift
    top, left = size // 2 - dy, size // 2 - dx
    return np.ascontiguousarray(canvas[top : top + size, left : left + size])


def noise_pixels(*, size: int = 128, seed: int = 99) -> np.ndarray:
    return (np.random.default_rng(seed).random((size, size)) * 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PillowImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def part_png(*, size: int = 128, shift: tuple[int, int] = (0, 0), seed: int = 0) -> bytes:
    return png_bytes(part_pixels(size=size, shift=shift, seed=seed))


def distinct_part_pngs(count: int, *, size: int = 128) -> list[bytes]:
    """`count` different pictures of the same part, each moved a little (different bytes, same part)."""
    shifts = [(dx, dy) for dy in range(-6, 7) for dx in range(-6, 7)]
    pictures = []
    for index in range(count):
        pixels = part_pixels(size=size, shift=shifts[index % len(shifts)]).copy()
        # One changed pixel keeps pictures with the same shift from being duplicates.
        pixels[0, 0] = index % 256
        pixels[0, 1] = index // 256
        pictures.append(png_bytes(pixels))
    return pictures


def zip_bytes(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def good_pixels(index: int, *, size: int = SIZE) -> np.ndarray:
    rng = np.random.default_rng(1000 + index)
    shift = (0, 0) if index % 3 else (int(rng.integers(-1, 2)), 0)
    pixels = part_pixels(size=size, shift=shift).astype(np.float32) + rng.normal(0, 1, (size, size))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def defective_pixels(index: int, *, size: int = SIZE) -> np.ndarray:
    pixels = good_pixels(500 + index, size=size).copy()
    rng = np.random.default_rng(index)
    x, y = (int(value) for value in rng.integers(size // 4, size * 3 // 4, 2))
    # Drawn in the colour furthest from the part around it, so every defect stands out.
    around = pixels[max(0, y - 12) : y + 12, max(0, x - 12) : x + 12]
    colour = 255 if around.mean() < 128 else 0
    if index % 2:
        cv2.circle(pixels, (x, y), max(3, size // 7), colour, -1)
    else:
        cv2.line(pixels, (x - size // 5, y - size // 8), (x + size // 5, y + size // 8), colour, 7)
    return pixels


def defect_type(index: int) -> str:
    return DEFECT_TYPES[index % 2]


def good_png(index: int) -> bytes:
    return png_bytes(good_pixels(index))


def defective_png(index: int) -> bytes:
    return png_bytes(defective_pixels(index))


def reference_png() -> bytes:
    return png_bytes(part_pixels(size=SIZE))


def mvtec_zip(*, train: int, test_good: int, test_defective: int, offset: int = 0) -> bytes:
    """An MVTec-layout archive: train/good, test/good and test/<defect type>."""
    members = {f"part/train/good/{index:03d}.png": good_png(offset + index) for index in range(train)}
    members.update({f"part/test/good/{index:03d}.png": good_png(offset + 200 + index) for index in range(test_good)})
    members.update(
        {
            f"part/test/{defect_type(index)}/{index:03d}.png": defective_png(offset + index)
            for index in range(test_defective)
        }
    )
    return zip_bytes(members)


def normal_part(rng: np.random.Generator, size: int = 96) -> np.ndarray:
    image = np.full((size, size), 0.15, dtype=np.float32)
    shift = rng.integers(-1, 2, size=2)
    top_left = (size // 6 + int(shift[0]), size // 5 + int(shift[1]))
    bottom_right = (size - size // 6 + int(shift[0]), size - size // 5 + int(shift[1]))
    cv2.rectangle(image, top_left, bottom_right, 0.75, thickness=-1)
    cv2.rectangle(image, (size // 3, size // 2 - 3), (2 * size // 3, size // 2 + 3), 0.3, thickness=-1)
    gradient = np.linspace(-0.05, 0.05, size, dtype=np.float32)[None, :]
    image = image + gradient + rng.normal(0, 0.01, image.shape).astype(np.float32)
    return np.clip(image, 0, 1)[..., None]


def defective_part(rng: np.random.Generator, size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """A part with a dark blob on the plate, and the blob's mask."""
    image = normal_part(rng, size)[..., 0].copy()
    mask = np.zeros((size, size), np.uint8)
    centre = (size // 4 + 4, size // 3)
    cv2.circle(mask, centre, max(3, size // 14), 1, thickness=-1)
    image[mask > 0] = 0.1
    return image[..., None], mask.astype(bool)


def part_set(seed: int = 0, *, n_normal: int = 12, size: int = 96):
    rng = np.random.default_rng(seed)
    return [normal_part(rng, size) for _ in range(n_normal)]


def synthetic_parts(count, seed, size=64, channels=1):
    """Grey parts: a bright disk and a bar, shifted by up to 1 pixel, with sensor noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size]
    images = []
    for _ in range(count):
        dy, dx = rng.uniform(-1.0, 1.0, size=2)
        image = np.full((size, size), 0.2, dtype=np.float32)
        image[(rows - size / 2 - dy) ** 2 + (cols - size / 2 - dx) ** 2 < (size / 4) ** 2] = 0.7
        image[int(size * 0.8 + dy) : int(size * 0.8 + dy) + 4, 8 : size - 8] = 0.5
        image += rng.normal(0.0, 0.02, image.shape).astype(np.float32)
        image = np.clip(image, 0.0, 1.0)
        images.append(np.repeat(image[..., None], channels, axis=-1))
    return images


def with_planted_blob(image, centre=(28, 38), radius=3):
    """A copy of ``image`` with a dark round defect; also returns the defect mask."""
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    mask = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2
    defective = image.copy()
    defective[mask] = 0.0
    return defective, mask


@dataclass
class SyntheticSet:
    root: Path
    train_good: list[Path]
    test_zip: bytes  # test/good, test/<defect> and ground_truth/ in MVTec layout
    test_count: int


def cursor_set(
    folder: Path, *, train: int = 16, test_good: int = 6, test_defective: int = 6, size: int = 96
) -> SyntheticSet:
    from inspection.engine.data.synth import render_set

    render_set(
        folder,
        set_id=1,
        seed=3,
        n_train=train,
        n_test_good=test_good,
        n_test_defective=test_defective,
        size=(size, size),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*.png")):
            relative = path.relative_to(folder)
            if relative.parts[0] in ("test", "ground_truth"):
                archive.write(path, f"cursors/{relative.as_posix()}")
    return SyntheticSet(
        root=folder,
        train_good=sorted((folder / "train" / "good").glob("*.png")),
        test_zip=buffer.getvalue(),
        test_count=test_good + test_defective,
    )
