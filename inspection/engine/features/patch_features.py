"""Building blocks of ``patch-knn``: patch features of a backbone, coreset selection, input sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..progress import ProgressEvent, report


class PatchFeatureExtractor:
    """Backbone layers -> 3 x 3 average -> common stride-8 grid -> concatenated features."""

    def __init__(self, backbone: str, weights: str, layers: Sequence[str] | None, precision: str = "float32"):
        """``precision``: "float32", or "bfloat16" to run the backbone in it (features come out in float32)."""
        import tensorflow as tf

        from ..networks import backbones
        from ..networks.precision import USED_PRECISIONS, bfloat16_copy, checked_precision

        self.backbone = backbone
        self.precision = checked_precision(precision, USED_PRECISIONS)
        # The float32 model, whose weights the bfloat16 copy shares (its checksum identifies the backbone).
        self.model = backbones.backbone_layer_model(backbone, tuple(layers) if layers else None, weights)
        scale, offset = backbones.preprocess_scale(backbone), backbones.preprocess_offset(backbone)
        model = bfloat16_copy(self.model) if precision == "bfloat16" else self.model

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)], reduce_retracing=True)
        def extract(images_0_1):
            outputs = model(images_0_1 * scale + offset, training=False)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            outputs = [tf.cast(output, tf.float32) for output in outputs]
            # "SAME" average pooling in TensorFlow leaves padding out of the mean,
            # so border patches are not darkened by zeros.
            pooled = [tf.nn.avg_pool2d(output, 3, 1, "SAME") for output in outputs]
            grid_size = tf.shape(pooled[0])[1:3]
            resized = [pooled[0]] + [tf.image.resize(output, grid_size, method="bilinear") for output in pooled[1:]]
            return tf.concat(resized, axis=-1)

        self._extract = extract

    def __call__(self, images_0_1: np.ndarray) -> np.ndarray:
        return self._extract(images_0_1.astype(np.float32)).numpy()


def greedy_coreset(
    features: np.ndarray, size: int, projection_dim: int, rng: np.random.Generator, *, progress=None
) -> np.ndarray:
    """Indices of ``size`` rows chosen by greedy k-centre selection (farthest point first).

    Each step adds the row farthest from everything chosen so far, so the
    selection covers the whole feature distribution with a bounded radius.
    Distances are computed on a Gaussian random projection when
    ``0 < projection_dim < features.shape[1]``.
    """
    count, dimension = features.shape
    if size >= count:
        return np.arange(count)
    if 0 < projection_dim < dimension:
        projection = rng.normal(size=(dimension, projection_dim)).astype(np.float32) / np.sqrt(projection_dim)
        points = features @ projection
    else:
        points = np.asarray(features, dtype=np.float32)
    points = points - points.mean(axis=0)
    squared_norms = np.einsum("ij,ij->i", points, points)
    nearest_chosen = np.full(count, np.inf, dtype=np.float32)
    chosen = np.empty(size, dtype=np.int64)
    current = int(rng.integers(count))
    report_every = max(1, size // 20)
    for step in range(size):
        chosen[step] = current
        squared = squared_norms - 2.0 * (points @ points[current]) + squared_norms[current]
        np.minimum(nearest_chosen, squared, out=nearest_chosen)
        current = int(np.argmax(nearest_chosen))
        if step % report_every == 0:
            report(progress, ProgressEvent(stage="coreset", fraction=step / size))
    return chosen


def weights_checksum(model) -> float:
    return float(sum(float(np.sum(np.abs(weights), dtype=np.float64)) for weights in model.get_weights()))


def input_shape(
    shape: tuple[int, int, int], input_side: int | None, backbone: str, *, enlarge: bool = False
) -> tuple[int, int]:
    """(height, width) fed to the backbone: longer side at most ``input_side`` (exactly, with
    ``enlarge``), shorter at least the backbone's minimum."""
    from ..networks.backbones import MINIMUM_INPUT_SIZE

    height, width = shape[:2]
    scale = 1.0
    if input_side is not None and (enlarge or max(height, width) > int(input_side)):
        scale = int(input_side) / max(height, width)
    minimum_side = MINIMUM_INPUT_SIZE.get(backbone, 1)
    if min(height, width) * scale < minimum_side:
        scale = minimum_side / min(height, width)
    return (max(1, math.ceil(height * scale - 1e-9)), max(1, math.ceil(width * scale - 1e-9)))
