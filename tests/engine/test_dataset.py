from pathlib import Path

import numpy as np
import pytest

from inspection.engine.data.dataset import list_images, load_mask, load_mvtec_layout
from inspection.engine.data.imageio import save_image
from inspection.engine.errors import ImageError, TrainingDataError

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _write(path, value=0.5, shape=(8, 8)):
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(path, np.full(shape, value, np.float32))


def _layout(root):
    for name in ("img_2.png", "img_10.png", "img_1.png"):
        _write(root / "train" / "good" / name)
    (root / "train" / "good" / "notes.txt").write_text("not an image")
    (root / "train" / "good" / ".hidden.png").write_bytes(b"")
    _write(root / "test" / "good" / "a.png")
    _write(root / "test" / "scratch" / "s1.png")
    _write(root / "test" / "scratch" / "s2.png")
    _write(root / "test" / "bubble" / "b1.jpg")
    mask = np.zeros((8, 8), np.float32)
    mask[2:5, 3:6] = 1.0
    save_image(_mkdir(root / "ground_truth" / "scratch") / "s1_mask.png", mask)
    return root


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_layout_is_read_with_labels_defect_kinds_and_masks(tmp_path):
    dataset = load_mvtec_layout(_layout(tmp_path / "part"))
    assert [path.name for path in dataset.train_paths] == ["img_1.png", "img_2.png", "img_10.png"]
    assert [(item.path.name, item.label, item.defect_type) for item in dataset.test_items] == [
        ("a.png", 0, "good"),
        ("b1.jpg", 1, "bubble"),
        ("s1.png", 1, "scratch"),
        ("s2.png", 1, "scratch"),
    ]
    masks = {item.path.name: item.mask_path for item in dataset.test_items}
    assert masks["s1.png"].name == "s1_mask.png"
    assert masks["s2.png"] is None and masks["a.png"] is None
    assert dataset.defect_types == ["bubble", "scratch"]
    np.testing.assert_array_equal(dataset.test_labels, [0, 1, 1, 1])


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(TrainingDataError, match="not found"):
        load_mvtec_layout(tmp_path / "absent")


def test_folder_without_train_good_is_refused(tmp_path):
    _write(tmp_path / "images" / "a.png")
    with pytest.raises(TrainingDataError, match="train/good"):
        load_mvtec_layout(tmp_path)


def test_train_good_without_images_is_refused(tmp_path):
    folder = _mkdir(tmp_path / "train" / "good")
    (folder / "readme.txt").write_text("nothing here")
    with pytest.raises(TrainingDataError, match="no images"):
        load_mvtec_layout(tmp_path)


def test_set_without_test_folder_has_no_test_items(tmp_path):
    _write(tmp_path / "train" / "good" / "a.png")
    dataset = load_mvtec_layout(tmp_path)
    assert len(dataset.train_paths) == 1 and dataset.test_items == []


def test_mask_is_binary_and_resized_with_nearest_neighbour(tmp_path):
    dataset = load_mvtec_layout(_layout(tmp_path))
    path = next(item.mask_path for item in dataset.test_items if item.mask_path)
    mask = load_mask(path, (8, 8))
    assert mask.dtype == bool and mask.sum() == 9 and mask[3, 4]
    larger = load_mask(path, (16, 16, 3))
    assert larger.shape == (16, 16) and larger.sum() == 36
    assert set(np.unique(larger)) == {False, True}


def test_missing_mask_file_raises_an_image_error(tmp_path):
    with pytest.raises(ImageError):
        load_mask(tmp_path / "nope_mask.png", (8, 8))


def test_list_images_of_a_missing_folder_is_empty(tmp_path):
    assert list_images(tmp_path / "nothing") == []


def test_real_magnetic_tile_layout_is_read():
    root = DATASETS / "magnetic_tile"
    if not root.is_dir():
        pytest.skip(f"real data set not available at {root}")
    dataset = load_mvtec_layout(root)
    assert len(dataset.train_paths) == 714
    assert dataset.defect_types == ["blowhole", "break", "crack", "fray", "uneven"]
    defective = [item for item in dataset.test_items if item.label == 1]
    assert len(defective) == 392 and all(item.mask_path is not None for item in defective)
