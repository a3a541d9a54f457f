"""Recognising the MVTec AD folder layout in a list of relative file paths.

    train/good/*            -> label normal,    split train
    test/good/*             -> label normal,    split test
    test/<defect>/*         -> label defective, split test, defect type <defect>
    ground_truth/<defect>/<stem>_mask.png -> mask of test/<defect>/<stem>.*
    defect_types.json     -> [{"name", "color"}]: colours of the defect types (the platform's export)

The layout may sit inside one top folder (`zipper/train/good/...`), as in the
published archives. The same plan serves zip uploads and the import command.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from inspection.errors import InvalidInput

# The values of Image.Label and Image.Split these folders stand for (plain
# strings, so that this module needs no models).
NORMAL, DEFECTIVE = "normal", "defective"
TRAIN, TEST = "train", "test"

_SPLIT_FOLDERS = {"train": TRAIN, "test": TEST}
_GOOD = "good"
_MASKS = "ground_truth"
_MASK_SUFFIX = "_mask"
DEFECT_TYPES_FILE = "defect_types.json"


@dataclass(frozen=True)
class PlannedImage:
    path: PurePosixPath
    label: str
    split: str
    defect_type: str
    mask_path: PurePosixPath | None = None


@dataclass
class LayoutPlan:
    images: list[PlannedImage]
    # (path, reason) for files that are not part of the layout.
    skipped: list[tuple[str, str]]
    defect_types_path: PurePosixPath | None = None


def mvtec_root(paths: list[PurePosixPath]) -> PurePosixPath | None:
    """The folder holding train/ and test/, or None if the paths are not in MVTec layout."""
    roots = set()
    for path in paths:
        parts = path.parts
        for index, part in enumerate(parts):
            # <root>/train|test/<class>/<file>: the split folder is third from the end.
            if part in _SPLIT_FOLDERS and index == len(parts) - 3:
                roots.add(PurePosixPath(*parts[:index]))
    if not roots:
        return None
    if len(roots) > 1:
        names = ", ".join(sorted(str(root) or "." for root in roots))
        raise InvalidInput(f"The files hold more than one MVTec-style data set ({names}); upload one at a time.")
    return roots.pop()


def mvtec_plan(paths: list[PurePosixPath], root: PurePosixPath) -> LayoutPlan:
    """Assign label, split, defect type and mask to every image under `root`."""
    images: list[PlannedImage] = []
    skipped: list[tuple[str, str]] = []
    masks: dict[tuple[str, str], PurePosixPath] = {}
    defect_types_path = None
    root_depth = len(root.parts)
    for path in paths:
        relative = path.parts[root_depth:] if path.parts[:root_depth] == root.parts else None
        if relative == (DEFECT_TYPES_FILE,):
            defect_types_path = path
            continue
        if relative is None or len(relative) != 3:
            skipped.append((str(path), "not part of the train/, test/ or ground_truth/ folders"))
            continue
        folder, class_name, file_name = relative
        if folder == _MASKS:
            stem = PurePosixPath(file_name).stem
            if stem.endswith(_MASK_SUFFIX):
                masks[(class_name, stem[: -len(_MASK_SUFFIX)])] = path
            else:
                skipped.append((str(path), "a ground-truth mask's name must end in _mask"))
            continue
        if folder not in _SPLIT_FOLDERS:
            skipped.append((str(path), "not part of the train/, test/ or ground_truth/ folders"))
            continue
        if folder == "train" and class_name != _GOOD:
            skipped.append((str(path), "train/ may only hold good/; defective images belong under test/"))
            continue
        defective = class_name != _GOOD
        images.append(
            PlannedImage(
                path=path,
                label=DEFECTIVE if defective else NORMAL,
                split=_SPLIT_FOLDERS[folder],
                defect_type=class_name if defective else "",
            )
        )
    planned: list[PlannedImage] = []
    used_masks = set()
    for image in images:
        key = (image.defect_type, image.path.stem)
        if image.split == TEST and image.defect_type and key in masks:
            used_masks.add(key)
            image = PlannedImage(image.path, image.label, image.split, image.defect_type, masks[key])
        planned.append(image)
    for key, mask_path in masks.items():
        if key not in used_masks:
            skipped.append((str(mask_path), "mask has no matching image under test/"))
    return LayoutPlan(images=planned, skipped=skipped, defect_types_path=defect_types_path)
