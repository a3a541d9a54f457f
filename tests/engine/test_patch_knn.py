import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.errors import EngineError, ImageError, TrainingDataError
from inspection.engine.methods import create_method
from inspection.engine.methods.patch_knn import PatchKNNDetector, greedy_coreset
from tests.synthetic_images import synthetic_parts, with_planted_blob

TRAIN = synthetic_parts(12, seed=0, size=96)
NORMAL_TEST = synthetic_parts(6, seed=1, size=96)
DEFECTIVE, DEFECT_MASK = with_planted_blob(synthetic_parts(1, seed=2, size=96)[0], centre=(42, 57), radius=4)
# Untrained weights, asked for explicitly: tests must not depend on downloaded
# ImageNet files. A random Xception still yields features in which a blob
# stands out (a random EfficientNet-Lite0's activations nearly vanish).
SMALL = dict(backbone="xception", weights="random", input_side=None, batch_size=16, min_bank=256, fine_input_side=None)


@pytest.fixture(scope="module")
def fitted():
    return PatchKNNDetector(**SMALL).fit(TRAIN)


def test_the_registry_name_patch_knn_builds_this_detector():
    assert isinstance(create_method("patch-knn", weights="random"), PatchKNNDetector)


def test_a_planted_defect_scores_above_every_normal_image(fitted):
    scores = fitted.score(NORMAL_TEST + [DEFECTIVE])
    assert scores.shape == (7,)
    assert scores[-1] > scores[:-1].max()


def test_the_anomaly_map_peaks_inside_the_defect(fitted):
    anomaly_map = fitted.anomaly_maps([DEFECTIVE])[0]
    assert anomaly_map.shape == (96, 96) and anomaly_map.dtype == np.float32
    peak = np.unravel_index(np.argmax(anomaly_map), anomaly_map.shape)
    # the map lives on a stride-8 grid: allow most of one patch of slack
    rows, cols = np.nonzero(DEFECT_MASK)
    assert rows.min() - 6 <= peak[0] <= rows.max() + 6 and cols.min() - 6 <= peak[1] <= cols.max() + 6


def test_explain_agrees_with_score_maps_and_nearest_image(fitted):
    images = [DEFECTIVE, NORMAL_TEST[0]]
    explanation = fitted.explain(images)
    np.testing.assert_allclose(explanation.scores, fitted.score(images), rtol=1e-5)
    np.testing.assert_allclose(explanation.maps, fitted.anomaly_maps(images), rtol=1e-5, atol=1e-6)
    nearest = fitted.nearest_training_index(images)
    assert nearest.shape == (2,) and np.all((0 <= nearest) & (nearest < len(TRAIN)))


def test_a_training_image_names_itself_as_the_nearest_normal_image(fitted):
    assert fitted.nearest_training_index([TRAIN[3]])[0] == 3


def test_training_scores_leave_out_each_images_own_bank_entries(fitted):
    assert fitted.training_scores_.shape == (len(TRAIN),)
    assert np.all(fitted.training_scores_ > 0)  # not the trivial zero of a patch to itself
    scored_with_own_entries = fitted.score(TRAIN[:3])
    assert np.all(fitted.training_scores_[:3] >= scored_with_own_entries - 1e-6)


def test_the_memory_bank_respects_its_size_limits(fitted):
    assert fitted.memory_bank_.shape[0] == 256  # 1 % of the candidates is below min_bank
    assert fitted.bank_sources_.shape == (256,)
    capped = PatchKNNDetector(**{**SMALL, "min_bank": 1, "max_bank": 50, "coreset_ratio": 0.5}).fit(TRAIN[:4])
    assert capped.memory_bank_.shape[0] == 50


def test_state_round_trip_gives_identical_scores(fitted):
    state = fitted.get_state()
    assert all(isinstance(array, np.ndarray) for array in state.arrays.values())
    assert state.keras_models == {}
    restored = PatchKNNDetector.from_state(MethodState(config=dict(state.config), arrays=dict(state.arrays)))
    images = NORMAL_TEST[:2] + [DEFECTIVE]
    np.testing.assert_array_equal(restored.score(images), fitted.score(images))
    np.testing.assert_array_equal(restored.training_scores_, fitted.training_scores_)


def test_a_model_refuses_a_backbone_whose_weights_changed(fitted):
    state = fitted.get_state()
    config = dict(state.config, backbone_checksum_=state.config["backbone_checksum_"] * 1.5)
    restored = PatchKNNDetector.from_state(MethodState(config=config, arrays=dict(state.arrays)))
    with pytest.raises(EngineError, match="differ"):
        restored.score([DEFECTIVE])


def test_the_maximum_rule_scores_with_the_highest_map_value():
    detector = PatchKNNDetector(**{**SMALL, "score_top_fraction": 0.0}).fit(TRAIN[:4])
    explanation = detector.explain([DEFECTIVE])
    assert explanation.scores[0] == pytest.approx(float(explanation.maps[0].max()), rel=1e-6)


def test_features_come_from_the_registered_size_shrunk_only_above_input_side():
    assert PatchKNNDetector(**SMALL).fit(TRAIN[:2]).input_shape_ == (96, 96)
    assert PatchKNNDetector(**{**SMALL, "input_side": 80}).fit(TRAIN[:2]).input_shape_ == (80, 80)
    small = [image[:64, :64] for image in TRAIN[:2]]  # below Xception's 71-pixel minimum: enlarged
    assert PatchKNNDetector(**SMALL).fit(small).input_shape_ == (71, 71)


def test_with_enlarge_a_smaller_image_is_enlarged_to_input_side_and_without_it_is_not():
    assert PatchKNNDetector(**{**SMALL, "input_side": 128}).fit(TRAIN[:2]).input_shape_ == (96, 96)
    assert PatchKNNDetector(**{**SMALL, "input_side": 128, "enlarge": True}).fit(TRAIN[:2]).input_shape_ == (128, 128)


def test_greedy_coreset_covers_separated_clusters_that_random_sampling_could_miss():
    rng = np.random.default_rng(0)
    common = rng.normal(0.0, 0.1, size=(2000, 8))
    rare = rng.normal(5.0, 0.1, size=(5, 8))
    chosen = greedy_coreset(np.vstack([common, rare]).astype(np.float32), 10, 0, np.random.default_rng(1))
    assert len(set(chosen.tolist())) == 10
    assert np.any(chosen >= 2000)


def test_training_needs_two_images_and_scoring_needs_the_trained_shape(fitted):
    with pytest.raises(TrainingDataError):
        PatchKNNDetector(**SMALL).fit(TRAIN[:1])
    with pytest.raises(ImageError, match="trained shape"):
        fitted.score([np.zeros((48, 48, 1), dtype=np.float32)])
