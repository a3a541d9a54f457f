"""The similarity minimum and motion bounds a product's own good pictures set."""

import numpy as np

from inspection.engine.registration.calibration import bounds_from_spread, calibrated_min_quality


def test_a_textured_products_weak_similarities_give_a_minimum_below_all_of_them():
    similarities = np.random.default_rng(0).uniform(0.01, 0.17, 200)
    assert calibrated_min_quality(similarities) < 0.01


def test_a_well_aligned_products_minimum_sits_a_margin_below_its_worst_good_pictures():
    similarities = np.random.default_rng(1).uniform(0.74, 0.9, 100)
    minimum = calibrated_min_quality(similarities)
    assert 0.55 < minimum < 0.74 - 0.05


def test_one_mislabelled_picture_does_not_lower_the_minimum_to_let_everything_through():
    similarities = list(np.random.default_rng(2).uniform(0.9, 0.99, 30)) + [0.02]
    assert calibrated_min_quality(similarities) > 0.7


def test_bounds_follow_the_spread_with_a_margin_and_never_exceed_the_configured_ones():
    motions = [{"rotation": angle, "shift_x": 4.0, "shift_y": -3.0, "scale": 1.0} for angle in (-8.0, 2.0, 6.0)]
    bounds = bounds_from_spread(
        motions, frame_side=100.0, ceiling={"max_rotation": "any", "max_shift": 0.5, "max_scale_change": 0.1}
    )
    assert bounds["max_rotation"] == 13.0 and bounds["max_scale_change"] == 0.02
    assert abs(bounds["max_shift"] - (0.05 * 1.25 + 0.03)) < 0.001
    tight = bounds_from_spread(
        motions, frame_side=100.0, ceiling={"max_rotation": 5, "max_shift": 0.05, "max_scale_change": 0.0}
    )
    assert tight == {"max_rotation": 5.0, "max_shift": 0.05, "max_scale_change": 0.0}


def test_the_suggested_region_of_interest_is_the_part_with_a_margin_not_the_frame():
    from inspection.engine.registration.region import suggest_roi
    from tests.synthetic_images import SIDE, radial_part, texture_surface

    x, y, width, height = suggest_roi(radial_part(centre=(80, 110), radius=40))
    # The disc spans 40..120 x 70..150; the margin is 4 % of 192 px, about 8 px.
    assert 28 <= x <= 40 and 58 <= y <= 70 and 120 <= x + width <= 132 and 150 <= y + height <= 162
    assert suggest_roi(texture_surface(seed=3)) == (0, 0, SIDE, SIDE)


def test_without_training_pictures_auto_says_it_has_not_chosen_and_keeps_the_general_limits():
    from inspection.engine.registration.auto import fit_registration
    from tests.synthetic_images import radial_part

    registrar, report = fit_registration(radial_part(seed=0), [])
    assert report["chosen"] == registrar.method == "orb+ecc" and "no good training pictures" in report["why"]
    assert registrar.min_quality == "auto" and "too few to calibrate" in report["min_quality_source"]
    assert registrar.register(radial_part(seed=1)).accepted


def test_anomaly_maps_are_zero_where_pixels_came_from_outside_the_picture():
    from inspection.engine.registration.result import without_outside_pixels

    valid = np.ones((8, 10), bool)
    valid[:, 7:] = False
    anomaly_map = np.full((8, 10), 0.5, np.float32)
    masked = without_outside_pixels(anomaly_map, valid)
    assert np.all(masked[:, 7:] == 0) and np.all(masked[:, :7] == 0.5) and masked.dtype == np.float32
    # A map at another resolution gets the mask resized to it; a map with channels keeps them.
    assert np.all(without_outside_pixels(np.ones((4, 5, 3), np.float32), valid)[:, 4:] == 0)
    assert without_outside_pixels(anomaly_map, None) is anomaly_map
