"""Every method is a scikit-learn estimator: parameters come and go through BaseEstimator."""

import pytest
from sklearn.base import BaseEstimator, clone

from inspection.engine.features.knn import KNNScorer
from inspection.engine.features.map_embedding import AnomalyMapEmbedder
from inspection.engine.methods import METHOD_NAMES, accepted_parameters, create_method
from inspection.engine.networks.cpcae_trainer import CPCAE


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_every_method_reports_exactly_its_constructor_parameters(name):
    detector = create_method(name)
    assert isinstance(detector, BaseEstimator)
    assert set(detector.get_params()) == accepted_parameters(name)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_a_clone_has_the_same_parameters_and_set_params_changes_one(name):
    detector = create_method(name, seed=3) if "seed" in accepted_parameters(name) else create_method(name)
    copy = clone(detector)
    assert copy is not detector and copy.get_params() == detector.get_params()
    parameter = min(accepted_parameters(name))
    copy.set_params(**{parameter: "changed"})
    assert copy.get_params()[parameter] == "changed" and detector.get_params()[parameter] != "changed"


def test_the_pipeline_reports_the_autoencoder_parameters_it_passes_on():
    detector = create_method("cpcae-knn", epochs=3, filters=[8, 16])
    params = detector.get_params()
    assert params["epochs"] == 3 and params["filters"] == [8, 16] and params["latent_dim"] is None
    assert detector._cpcae_parameters() == {"epochs": 3, "filters": [8, 16], "seed": 0}


def test_an_unknown_parameter_is_refused_by_set_params():
    with pytest.raises(ValueError, match="epochz"):
        create_method("cpcae-knn").set_params(epochz=3)


@pytest.mark.parametrize("estimator", [KNNScorer(n_neighbors=3), AnomalyMapEmbedder(grid=3), CPCAE(epochs=2)])
def test_the_building_blocks_are_estimators_too(estimator):
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
