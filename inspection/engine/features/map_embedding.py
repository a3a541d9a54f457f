"""Image embeddings of anomaly maps with the paper's pooling (Saeedi & Giusti 2022, Fig. 3).

How Fig. 3 is read
------------------
The text says the new pooling "consists of parallel and cascade poolings along
with concatenation" and yields "three times more features" than the usual global
max pooling on top of the backbone's last feature map F (H' x W' x C). The
figure's exact operators are not in the text, so this module implements:

* branch A (parallel): global max pooling of F              -> C features
* branch B (parallel): global average pooling of F          -> C features
* branch C (cascade):  3 x 3 max pooling, stride 2, 'same' padding, of F,
  followed by global average pooling                         -> C features

concatenated as [A, B, C] -> 3C features (6144 for Xception, 3840 for
EfficientNet-Lite0). Why this reading: A is the paper's baseline, so it must be
kept; a second global pooling in parallel can only be the average; and the
cascade must differ from both, which rules out local max -> global max (equal to
A). Per channel C lies between B and A: the mean of local maxima, i.e. how
widespread strong responses are, which is what separates a small defect
(one strong spot) from texture noise (many weak ones). The other non-degenerate
cascade, local average -> global max, would be a smoothed variant of A.

Regions (``grid``)
------------------
With ``grid`` = g > 1 the same pooling is applied to each cell of a g x g
partition of F (cell boundaries as in adaptive pooling: rows
floor(i H'/g) to ceil((i+1) H'/g), so no cell is empty and neighbouring cells
may share a row or column when H' is not a multiple of g), and the g*g results
are concatenated row by row -> 3C g^2 features. Why: the parts are registered,
so where a residual lies is evidence. Global pooling cannot tell a blob where
good parts always leave one (a flexible lead that sits differently on every
board) from the same blob on a plain area (measured in docs/benchmarks.md).

Inputs
------
The maps are embedded at their full registered resolution, as in the paper
(no downsizing: that is why the richer pooling is needed). Values are fed
as they are through the backbone's image preprocessing, i.e. treated as an
image with intensities in [0, 1]: residual maps are mostly near 0 (dark) with
brighter defects. They are neither clipped nor rescaled per map, because the
absolute magnitude of a residual is the evidence of a defect; maps outside
[0, 1] pass unchanged (the backbone was trained on [0, 1] images, so such
inputs are outside what it has seen). Grey maps (C = 1) are replicated to 3
channels.

Speed
-----
The forward pass (preprocessing, backbone, the three poolings) is one
``tf.function`` with an input signature that leaves batch, height and width
free, traced once per backbone and process and shared by all embedders, so
embedding costs the backbone's forward pass plus a few reductions.
"""

from __future__ import annotations

import threading

import numpy as np
from sklearn.base import BaseEstimator

from ..networks import backbones
from ..networks.precision import USED_PRECISIONS, checked_precision
from ..progress import ProgressCallback, ProgressEvent, report

_compiled: dict[tuple, object] = {}
_compiled_lock = threading.Lock()

# Pixels (batch x height x width) processed per forward pass when batch_size
# is left to the embedder. On a 2-core CPU throughput barely improves with
# batch size, while peak memory grows linearly, so batches stay small:
# 4 maps of 512 x 512, 1 map of 1024 x 1024 or larger.
_AUTO_BATCH_PIXELS = 1024 * 1024
_MAX_AUTO_BATCH = 32


def parallel_cascade_pooling(feature_maps):
    """Fig. 3 pooling of a (n, H', W', C) tensor -> (n, 3C): [global max, global mean, mean of 3x3/2 max]."""
    import tensorflow as tf

    global_max = tf.reduce_max(feature_maps, axis=[1, 2])
    global_mean = tf.reduce_mean(feature_maps, axis=[1, 2])
    local_max = tf.nn.max_pool2d(feature_maps, ksize=3, strides=2, padding="SAME")
    cascade = tf.reduce_mean(local_max, axis=[1, 2])
    return tf.concat([global_max, global_mean, cascade], axis=-1)


def regional_paper_pooling(feature_maps, grid: int):
    """Fig. 3 pooling in each cell of a ``grid`` x ``grid`` partition of (n, H', W', C) -> (n, 3C grid^2).

    Cells run row by row; rows of cell i span floor(i H'/grid) to
    ceil((i+1) H'/grid) (columns alike), so every cell holds at least one
    feature vector even when H' or W' is smaller than ``grid``.
    """
    import tensorflow as tf

    if grid == 1:
        return parallel_cascade_pooling(feature_maps)
    shape = tf.shape(feature_maps)
    height, width = shape[1], shape[2]
    cells = []
    for row in range(grid):
        top, bottom = (row * height) // grid, -((-(row + 1) * height) // grid)
        for column in range(grid):
            left, right = (column * width) // grid, -((-(column + 1) * width) // grid)
            cells.append(parallel_cascade_pooling(feature_maps[:, top:bottom, left:right]))
    return tf.concat(cells, axis=-1)


def checked_grid(grid) -> int:
    if isinstance(grid, bool) or int(grid) != grid or not 1 <= int(grid) <= 8:
        raise ValueError(f"pooling grid must be a whole number from 1 to 8, got {grid!r}")
    return int(grid)


def compiled_forward(
    backbone: str, weights: str, kind: str, weights_dir: str | None = None, *, grid: int = 1, precision: str = "float32"
):
    """A traced function from images in [0, 1] (n, H, W, 3) float32 to outputs of ``kind``.

    ``kind``: "paper-pooling" -> (n, 3C grid^2) embeddings (``grid``: see
    :func:`regional_paper_pooling`); "max-pooling" -> (n, C);
    "features" -> the last feature map; "max-pooling-and-features" ->
    ((n, C) global max, feature map).
    ``precision``: "float32", or "bfloat16" to run the backbone in bfloat16
    (see :mod:`inspection.engine.networks.precision`); outputs are float32 either way.
    Shared per process; traced once (H and W are free in the signature).
    """
    import tensorflow as tf

    if kind not in ("paper-pooling", "max-pooling", "features", "max-pooling-and-features"):
        raise ValueError(f"unknown forward kind {kind!r}")
    grid = checked_grid(grid)
    if grid != 1 and kind != "paper-pooling":
        raise ValueError(f"a pooling grid applies to paper-pooling only, not {kind!r}")
    checked_precision(precision, USED_PRECISIONS)
    key = (backbone, weights, kind, None if weights_dir is None else str(weights_dir), grid, precision)
    with _compiled_lock:
        if key in _compiled:
            return _compiled[key]
        model = backbones.load_backbone(backbone, weights=weights, weights_dir=weights_dir)
        if precision == "bfloat16":
            from ..networks.precision import bfloat16_copy

            model = bfloat16_copy(model)
        scale = backbones.preprocess_scale(backbone)
        offset = backbones.preprocess_offset(backbone)

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)], reduce_retracing=True)
        def forward(images):
            feature_maps = tf.cast(model(images * scale + offset, training=False), tf.float32)
            if kind == "paper-pooling":
                return regional_paper_pooling(feature_maps, grid)
            if kind == "features":
                return feature_maps
            if kind == "max-pooling":
                return tf.reduce_max(feature_maps, axis=[1, 2])
            return tf.reduce_max(feature_maps, axis=[1, 2]), feature_maps

        _compiled[key] = forward
        return forward


def as_three_channel_batch(images: np.ndarray) -> np.ndarray:
    """(n, H, W), (n, H, W, 1) or (n, H, W, 3) -> contiguous float32 (n, H, W, 3)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected maps of shape (n, H, W, 1 or 3), got {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return np.ascontiguousarray(images)


def automatic_batch_size(height: int, width: int) -> int:
    return int(max(1, min(_MAX_AUTO_BATCH, _AUTO_BATCH_PIXELS // max(1, height * width))))


class AnomalyMapEmbedder(BaseEstimator):
    """Embeds anomaly maps with an ImageNet backbone and the paper's pooling (3 x channels x grid^2 features)."""

    def __init__(
        self,
        backbone: str = "xception",
        weights: str = "imagenet",
        batch_size: int | None = None,
        grid: int = 1,
        precision: str = "float32",
    ):
        self.backbone = backbone
        self.weights = weights
        self.batch_size = batch_size
        self.grid = grid
        self.precision = precision

    def fit(self, maps=None) -> AnomalyMapEmbedder:
        """Nothing to learn (the backbone is pretrained); loads the backbone so later calls are quick."""
        compiled_forward(self.backbone, self.weights, "paper-pooling", grid=self.grid, precision=self.precision)
        return self

    @property
    def embedding_size(self) -> int:
        return 3 * backbones.LAST_FEATURE_CHANNELS[self.backbone] * checked_grid(self.grid) ** 2

    def embed(self, maps: np.ndarray, *, progress: ProgressCallback | None = None) -> np.ndarray:
        """(n, H, W, C) maps, C in {1, 3}, values >= 0 (nominally [0, 1]) -> (n, embedding_size) float32."""
        maps = np.asarray(maps)
        if maps.ndim == 3:
            maps = maps[..., None]
        if maps.ndim != 4 or maps.shape[-1] not in (1, 3):
            raise ValueError(f"expected maps of shape (n, H, W, 1 or 3), got {maps.shape}")
        minimum = backbones.MINIMUM_INPUT_SIZE[self.backbone]
        if maps.shape[1] < minimum or maps.shape[2] < minimum:
            raise ValueError(
                f"{self.backbone} needs maps of at least {minimum} x {minimum} pixels, got {maps.shape[1:3]}"
            )
        return run_batched(
            compiled_forward(self.backbone, self.weights, "paper-pooling", grid=self.grid, precision=self.precision),
            maps,
            self.batch_size,
            output_width=self.embedding_size,
            stage="embed",
            progress=progress,
        )


def run_batched(forward, images: np.ndarray, batch_size: int | None, *, output_width: int, stage: str, progress=None):
    """Apply a compiled forward to ``images`` batch by batch, reporting progress; -> (n, output_width)."""
    count, height, width = images.shape[0], images.shape[1], images.shape[2]
    batch = int(batch_size) if batch_size else automatic_batch_size(height, width)
    if batch < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    output = np.empty((count, output_width), dtype=np.float32)
    for start in range(0, count, batch):
        chunk = as_three_channel_batch(images[start : start + batch])
        output[start : start + len(chunk)] = forward(chunk).numpy()
        done = start + len(chunk)
        report(progress, ProgressEvent(stage=stage, fraction=done / count, message=f"{done}/{count} maps"))
    return output
