"""The paper's pipeline (cpcae-knn) and its AE baseline (ae-l2), on tiny parts."""

import numpy as np
import pytest

from inspection.engine.errors import TrainingCancelled
from inspection.engine.methods import create_method
from tests.engine.tiny_models import TINY_AUTOENCODER as BASE_TINY_AUTOENCODER
from tests.synthetic_images import defective_part, part_set

TINY_AUTOENCODER = {**BASE_TINY_AUTOENCODER, "epochs": 6, "seed": 3}


@pytest.fixture(scope="module")
def training_images():
    return part_set(seed=1, n_normal=12)


@pytest.fixture(scope="module")
def test_images():
    rng = np.random.default_rng(99)
    normals = part_set(seed=7, n_normal=5)
    defect, mask = defective_part(rng)
    return normals, defect, mask


@pytest.fixture(scope="module")
def fitted_pipeline(training_images):
    detector = create_method("cpcae-knn", backbone="xception", weights="random", n_neighbors=3, **TINY_AUTOENCODER)
    return detector.fit(training_images)


def test_the_pipeline_scores_a_planted_defect_above_every_normal_part(fitted_pipeline, test_images):
    normals, defect, _ = test_images
    scores = fitted_pipeline.score(normals + [defect])
    assert scores[-1] > scores[:-1].max()


def test_the_pipeline_map_is_brightest_inside_the_defect(fitted_pipeline, test_images):
    _, defect, mask = test_images
    anomaly_map = fitted_pipeline.anomaly_maps([defect])[0]
    assert anomaly_map.shape == mask.shape
    assert anomaly_map[mask].mean() > 3 * anomaly_map[~mask].mean()


def test_training_scores_are_leave_one_out_and_one_per_training_image(fitted_pipeline, training_images):
    assert fitted_pipeline.training_scores_.shape == (len(training_images),)
    assert np.all(fitted_pipeline.training_scores_ > 0)


def test_explain_agrees_with_score_and_names_a_training_image(fitted_pipeline, test_images):
    normals, defect, _ = test_images
    explanation = fitted_pipeline.explain(normals[:2] + [defect])
    np.testing.assert_allclose(explanation.scores, fitted_pipeline.score(normals[:2] + [defect]), rtol=1e-5)
    assert explanation.reconstructions.shape == (3, 96, 96, 1)
    assert explanation.maps.shape == (3, 96, 96)
    assert set(explanation.nearest_indices) <= set(range(12))


def test_the_autoencoder_baseline_ranks_a_planted_defect_above_normal_parts(training_images, test_images):
    normals, defect, _ = test_images
    detector = create_method("ae-l2", **TINY_AUTOENCODER).fit(training_images)
    scores = detector.score(normals + [defect])
    assert scores[-1] > scores[:-1].max()


def test_a_cancel_request_during_training_stops_the_pipeline(training_images):
    detector = create_method("cpcae-knn", weights="random", **TINY_AUTOENCODER)
    with pytest.raises(TrainingCancelled):
        detector.fit(training_images, progress=lambda event: event.stage == "train-cpcae")
    assert not hasattr(detector, "knn_")


def test_unknown_hyper_parameters_are_refused_by_name():
    with pytest.raises(ValueError, match="epochz"):
        create_method("cpcae-knn", epochz=3)
