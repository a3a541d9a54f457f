"""Model bundles: round trip to identical scores, and clear refusals of damaged ones."""

import json

import numpy as np
import pytest

from inspection.engine import BUNDLE_FORMAT_VERSION
from inspection.engine.bundle import load_bundle, save_bundle
from inspection.engine.errors import BundleError
from inspection.engine.methods import create_method
from inspection.engine.registration.alignment import Registrar
from tests.engine.tiny_models import TINY_AUTOENCODER
from tests.synthetic_images import defective_part, part_set


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    training = part_set(seed=2, n_normal=8)
    detector = create_method("cpcae-knn", weights="random", n_neighbors=2, **TINY_AUTOENCODER).fit(training)
    registrar = Registrar(method="none").fit(training[0])
    path = tmp_path_factory.mktemp("bundles") / "model"
    save_bundle(
        path,
        detector=detector,
        image_shape=training[0].shape,
        registration=registrar.get_config(),
        reference=registrar.reference_,
        thresholds={"threshold": 1.5},
        metrics={"image_auroc": 1.0},
    )
    rng = np.random.default_rng(4)
    probe = part_set(seed=11, n_normal=3) + [defective_part(rng)[0]]
    return path, detector, probe


def test_a_bundle_round_trips_to_identical_scores_and_maps(saved):
    path, detector, probe = saved
    bundle = load_bundle(path)
    np.testing.assert_allclose(bundle.detector.score(probe), detector.score(probe), rtol=1e-6)
    np.testing.assert_allclose(bundle.detector.anomaly_maps(probe), detector.anomaly_maps(probe), atol=1e-6)
    np.testing.assert_array_equal(bundle.detector.training_scores_, detector.training_scores_)
    assert bundle.thresholds == {"threshold": 1.5}
    assert bundle.image_shape == (96, 96, 1)


def test_a_loaded_bundle_rebuilds_the_products_registrar(saved):
    path, _, probe = saved
    registrar = load_bundle(path).registrar()
    assert registrar.register(probe[0]).accepted


def test_the_bundle_holds_no_pickle(saved):
    path, _, _ = saved
    with np.load(path / "arrays.npz", allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)


def copy_bundle(source, destination):
    import shutil

    shutil.copytree(source, destination)
    return destination


def test_a_damaged_weights_file_is_refused_naming_the_file(saved, tmp_path):
    path = copy_bundle(saved[0], tmp_path / "damaged")
    weights = path / "cpcae.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="cpcae.weights.h5.*damaged"):
        load_bundle(path)


def test_a_missing_file_is_refused_naming_the_file(saved, tmp_path):
    path = copy_bundle(saved[0], tmp_path / "incomplete")
    (path / "arrays.npz").unlink()
    with pytest.raises(BundleError, match="arrays.npz.*missing"):
        load_bundle(path)


def test_a_bundle_of_another_format_version_is_refused_with_advice(saved, tmp_path):
    path = copy_bundle(saved[0], tmp_path / "old")
    manifest = json.loads((path / "bundle.json").read_text())
    manifest["format_version"] = BUNDLE_FORMAT_VERSION + 1
    (path / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="incompatible.*retrain"):
        load_bundle(path)


def test_a_folder_that_is_not_a_bundle_is_refused(tmp_path):
    with pytest.raises(BundleError, match="bundle.json.*missing"):
        load_bundle(tmp_path)


def test_saving_over_an_existing_bundle_needs_overwrite(saved):
    path, detector, probe = saved
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(path, detector=detector, image_shape=probe[0].shape)
