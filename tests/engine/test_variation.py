import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.errors import ImageError, TrainingDataError
from inspection.engine.methods import create_method
from inspection.engine.methods.variation import VariationModelDetector
from tests.synthetic_images import synthetic_parts, with_planted_blob

TRAIN = synthetic_parts(16, seed=0)
NORMAL_TEST = synthetic_parts(8, seed=1)
DEFECTIVE, DEFECT_MASK = with_planted_blob(synthetic_parts(1, seed=2)[0])


@pytest.fixture(scope="module")
def fitted():
    return VariationModelDetector().fit(TRAIN)


def test_the_registry_name_variation_builds_this_detector():
    assert isinstance(create_method("variation"), VariationModelDetector)


def test_a_planted_defect_scores_above_every_normal_image(fitted):
    scores = fitted.score(NORMAL_TEST + [DEFECTIVE])
    assert scores.shape == (9,)
    assert scores[-1] > scores[:-1].max()
    assert scores[-1] > fitted.training_scores_.max()


def test_the_anomaly_map_peaks_inside_the_defect(fitted):
    anomaly_map = fitted.anomaly_maps([DEFECTIVE])[0]
    assert anomaly_map.shape == (64, 64) and anomaly_map.dtype == np.float32
    assert DEFECT_MASK[np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)]


def test_the_score_is_the_mean_square_of_the_map(fitted):
    explanation = fitted.explain(NORMAL_TEST[:2])
    np.testing.assert_allclose(
        explanation.scores, np.mean(explanation.maps.astype(np.float64) ** 2, axis=(1, 2)), rtol=1e-6
    )
    assert explanation.nearest_indices is None


def test_leave_one_out_training_scores_equal_refitting_without_each_image(fitted):
    for held_out in (0, 7, 15):
        others = [image for index, image in enumerate(TRAIN) if index != held_out]
        refitted = VariationModelDetector().fit(others)
        # same floor as the full model so that only the leave-one-out statistics differ
        refitted.std_floor_ = fitted.std_floor_
        expected = refitted.score([TRAIN[held_out]])[0]
        assert fitted.training_scores_[held_out] == pytest.approx(expected, rel=1e-5)


def test_the_standard_deviation_floor_keeps_constant_pixels_finite():
    flat = [np.full((8, 8, 1), 0.5, dtype=np.float32) for _ in range(4)]
    detector = VariationModelDetector(min_std=0.01).fit(flat)
    assert detector.std_floor_ == 0.01
    bumped = flat[0].copy()
    bumped[3, 3] = 0.6
    anomaly_map = detector.anomaly_maps([bumped])[0]
    assert anomaly_map[3, 3] == pytest.approx(10.0, rel=1e-4)
    assert np.all(np.isfinite(detector.training_scores_)) and np.all(detector.training_scores_ == 0)


def test_colour_images_are_compared_on_grey_values():
    colour_train = [np.repeat(image, 3, axis=-1) for image in TRAIN]
    colour = VariationModelDetector().fit(colour_train)
    grey = VariationModelDetector().fit(TRAIN)
    np.testing.assert_allclose(colour.mean_, grey.mean_, atol=1e-5)


def test_state_round_trip_gives_identical_scores(fitted):
    state = fitted.get_state()
    assert all(isinstance(array, np.ndarray) for array in state.arrays.values())
    restored = VariationModelDetector.from_state(MethodState(config=state.config, arrays=dict(state.arrays)))
    np.testing.assert_array_equal(restored.score(NORMAL_TEST + [DEFECTIVE]), fitted.score(NORMAL_TEST + [DEFECTIVE]))
    np.testing.assert_array_equal(restored.training_scores_, fitted.training_scores_)


def test_training_needs_two_images_of_one_shape():
    with pytest.raises(TrainingDataError):
        VariationModelDetector().fit(TRAIN[:1])
    with pytest.raises(TrainingDataError, match="shape"):
        VariationModelDetector().fit([TRAIN[0], np.zeros((32, 32, 1), dtype=np.float32)])


def test_scoring_an_image_of_another_size_is_refused(fitted):
    with pytest.raises(ImageError, match="trained shape"):
        fitted.score([np.zeros((32, 32, 1), dtype=np.float32)])


def test_fit_returns_self_and_keeps_hyper_parameters_unchanged():
    detector = VariationModelDetector(min_std=0.02, std_floor_quantile=0.1)
    assert detector.fit(TRAIN) is detector
    assert detector.get_params() == {"min_std": 0.02, "std_floor_quantile": 0.1}
