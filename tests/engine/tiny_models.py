"""Settings that make every method train in seconds on the tiny parts of tests/synthetic_images.py (96 x 96 grey)."""

TINY_AUTOENCODER = dict(
    downsize_factor=1,
    patch_size=16,
    stride=8,
    latent_dim=16,
    filters=[8, 16],
    dense_units=32,
    epochs=2,
    batch_size=32,
    seed=5,
)
TINY_METHODS = {
    # float32: bfloat16 models cannot be exported (ONNX Runtime has no bfloat16 convolutions on CPUs).
    "cpcae-knn": dict(
        backbone="efficientnet-lite0", weights="random", n_neighbors=2, precision="float32", **TINY_AUTOENCODER
    ),
    "ae-l2": dict(TINY_AUTOENCODER),
    "deep-feature": dict(backbone="efficientnet-lite0", weights="random", n_neighbors=3),
    "variation": {},
    "nearest-image": dict(working_side=48),
    # 96-pixel parts seen at 96 and, by the finer pass, at 128 pixels: both passes are used.
    "patch-knn": dict(
        backbone="efficientnet-lite0",
        weights="random",
        input_side=None,
        fine_input_side=128,
        min_bank=64,
        max_bank=256,
        batch_size=4,
    ),
}
