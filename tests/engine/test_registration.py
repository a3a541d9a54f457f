import glob
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from inspection.engine.errors import RegistrationError, TrainingCancelled
from inspection.engine.registration.alignment import Registrar, RegistrationResult

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
HEIGHT, WIDTH = 180, 240
INNER = (25, 25, 190, 130)  # stays inside the frame under the test motions


def _scene(seed, channels=3):
    """A part-like picture: random rectangles and discs, slightly smoothed."""
    rng = np.random.default_rng(seed)
    canvas = np.full((HEIGHT, WIDTH, 3), 0.45, np.float32)
    for _ in range(30):
        colour = tuple(float(value) for value in rng.uniform(0, 1, 3))
        x, y = int(rng.integers(10, WIDTH - 30)), int(rng.integers(10, HEIGHT - 30))
        if rng.random() < 0.5:
            cv2.rectangle(canvas, (x, y), (x + int(rng.integers(6, 30)), y + int(rng.integers(6, 30))), colour, -1)
        else:
            cv2.circle(canvas, (x, y), int(rng.integers(3, 14)), colour, -1)
    canvas = cv2.GaussianBlur(canvas, (3, 3), 0)
    if channels == 1:
        return cv2.cvtColor(canvas, cv2.COLOR_RGB2GRAY)[:, :, None]
    return canvas


def _moved(image, angle_degrees, shift):
    matrix = cv2.getRotationMatrix2D((WIDTH / 2, HEIGHT / 2), angle_degrees, 1.0)
    matrix[:, 2] += shift
    moved = cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), borderMode=cv2.BORDER_REFLECT)
    return (moved[:, :, None] if moved.ndim == 2 else moved), matrix


def _angle(matrix):
    return np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0]))


@pytest.mark.parametrize("method", ["ecc", "orb", "orb+ecc"])
def test_known_shift_and_rotation_is_recovered(method):
    reference = _scene(0)
    moved, truth = _moved(reference, 4.0, (7.0, -5.0))
    registrar = Registrar(method=method, working_side=240, roi=INNER).fit(reference)
    result = registrar.register(moved)
    assert isinstance(result, RegistrationResult)
    assert result.accepted, result.reason
    assert result.reason == ""
    assert abs(_angle(result.matrix) - _angle(truth)) < 0.3
    centre = np.array([WIDTH / 2 + 20, HEIGHT / 2 - 10, 1.0])
    assert np.linalg.norm(result.matrix @ centre - truth @ centre) < 1.0
    assert result.quality > 0.95
    x, y, width, height = INNER
    assert result.image.shape == (height, width, 3) and result.image.dtype == np.float32
    assert np.abs(result.image - reference[y : y + height, x : x + width]).mean() < 0.03


def test_default_method_recovers_a_large_rotation_when_any_rotation_is_allowed():
    reference = _scene(1)
    moved, truth = _moved(reference, 35.0, (12.0, 8.0))
    result = Registrar(working_side=240, roi=(70, 50, 100, 80), max_rotation="any").fit(reference).register(moved)
    assert result.accepted, result.reason
    assert abs(_angle(result.matrix) - _angle(truth)) < 0.5


def test_a_rotation_beyond_the_products_bound_is_refused_with_the_bound_in_the_reason():
    reference = _scene(1)
    moved, _ = _moved(reference, 35.0, (12.0, 8.0))
    result = Registrar(working_side=240, roi=(70, 50, 100, 80), max_rotation=20).fit(reference).register(moved)
    assert not result.accepted and result.image is None
    assert "rotation of 3" in result.reason and "largest rotation of 20°" in result.reason


def test_unrelated_image_is_rejected_and_not_returned():
    registrar = Registrar().fit(_scene(2))
    result = registrar.register(_scene(3))
    assert not result.accepted
    assert result.image is None
    assert "reference" in result.reason or "features" in result.reason
    assert result.matrix.shape == (2, 3)


def test_part_moved_out_of_the_region_of_interest_is_rejected_for_coverage():
    reference = _scene(4)
    registrar = Registrar(method="orb", roi=(20, 20, 200, 140), min_coverage=0.95).fit(reference)
    moved, _ = _moved(reference, 0.0, (70.0, 0.0))
    moved[:, :70] = 0.45  # the shifted-in strip shows nothing of the part
    result = registrar.register(moved)
    assert not result.accepted and result.image is None
    assert "only 75%" in result.reason and "inside the picture (at least 95% needed" in result.reason


def test_pixels_moved_in_from_outside_the_picture_are_filled_and_marked_invalid_not_refused():
    reference = _scene(4)
    registrar = Registrar(method="ecc", roi=(20, 20, 200, 140)).fit(reference)
    moved, _ = _moved(reference, 0.0, (40.0, 0.0))
    result = registrar.register(moved)
    assert result.accepted, result.reason
    # The region's right 20 columns lie beyond the picture's right edge once
    # the part moved 40 px right: they hold the reference's pixels and are
    # marked invalid; the rest is the picture.
    invalid_columns = np.flatnonzero(~result.valid_mask.all(axis=0))
    assert 18 <= len(invalid_columns) <= 22 and invalid_columns.min() >= 177
    assert np.all(result.valid_mask[:, :177])
    np.testing.assert_allclose(result.image[~result.valid_mask], reference[20:160, 20:220][~result.valid_mask])
    assert 0.88 < result.coverage < 0.92
    assert result.quality > 0.95


def test_refusal_messages_never_round_the_figure_onto_the_limit():
    from inspection.engine.registration.motion import shown_apart

    assert shown_apart(0.944, 0.95, percent=True) == ("94%", "95%")
    assert shown_apart(0.9496, 0.95, percent=True) == ("94.96%", "95.00%")
    assert shown_apart(0.5996, 0.60) == ("0.5996", "0.6000")
    assert shown_apart(0.12, 0.60) == ("0.12", "0.60")


def test_region_of_interest_crops_the_aligned_image():
    reference = _scene(5)
    roi = (30, 20, 150, 100)
    moved, _ = _moved(reference, -3.0, (-4.0, 6.0))
    registrar = Registrar(method="ecc", roi=roi).fit(reference)
    assert registrar.output_shape_ == (100, 150, 3)
    result = registrar.register(moved)
    assert result.accepted, result.reason
    assert result.image.shape == (100, 150, 3)
    assert np.abs(result.image - reference[20:120, 30:180]).mean() < 0.03


def test_region_of_interest_outside_the_reference_is_refused():
    with pytest.raises(RegistrationError, match="does not fit"):
        Registrar(roi=(200, 0, 100, 50)).fit(_scene(6))


def test_grey_image_is_matched_to_a_colour_reference_and_vice_versa():
    colour = _scene(7)
    grey = cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)[:, :, None]
    result = Registrar(method="ecc").fit(colour).register(grey)
    assert result.accepted and result.image.shape == (HEIGHT, WIDTH, 3)
    result = Registrar(method="ecc").fit(grey).register(colour)
    assert result.accepted and result.image.shape == (HEIGHT, WIDTH, 1)
    assert np.abs(result.image - grey).mean() < 0.01


def test_different_input_size_is_resized_to_the_reference_first():
    reference = _scene(8)
    larger = cv2.resize(reference, (WIDTH * 2, HEIGHT * 2), interpolation=cv2.INTER_LINEAR)
    result = Registrar(method="ecc").fit(reference).register(larger)
    assert result.accepted, result.reason
    assert result.image.shape == reference.shape
    np.testing.assert_allclose(result.matrix, np.eye(2, 3), atol=0.05)


def test_method_none_only_resizes_and_crops_and_never_rejects():
    reference = _scene(9, channels=1)
    other = cv2.resize(_scene(10, channels=1), (300, 150))[:, :, None]
    registrar = Registrar(method="none", roi=(10, 10, 100, 80)).fit(reference)
    result = registrar.register(other)
    assert result.accepted
    np.testing.assert_array_equal(result.matrix, np.eye(2, 3))
    expected = cv2.resize(other, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)[10:90, 10:110]
    np.testing.assert_allclose(result.image[:, :, 0], expected, atol=1e-5)


def test_register_many_reports_progress_and_can_be_cancelled():
    reference = _scene(11)
    registrar = Registrar(method="ecc").fit(reference)
    events = []
    results = registrar.register_many([reference, reference, reference], progress=events.append)
    assert len(results) == 3 and all(result.accepted for result in results)
    assert [event.stage for event in events] == ["register"] * 3
    assert events[-1].fraction == pytest.approx(1.0)
    with pytest.raises(TrainingCancelled):
        registrar.register_many([reference] * 5, progress=lambda event: event.fraction > 0.3)


def test_config_round_trip_rebuilds_the_same_registrar():
    reference = _scene(12)
    registrar = Registrar(method="ecc", roi=(5, 5, 200, 150), min_quality=0.7).fit(reference)
    config = registrar.get_config()
    import json

    restored = Registrar.from_config(json.loads(json.dumps(config)), reference)
    moved, _ = _moved(reference, 2.0, (3.0, 1.0))
    np.testing.assert_array_equal(registrar.register(moved).image, restored.register(moved).image)
    with pytest.raises(RegistrationError, match="shape"):
        Registrar.from_config(config, reference[:100])


def test_unfitted_registrar_says_what_to_do():
    with pytest.raises(RegistrationError, match="fit"):
        Registrar().register(_scene(13))


@pytest.mark.slow
def test_circuitboard_photos_register_with_high_quality():
    root = DATASETS / "circuitboard"
    if not root.is_dir():
        pytest.skip(f"real data set not available at {root}")
    from inspection.engine.data.imageio import load_image

    paths = sorted(glob.glob(str(root / "train" / "good" / "*.jpg")))
    reference = load_image(paths[0])
    registrar = Registrar(roi=(266, 207, 467, 248)).fit(reference)
    good = sorted(glob.glob(str(root / "test" / "good" / "*.jpg")))[:10] + paths[1:6]
    images = [load_image(path) for path in good]
    started = time.perf_counter()
    results = registrar.register_many(images)
    per_image = (time.perf_counter() - started) / len(images)
    assert all(result.accepted for result in results), [result.reason for result in results]
    assert np.mean([result.quality for result in results]) > 0.8
    assert per_image < 0.5
    # A magnetic tile has nothing in common with the board.
    tiles = sorted(glob.glob(str(DATASETS / "magnetic_tile" / "train" / "good" / "*.jpg")))[:1]
    if tiles:
        assert not registrar.register(load_image(tiles[0])).accepted


def test_keeping_the_identity_never_costs_a_picture_a_small_allowed_warp_would_save():
    reference = _scene(14)
    moved, _ = _moved(reference, 0.0, (1.5, -1.0))
    registrar = Registrar(method="ecc", roi=INNER).fit(reference)
    identity_only = Registrar(method="none", roi=INNER, min_quality=0.0).fit(reference).register(moved)
    aligned = registrar.register(moved)
    # Set the minimum between the identity's similarity and the aligned one,
    # with an identity margin so wide that the gain alone would not count.
    minimum = (identity_only.quality + aligned.quality) / 2
    strict = Registrar(method="ecc", roi=INNER, min_quality=minimum, identity_margin=1.0).fit(reference)
    result = strict.register(moved)
    assert result.accepted, result.reason
    assert result.quality >= minimum and not np.allclose(result.matrix, np.eye(2, 3))
