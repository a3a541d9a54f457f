import json

import numpy as np
import pytest

from inspection.engine.bundle import load_bundle, save_bundle
from inspection.engine.detector import MethodState
from inspection.engine.errors import ImageError, TrainingDataError
from inspection.engine.methods import create_method
from inspection.engine.methods.nearest_image import NearestImageDetector
from tests.synthetic_images import synthetic_parts, with_planted_blob

TRAIN = synthetic_parts(16, seed=0, channels=3)
NORMAL_TEST = synthetic_parts(8, seed=1, channels=3)
DEFECTIVE, DEFECT_MASK = with_planted_blob(synthetic_parts(1, seed=2, channels=3)[0])


@pytest.fixture(scope="module")
def fitted():
    return NearestImageDetector(working_side=None).fit(TRAIN)


def test_the_registry_name_nearest_image_and_its_former_name_nn_build_this_detector():
    for name in ("nearest-image", "nn"):
        detector = create_method(name, working_side=64)
        assert isinstance(detector, NearestImageDetector) and detector.name == "nearest-image"


def test_a_bundle_stored_under_the_former_name_nn_loads_as_nearest_image(fitted, tmp_path):
    path = save_bundle(tmp_path / "model", detector=fitted, image_shape=TRAIN[0].shape)
    manifest_path = path / "bundle.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["method"] == "nearest-image"
    manifest_path.write_text(json.dumps({**manifest, "method": "nn"}))
    loaded = load_bundle(path).detector
    assert isinstance(loaded, NearestImageDetector) and loaded.name == "nearest-image"
    np.testing.assert_array_equal(loaded.score(NORMAL_TEST), fitted.score(NORMAL_TEST))


@pytest.mark.parametrize("working_side", [None, 32])
def test_a_planted_defect_scores_above_every_normal_image(working_side):
    detector = NearestImageDetector(working_side=working_side).fit(TRAIN)
    scores = detector.score(NORMAL_TEST + [DEFECTIVE])
    assert scores[-1] > scores[:-1].max()
    assert scores[-1] > detector.training_scores_.max()


@pytest.mark.parametrize("working_side", [None, 32])
def test_the_anomaly_map_peaks_inside_the_defect(working_side):
    detector = NearestImageDetector(working_side=working_side).fit(TRAIN)
    anomaly_map = detector.anomaly_maps([DEFECTIVE])[0]
    assert anomaly_map.shape == (64, 64) and anomaly_map.dtype == np.float32
    assert DEFECT_MASK[np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)]


def test_the_score_is_the_rms_difference_to_the_nearest_training_image(fitted):
    query = NORMAL_TEST[0]
    distances = [np.sqrt(np.mean((query - image) ** 2, dtype=np.float64)) for image in TRAIN]
    assert fitted.nearest_training_index([query])[0] == int(np.argmin(distances))
    assert fitted.score([query])[0] == pytest.approx(min(distances), rel=1e-5)


def test_an_exact_copy_of_a_training_image_finds_it_at_distance_zero(fitted):
    assert fitted.nearest_training_index([TRAIN[5]])[0] == 5
    assert fitted.score([TRAIN[5]])[0] == pytest.approx(0.0, abs=1e-6)


def test_training_scores_are_leave_one_out(fitted):
    for held_out in (0, 9):
        others = [image for index, image in enumerate(TRAIN) if index != held_out]
        expected = min(np.sqrt(np.mean((TRAIN[held_out] - image) ** 2, dtype=np.float64)) for image in others)
        assert fitted.training_scores_[held_out] == pytest.approx(expected, rel=1e-5)
    assert np.all(fitted.training_nearest_ != np.arange(len(TRAIN)))


def test_explain_gives_score_map_and_nearest_image_in_one_pass(fitted):
    explanation = fitted.explain([DEFECTIVE, NORMAL_TEST[1]])
    np.testing.assert_allclose(explanation.scores, fitted.score([DEFECTIVE, NORMAL_TEST[1]]))
    np.testing.assert_array_equal(
        explanation.nearest_indices, fitted.nearest_training_index([DEFECTIVE, NORMAL_TEST[1]])
    )
    assert explanation.maps.shape == (2, 64, 64)


def test_working_side_shrinks_the_stored_images_keeping_the_aspect_ratio():
    wide = [np.zeros((40, 80, 3), dtype=np.float32) + 0.1 * index for index in range(3)]
    detector = NearestImageDetector(working_side=20).fit(wide)
    assert detector.training_images_.shape == (3, 10, 20, 3)
    assert detector.anomaly_maps([wide[0]]).shape == (1, 40, 80)


def test_state_round_trip_gives_identical_scores():
    detector = NearestImageDetector(working_side=32).fit(TRAIN)
    state = detector.get_state()
    assert all(isinstance(array, np.ndarray) for array in state.arrays.values())
    restored = NearestImageDetector.from_state(MethodState(config=state.config, arrays=dict(state.arrays)))
    queries = NORMAL_TEST + [DEFECTIVE]
    np.testing.assert_array_equal(restored.score(queries), detector.score(queries))
    np.testing.assert_array_equal(restored.nearest_training_index(queries), detector.nearest_training_index(queries))


def test_training_needs_two_images_and_scoring_needs_the_trained_shape(fitted):
    with pytest.raises(TrainingDataError):
        NearestImageDetector().fit(TRAIN[:1])
    with pytest.raises(ImageError, match="trained shape"):
        fitted.score([np.zeros((64, 64, 1), dtype=np.float32)])
