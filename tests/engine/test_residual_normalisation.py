"""cpcae-knn's residual normalisation: maps divided by where good parts usually leave residuals."""

import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.methods import create_method
from inspection.engine.methods.cpcae_knn import NORMALISED_MAP_GAIN, CPCAEKNNDetector
from tests.engine.tiny_models import TINY_AUTOENCODER as BASE_TINY_AUTOENCODER
from tests.synthetic_images import defective_part, part_set

TINY_AUTOENCODER = {**BASE_TINY_AUTOENCODER, "epochs": 3, "min_steps_per_epoch": 0, "seed": 3}
TRAINING = part_set(seed=1, n_normal=10)
NORMALS = part_set(seed=7, n_normal=4)
DEFECT, DEFECT_MASK = defective_part(np.random.default_rng(99))


def pipeline(**params):
    return create_method(
        "cpcae-knn", backbone="xception", weights="random", n_neighbors=3, **{**TINY_AUTOENCODER, **params}
    )


@pytest.fixture(scope="module")
def normalised():
    return pipeline().fit(TRAINING)


def test_the_scale_is_the_mean_training_residual_per_pixel_plus_its_overall_mean(normalised):
    residuals = np.abs(np.asarray(TRAINING, dtype=np.float32) - normalised.autoencoder_.reconstruct(TRAINING))
    mean = residuals.mean(axis=0)
    np.testing.assert_allclose(normalised.residual_scale_, mean + mean.mean(), rtol=1e-4, atol=1e-7)


def test_the_embedded_map_is_the_residual_over_that_scale(normalised):
    residual = np.abs(DEFECT - normalised.autoencoder_.reconstruct([DEFECT])[0])
    expected = (residual * NORMALISED_MAP_GAIN / normalised.residual_scale_).mean(axis=-1)
    np.testing.assert_allclose(normalised.anomaly_maps([DEFECT])[0], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(normalised.explain([DEFECT]).maps[0], expected, rtol=1e-5, atol=1e-7)


def test_with_normalisation_a_planted_defect_still_scores_above_every_normal_part(normalised):
    scores = normalised.score(NORMALS + [DEFECT])
    assert scores[-1] > scores[:-1].max()


def stored_state(detector, folder, params=None):
    """The detector's state as loading sees it: weights in a file, optionally other stored parameters."""
    state = detector.get_state()
    weights = {}
    for name, network in state.keras_models.items():
        weights[name] = folder / f"{name}.weights.h5"
        network.save_weights(weights[name])
    config = dict(state.config) if params is None else {**state.config, "params": params}
    return MethodState(config=config, arrays=dict(state.arrays), keras_models=weights)


def test_a_normalised_model_round_trips_to_identical_scores(normalised, tmp_path):
    assert normalised.get_state().arrays["residual_scale"].shape == TRAINING[0].shape
    restored = CPCAEKNNDetector.from_state(stored_state(normalised, tmp_path))
    np.testing.assert_allclose(restored.score(NORMALS + [DEFECT]), normalised.score(NORMALS + [DEFECT]), rtol=1e-5)


def test_a_model_stored_before_normalisation_existed_loads_with_raw_residuals(tmp_path):
    raw = pipeline(residual_normalisation=False).fit(TRAINING[:6])
    assert raw.residual_scale_ is None
    state = raw.get_state()
    assert "residual_scale" not in state.arrays
    old_params = {name: value for name, value in state.config["params"].items() if name != "residual_normalisation"}
    restored = CPCAEKNNDetector.from_state(stored_state(raw, tmp_path, params=old_params))
    assert restored.residual_normalisation is False and restored.residual_scale_ is None
    np.testing.assert_allclose(restored.score([DEFECT]), raw.score([DEFECT]), rtol=1e-5)
    residual = np.abs(DEFECT - raw.autoencoder_.reconstruct([DEFECT])[0]).mean(axis=-1)
    np.testing.assert_allclose(restored.anomaly_maps([DEFECT])[0], residual, rtol=1e-5, atol=1e-7)
