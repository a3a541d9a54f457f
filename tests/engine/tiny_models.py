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
    # float32 whatever the CPU; the bfloat16 variants are asked for where tests need them (BFLOAT16_METHODS).
    "cpcae-knn": dict(
        backbone="efficientnet-lite0", weights="random", n_neighbors=2, precision="float32", **TINY_AUTOENCODER
    ),
    "ae-l2": dict(TINY_AUTOENCODER),
    "deep-feature": dict(backbone="efficientnet-lite0", weights="random", n_neighbors=3, precision="float32"),
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
        precision="float32",
    ),
}
# Methods with a precision setting (their backbone can run in bfloat16).
BFLOAT16_METHODS = ("cpcae-knn", "deep-feature", "patch-knn")
