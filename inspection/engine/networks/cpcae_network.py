"""The conditional patch-based convolutional autoencoder network (plain Keras).

This module only builds the network; training, patching and inference live in
:mod:`inspection.engine.networks.cpcae_trainer`.

How Fig. 2 of Saeedi & Giusti (VISAPP 2022) is read here:

* Encoder: Conv2D layers with stride 2 ("convolutional layers with the
  stride", no pooling), one per entry of ``filters``, each halving the patch
  side; ReLU activations; then Flatten.
* The condition, the patch index divided by the number of patches (a scalar in
  [0, 1)), is concatenated to the flattened features, followed by a Dense
  layer and the Dense latent bottleneck of ``latent_dim`` units. The paper
  insists on dense layers in the middle so that the network cannot copy
  spatial detail (and with it defects) straight through.
* The bottleneck carries an L1 activity regulariser with weight ``l1_lambda``
  (eq. 3), making the code sparse; it is ReLU-activated so that L1 drives
  units to exactly zero rather than to small signed values.
* Decoder: the latent code is concatenated with the same condition, then a
  Dense layer, a Dense layer back to the encoder's last feature-map size,
  Reshape, and Conv2DTranspose layers with stride 2 mirroring the encoder; the
  last one outputs ``channels`` maps with a sigmoid, since pixels are in [0, 1].

The figure does not give kernel sizes or layer widths; 3x3 kernels and the
defaults of :class:`~inspection.engine.networks.cpcae_trainer.CPCAE` are this implementation's
choices. The training loss is the mean squared error (the paper's L2, eq. 2)
plus the activity regulariser, which Keras adds to the compiled loss.
"""

from __future__ import annotations

from collections.abc import Sequence

INPUT_NAMES = ("patch", "condition")


def build_cpcae(
    *,
    patch_size: int,
    channels: int,
    latent_dim: int,
    filters: Sequence[int] = (32, 64, 128),
    dense_units: int = 256,
    l1_lambda: float = 1e-5,
):
    """Uncompiled ``keras.Model`` with inputs [patch, condition] and one output.

    ``patch``: (patch_size, patch_size, channels) floats in [0, 1];
    ``condition``: (1,) float, patch index / number of patches.
    """
    import keras
    from keras import layers

    filters = tuple(int(count) for count in filters)
    if not filters:
        raise ValueError("filters must name at least one convolution layer")
    reduction = 2 ** len(filters)
    if patch_size % reduction:
        raise ValueError(
            f"patch_size {patch_size} must be divisible by {reduction} "
            f"(one halving per encoder layer, {len(filters)} layers)"
        )
    bottom_side = patch_size // reduction

    patch = keras.Input((patch_size, patch_size, channels), name=INPUT_NAMES[0])
    condition = keras.Input((1,), name=INPUT_NAMES[1])

    features = patch
    for index, count in enumerate(filters):
        features = layers.Conv2D(count, 3, strides=2, padding="same", activation="relu", name=f"encoder_conv_{index}")(
            features
        )
    features = layers.Flatten(name="encoder_flatten")(features)
    features = layers.Concatenate(name="encoder_condition")([features, condition])
    features = layers.Dense(dense_units, activation="relu", name="encoder_dense")(features)
    latent = layers.Dense(
        latent_dim,
        activation="relu",
        activity_regularizer=keras.regularizers.L1(l1_lambda),
        name="latent",
    )(features)

    decoded = layers.Concatenate(name="decoder_condition")([latent, condition])
    decoded = layers.Dense(dense_units, activation="relu", name="decoder_dense")(decoded)
    decoded = layers.Dense(bottom_side * bottom_side * filters[-1], activation="relu", name="decoder_expand")(decoded)
    decoded = layers.Reshape((bottom_side, bottom_side, filters[-1]), name="decoder_reshape")(decoded)
    for index, count in enumerate(reversed(filters[:-1])):
        decoded = layers.Conv2DTranspose(
            count, 3, strides=2, padding="same", activation="relu", name=f"decoder_deconv_{index}"
        )(decoded)
    output = layers.Conv2DTranspose(
        channels, 3, strides=2, padding="same", activation="sigmoid", name="reconstruction"
    )(decoded)
    return keras.Model(inputs=[patch, condition], outputs=output, name="cpcae")
