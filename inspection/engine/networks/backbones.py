"""ImageNet-pretrained convolutional backbones, cut before global pooling.

Two backbones are offered:

``xception``
    Keras's stock Xception (Chollet 2017), the paper's choice; last feature map
    2048 channels at 1/32 of the input size (input at least 71 x 71 pixels).
    20,861,480 parameters.
``efficientnet-lite0``
    EfficientNet-Lite0 as in the TPU reference implementation: EfficientNet-B0
    without squeeze-and-excitation, ReLU6 instead of swish, stem fixed at 32 and
    head at 1280 channels. About 6x cheaper than Xception; last feature map 1280
    channels at 1/32 of the input size. 3,413,024 parameters without the classifier.

Weights come from :mod:`inspection.engine.networks.weights` (offline, checksummed).
``weights="random"`` gives an untrained network and must be asked for
explicitly (tests, benchmarks); a missing ImageNet file raises
WeightsUnavailable instead of silently degrading.

Mid-level features for patch-level methods (:func:`backbone_layer_model`):
``DEFAULT_MID_LEVEL_LAYERS`` names, per backbone, a stride-8 and a stride-16
activation that include their residual connection:

* xception: ``block4_sepconv1_act`` (256 ch, 1/8) and ``block13_sepconv1_act``
  (728 ch, 1/16, the ReLU of the middle-flow output);
* efficientnet-lite0: ``block3b_add`` (40 ch, 1/8) and ``block5c_add`` (112 ch, 1/16).

Backbones are built once per process and shared (they are only used for
inference); callers must not train or modify them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from . import weights as weight_store

BACKBONE_NAMES = weight_store.BACKBONE_NAMES
WEIGHT_CHOICES = ("imagenet", "random")

LAST_FEATURE_CHANNELS = {"xception": 2048, "efficientnet-lite0": 1280}
DEFAULT_MID_LEVEL_LAYERS = {
    "xception": ("block4_sepconv1_act", "block13_sepconv1_act"),
    "efficientnet-lite0": ("block3b_add", "block5c_add"),
}
# Smallest input the backbone accepts: Xception's unpadded stem convolutions
# need 71 pixels; EfficientNet pads everywhere but below 32 pixels the last
# feature map would be empty.
MINIMUM_INPUT_SIZE = {"xception": 71, "efficientnet-lite0": 32}

# (repeats, kernel size, first stride, expansion ratio, output channels) per
# stage; the TPU reference's block arguments for EfficientNet-B0/Lite0.
EFFICIENTNET_LITE0_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
_BATCH_NORM_EPSILON = 1e-3  # the TF reference value, which the ported statistics assume

_cache: dict[tuple, object] = {}
_cache_lock = threading.Lock()


# -- public API ----------------------------------------------------------------
def load_backbone(name: str, *, weights: str = "imagenet", weights_dir: str | None = None):
    """The convolutional base of ``name`` (no top), accepting any H x W input.

    The same keras.Model object is returned for the same arguments within a
    process. ``weights_dir`` overrides INSPECTION_WEIGHTS_DIR.
    """
    _check_arguments(name, weights)
    key = ("backbone", name, weights, None if weights_dir is None else str(weights_dir))
    with _cache_lock:
        if key not in _cache:
            model = build_network(name)
            if weights == "imagenet":
                assign_weights(model, weight_store.load_weight_arrays(name, weights_dir=weights_dir))
            model.trainable = False
            _cache[key] = model
        return _cache[key]


def preprocess(images_0_1: np.ndarray, name: str) -> np.ndarray:
    """Map images with values in [0, 1] to what backbone ``name``'s weights expect.

    Both sets of weights come from TensorFlow training pipelines that feed
    roughly [-1, 1]: Xception ``x * 2 - 1`` (Keras "tf" mode); EfficientNet-Lite
    ``(255 x - 127) / 128`` (MEAN_RGB 127, STDDEV_RGB 128 in the TPU reference).
    """
    images = np.asarray(images_0_1, dtype=np.float32)
    return images * preprocess_scale(name) + preprocess_offset(name)


def preprocessor(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Backbone ``name``'s :func:`preprocess` as a one-argument function."""
    _check_arguments(name, "random")
    return lambda images_0_1: preprocess(images_0_1, name)


def preprocess_scale(name: str) -> float:
    _check_arguments(name, "random")
    return 2.0 if name == "xception" else 255.0 / 128.0


def preprocess_offset(name: str) -> float:
    _check_arguments(name, "random")
    return -1.0 if name == "xception" else -127.0 / 128.0


def backbone_layer_model(
    name: str,
    layer_names: Sequence[str] | None = None,
    weights: str = "imagenet",
    *,
    weights_dir: str | None = None,
):
    """A model from the backbone's input to the named layers' outputs (a list, in order).

    ``layer_names`` defaults to ``DEFAULT_MID_LEVEL_LAYERS[name]``. The layers
    (and their weights) are shared with :func:`load_backbone`'s model.
    """
    import keras

    layer_names = tuple(layer_names or DEFAULT_MID_LEVEL_LAYERS[name])
    backbone = load_backbone(name, weights=weights, weights_dir=weights_dir)
    key = ("layers", name, weights, None if weights_dir is None else str(weights_dir), layer_names)
    with _cache_lock:
        if key not in _cache:
            known = {layer.name for layer in backbone.layers}
            unknown = [layer for layer in layer_names if layer not in known]
            if unknown:
                raise ValueError(f"{name} has no layer(s) {', '.join(unknown)}")
            outputs = [backbone.get_layer(layer).output for layer in layer_names]
            _cache[key] = keras.Model(backbone.input, outputs, name=f"{name}_layers")
        return _cache[key]


# -- plain networks ------------------------------------------------------------------
def build_network(name: str):
    """The untrained architecture of backbone ``name``, input (None, None, 3)."""
    import keras

    if name == "xception":
        return keras.applications.Xception(weights=None, include_top=False, input_shape=(None, None, 3))
    if name == "efficientnet-lite0":
        return build_efficientnet_lite0()
    raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")


def build_efficientnet_lite0(*, include_top: bool = False, classes: int = 1000):
    """EfficientNet-Lite0; ``include_top`` adds global average pooling and a softmax classifier."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(None, None, 3), name="input")
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name="stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_activation")(x)
    channels = 32
    block_names = iter(weight_store.efficientnet_lite0_block_names())
    for repeats, kernel_size, first_stride, expansion, output_channels in EFFICIENTNET_LITE0_STAGES:
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            x = _inverted_residual_block(
                x, next(block_names), channels, output_channels, kernel_size, stride, expansion
            )
            channels = output_channels
    x = layers.Conv2D(1280, 1, use_bias=False, name="top_conv")(x)
    x = layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name="top_bn")(x)
    x = layers.ReLU(6.0, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def _inverted_residual_block(x, name, input_channels, output_channels, kernel_size, stride, expansion):
    from keras import layers

    shortcut = x
    if expansion != 1:
        x = layers.Conv2D(input_channels * expansion, 1, use_bias=False, name=f"{name}_expand_conv")(x)
        x = layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_expand_bn")(x)
        x = layers.ReLU(6.0, name=f"{name}_expand_activation")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same", use_bias=False, name=f"{name}_dwconv")(x)
    x = layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_activation")(x)
    x = layers.Conv2D(output_channels, 1, use_bias=False, name=f"{name}_project_conv")(x)
    x = layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_project_bn")(x)
    if stride == 1 and input_channels == output_channels:
        x = layers.Add(name=f"{name}_add")([x, shortcut])
    return x


def assign_weights(model, arrays: dict[str, np.ndarray]) -> None:
    """Set every variable of ``model`` from ``arrays`` (keyed as weights.canonical_variable_keys), strictly.

    Missing, extra or mis-shaped arrays are errors: a partial assignment would
    leave random layers inside a "pretrained" network without anybody noticing.
    """
    variables = weight_store.canonical_variable_keys(model)
    missing = sorted(set(variables) - set(arrays))
    extra = sorted(set(arrays) - set(variables))
    if missing or extra:
        raise ValueError(
            f"weights do not fit {model.name}: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}"
        )
    for path, variable in variables.items():
        value = arrays[path]
        if tuple(variable.shape) != tuple(value.shape):
            raise ValueError(f"weight {path} has shape {value.shape}, the network expects {tuple(variable.shape)}")
        variable.assign(value)


def _check_arguments(name: str, weights: str) -> None:
    if name not in BACKBONE_NAMES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONE_NAMES)}")
    if weights not in WEIGHT_CHOICES:
        raise ValueError(f"weights must be one of {', '.join(WEIGHT_CHOICES)}, got {weights!r}")
