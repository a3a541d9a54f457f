"""Recognising the MVTec AD folder layout: labels, splits, defect types and masks from the paths alone."""

from pathlib import PurePosixPath

import pytest

from inspection.errors import InvalidInput
from inspection.lib import mvtec_layout
from inspection.lib.mvtec_layout import mvtec_plan, mvtec_root
from inspection.models import Image


def paths(*names: str) -> list[PurePosixPath]:
    return [PurePosixPath(name) for name in names]


def test_the_labels_and_splits_it_assigns_are_those_the_image_model_accepts():
    assert {mvtec_layout.NORMAL, mvtec_layout.DEFECTIVE} <= set(Image.Label.values)
    assert {mvtec_layout.TRAIN, mvtec_layout.TEST} <= set(Image.Split.values)


def test_each_image_gets_label_split_defect_type_and_its_mask():
    files = paths(
        "zipper/train/good/000.png",
        "zipper/test/good/001.png",
        "zipper/test/broken_teeth/002.png",
        "zipper/ground_truth/broken_teeth/002_mask.png",
        "zipper/defect_types.json",
    )
    root = mvtec_root(files)
    plan = mvtec_plan(files, root)
    assert root == PurePosixPath("zipper")
    assert [
        (str(image.path), image.label, image.split, image.defect_type, str(image.mask_path)) for image in plan.images
    ] == [
        ("zipper/train/good/000.png", "normal", "train", "", "None"),
        ("zipper/test/good/001.png", "normal", "test", "", "None"),
        (
            "zipper/test/broken_teeth/002.png",
            "defective",
            "test",
            "broken_teeth",
            "zipper/ground_truth/broken_teeth/002_mask.png",
        ),
    ]
    assert plan.skipped == [] and plan.defect_types_path == PurePosixPath("zipper/defect_types.json")


def test_files_outside_the_layout_are_skipped_with_the_reason():
    files = paths(
        "train/good/000.png",
        "train/broken/001.png",
        "test/cut/002.png",
        "notes.txt",
        "ground_truth/cut/003_mask.png",
        "ground_truth/cut/002.png",
    )
    plan = mvtec_plan(files, mvtec_root(files))
    assert [str(image.path) for image in plan.images] == ["train/good/000.png", "test/cut/002.png"]
    assert dict(plan.skipped) == {
        "train/broken/001.png": "train/ may only hold good/; defective images belong under test/",
        "notes.txt": "not part of the train/, test/ or ground_truth/ folders",
        "ground_truth/cut/002.png": "a ground-truth mask's name must end in _mask",
        "ground_truth/cut/003_mask.png": "mask has no matching image under test/",
    }


def test_paths_without_the_layout_have_no_root_and_two_data_sets_are_refused():
    assert mvtec_root(paths("a.png", "parts/b.png")) is None
    with pytest.raises(InvalidInput, match="more than one MVTec-style data set"):
        mvtec_root(paths("zipper/train/good/a.png", "screw/train/good/b.png"))
