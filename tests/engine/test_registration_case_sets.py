"""The registration cases written as data sets, for the benchmark of accuracy per registration mode."""

import numpy as np
import pytest

from inspection.engine.data.dataset import load_mask, load_mvtec_layout
from inspection.engine.data.imageio import load_image
from inspection.engine.data.registration_cases import (
    SIDE,
    case_pictures,
    case_reference,
    radial_part,
    render_case,
)
from inspection.engine.registration.auto import fit_registration


def test_a_case_is_written_in_the_mvtec_layout_with_a_mask_for_every_defective_picture(tmp_path):
    render_case(tmp_path, case="square-edge", n_train=4, n_test_good=3, n_test_defective=4)
    dataset = load_mvtec_layout(tmp_path)
    assert len(dataset.train_paths) == 4
    labels = [item.label for item in dataset.test_items]
    assert labels.count(0) == 3 and labels.count(1) == 4
    for item in dataset.test_items:
        if item.label == 1:
            mask = load_mask(item.mask_path, (SIDE, SIDE))
            picture = load_image(item.path, mode="rgb")
            assert 10 < (mask > 0).sum() < 400 and picture.shape == (SIDE, SIDE, 3)
    # The first training picture is the reference: the part as it sits unmoved.
    first = load_image(dataset.train_paths[0], mode="rgb")
    assert np.abs(first - case_reference("square-edge")).max() < 1 / 255 + 1e-6


def test_a_defect_on_a_round_part_turns_and_moves_with_the_part():
    defect = {"kind": "spot", "at": (30.0, 0.0), "radius": 4}
    _, unmoved = radial_part(defect=defect)
    _, turned = radial_part(centre=(80.0, 110.0), angle=90.0, defect=defect)

    def centroid(mask):
        rows, columns = np.nonzero(mask)
        return columns.mean(), rows.mean()

    assert centroid(unmoved) == pytest.approx((SIDE / 2 + 30, SIDE / 2), abs=0.5)
    # Turned a quarter counter-clockwise on screen: what was right of the centre is now above it.
    assert centroid(turned) == pytest.approx((80.0, 110.0 - 30), abs=0.5)


def test_the_same_seed_gives_the_same_pictures_and_every_defective_picture_has_a_defect_mask():
    first = case_pictures("texture", 3, seed=5, defective=True)
    again = case_pictures("texture", 3, seed=5, defective=True)
    for (picture, mask), (repeat, _) in zip(first, again):
        assert np.array_equal(picture, repeat) and mask.any()


def test_an_unknown_case_is_refused_with_the_names_that_exist():
    with pytest.raises(ValueError, match="round-fixtured"):
        case_pictures("round", 1, seed=0)


@pytest.mark.parametrize("case", ["round-fixtured", "round-anywhere", "texture"])
def test_auto_ends_with_the_settings_of_the_fixed_mode_it_picks(case):
    # The accuracy benchmark relies on it: auto's accuracy is the accuracy of the mode it picked.
    pictures = [picture for picture, _ in case_pictures(case, 10, seed=1)]
    automatic, report = fit_registration(case_reference(case), pictures)
    fixed, _ = fit_registration(case_reference(case), pictures, settings={"method": report["chosen"]})
    assert automatic.get_config() == fixed.get_config()
