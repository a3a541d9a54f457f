"""Reading a data set stored in the MVTec AD folder layout.

::

    <root>/train/good/*.png                       normal images for training
    <root>/test/good/*.png                        normal test images
    <root>/test/<defect>/*.png                    defective test images, one folder per kind
    <root>/ground_truth/<defect>/<stem>_mask.png  optional pixel masks (non-zero = defect)

Only file names are collected here; images are read later, one at a time,
through :mod:`~inspection.engine.data.imageio`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TrainingDataError
from .imageio import IMAGE_EXTENSIONS, load_image

NORMAL = "good"


@dataclass(frozen=True)
class TestItem:
    """One test image: ``label`` 0 = normal, 1 = defective; ``mask_path`` None when no mask exists."""

    path: Path
    label: int
    defect_type: str  # "good" for normal images
    mask_path: Path | None = None


@dataclass
class MVTecDataset:
    root: Path
    train_paths: list[Path]
    test_items: list[TestItem] = field(default_factory=list)

    @property
    def defect_types(self) -> list[str]:
        return sorted({item.defect_type for item in self.test_items if item.label == 1})

    @property
    def test_paths(self) -> list[Path]:
        return [item.path for item in self.test_items]

    @property
    def test_labels(self) -> np.ndarray:
        return np.array([item.label for item in self.test_items], dtype=np.int64)


def load_mvtec_layout(path: str | Path) -> MVTecDataset:
    """Collect the train and test images of an MVTec-layout folder.

    Raises TrainingDataError when the folder, ``train/good`` or any image in
    it is missing. A missing ``test`` folder gives a set with no test items.
    """
    root = Path(path)
    if not root.is_dir():
        raise TrainingDataError(f"{root}: data set folder not found")
    train_folder = root / "train" / NORMAL
    if not train_folder.is_dir():
        raise TrainingDataError(f"{root}: no train/good folder (expected the MVTec layout: train/good/*.png)")
    train_paths = list_images(train_folder)
    if not train_paths:
        raise TrainingDataError(f"{train_folder}: contains no images (looked for {', '.join(IMAGE_EXTENSIONS)})")

    test_items: list[TestItem] = []
    test_folder = root / "test"
    if test_folder.is_dir():
        kinds = sorted(
            folder.name for folder in test_folder.iterdir() if folder.is_dir() and not folder.name.startswith(".")
        )
        # Normal images first, then each defect kind, for stable reports.
        kinds = ([NORMAL] if NORMAL in kinds else []) + [kind for kind in kinds if kind != NORMAL]
        for kind in kinds:
            for image_path in list_images(test_folder / kind):
                if kind == NORMAL:
                    test_items.append(TestItem(image_path, 0, NORMAL, None))
                else:
                    test_items.append(TestItem(image_path, 1, kind, _find_mask(root, kind, image_path.stem)))
    return MVTecDataset(root=root, train_paths=train_paths, test_items=test_items)


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder``, in natural order (2 before 10), hidden files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [
        entry
        for entry in folder.iterdir()
        if entry.is_file() and not entry.name.startswith(".") and entry.suffix.lower() in IMAGE_EXTENSIONS
    ]
    return sorted(found, key=_natural_key)


def load_mask(path: str | Path, shape: Sequence[int]) -> np.ndarray:
    """Binary mask (bool, H x W) resized with nearest neighbour to ``shape`` (H, W[, C]).

    Pixels above half scale mark a defect (masks are 0/255; the threshold
    tolerates compression noise). An unreadable file raises ImageError.
    """
    import cv2

    mask = load_image(path, mode="gray")[:, :, 0] > 0.5
    height, width = int(shape[0]), int(shape[1])
    if mask.shape != (height, width):
        resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        mask = resized.astype(bool)
    return mask


def _find_mask(root: Path, kind: str, stem: str) -> Path | None:
    folder = root / "ground_truth" / kind
    if not folder.is_dir():
        return None
    candidates = [folder / f"{stem}_mask{extension}" for extension in (".png",) + IMAGE_EXTENSIONS]
    candidates += [folder / f"{stem}{extension}" for extension in (".png",) + IMAGE_EXTENSIONS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]
