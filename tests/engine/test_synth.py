import numpy as np
import pytest

from inspection.engine.data.dataset import load_mask, load_mvtec_layout
from inspection.engine.data.imageio import load_image
from inspection.engine.data.synth import DEFECT_TYPES, SET_DESCRIPTIONS, render_cursor, render_set

SIZE = (128, 128)


def test_render_set_writes_the_mvtec_layout_with_a_mask_per_defect(tmp_path):
    root = render_set(tmp_path / "set2", set_id=2, seed=3, n_train=5, n_test_good=3, n_test_defective=8, size=SIZE)
    dataset = load_mvtec_layout(root)
    assert len(dataset.train_paths) == 5
    assert dataset.defect_types == sorted(DEFECT_TYPES)
    defective = [item for item in dataset.test_items if item.label == 1]
    assert len(defective) == 8 and sum(item.label == 0 for item in dataset.test_items) == 3
    for item in defective:
        assert item.mask_path is not None and item.mask_path.parent.name == item.defect_type
        raw = load_image(item.mask_path)
        assert set(np.unique(np.round(raw * 255))) <= {0.0, 255.0}
        assert load_mask(item.mask_path, SIZE).any()
    image = load_image(dataset.train_paths[0])
    assert image.shape == (128, 128, 3)  # set 2 is a colour set


def test_masks_mark_where_the_defect_changed_the_image():
    for set_id in SET_DESCRIPTIONS:
        for defect in DEFECT_TYPES:
            seed = (7, set_id, DEFECT_TYPES.index(defect))
            clean, empty_mask = render_cursor(set_id, seed=seed, size=SIZE)
            damaged, mask = render_cursor(set_id, seed=seed, defect=defect, size=SIZE)
            assert not empty_mask.any()
            assert 3 <= mask.sum() < 0.05 * mask.size, (set_id, defect)
            difference = np.abs(damaged - clean).max(axis=2)
            inside = difference[mask].mean()
            far_outside = difference[~_dilated(mask, 4)].mean()
            assert inside > 0.03, (set_id, defect, inside)  # visible
            assert inside < 0.6, (set_id, defect, inside)  # but not glaring
            assert far_outside < 0.002, (set_id, defect, far_outside)


def _dilated(mask, radius):
    import cv2

    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def test_rendering_is_deterministic_given_the_seed():
    first, first_mask = render_cursor(4, seed=11, defect="scratch", size=SIZE)
    second, second_mask = render_cursor(4, seed=11, defect="scratch", size=SIZE)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first_mask, second_mask)
    other, _ = render_cursor(4, seed=12, defect="scratch", size=SIZE)
    assert not np.array_equal(first, other)


def test_good_parts_vary_a_little_in_pose_and_lighting():
    images = [render_cursor(1, seed=index, size=SIZE)[0] for index in range(4)]
    differences = [np.abs(images[0] - image).mean() for image in images[1:]]
    assert all(0.005 < difference < 0.15 for difference in differences)


def test_six_distinct_cursor_types_some_grey_some_colour():
    images = {set_id: render_cursor(set_id, seed=0, size=SIZE)[0] for set_id in SET_DESCRIPTIONS}
    channels = {set_id: image.shape[2] for set_id, image in images.items()}
    assert sorted(channels.values()) == [1, 1, 1, 3, 3, 3]
    silhouettes = {set_id: (image.mean(axis=2) > 0.3) for set_id, image in images.items()}
    for first in silhouettes:
        for second in silhouettes:
            if first < second:
                overlap = (silhouettes[first] & silhouettes[second]).sum()
                union = (silhouettes[first] | silhouettes[second]).sum()
                assert overlap / union < 0.95, (first, second)


def test_unknown_set_or_defect_is_refused():
    with pytest.raises(ValueError, match="set_id"):
        render_cursor(7, seed=0)
    with pytest.raises(ValueError, match="defect"):
        render_cursor(1, seed=0, defect="dent")


def test_rectangular_size_is_respected():
    image, mask = render_cursor(5, seed=0, defect="halo", size=(96, 160))
    assert image.shape == (96, 160, 1) and mask.shape == (96, 160)
