"""``deep-feature``: pretrained-CNN features and k-NN on the raw image (paper section 4.4).

The paper's comparison method after Perera and Patel (2019): an ImageNet
backbone (Xception by default) runs on the registered *raw* image at its full
resolution, its last feature map is reduced by global max pooling (C
features: 2048 for Xception), the embeddings are standardised (mean removal
and variance scaling learned on the training set) and an image's score is
the mean Euclidean distance to its k = 15 nearest training embeddings. With
fewer than 16 training images k is clamped to n_train - 1 (see
:mod:`inspection.engine.features.knn`). Training scores are leave-one-out.

Anomaly maps are not native to this method (its decision uses one vector per
image). For display, the map is the channel mean of ``|F - mean(F_train)|``:
the absolute deviation of the image's last feature map F from the training
images' mean feature map at the same position, averaged over channels and
bilinearly upsampled from 1/32 of the image size to the image size. It shows
*where* the features depart from normal, coarsely (one value per 32 x 32
pixels); it is not calibrated and is not what the score is computed from.

``precision``: the backbone's number format, as for cpcae-knn ("auto":
bfloat16 where the CPU computes it natively; see
:mod:`inspection.engine.networks.precision`); the one used is kept in
``precision_`` and by every later load. The default is float32, not "auto":
in bfloat16 this method's scores correlated with its float32 scores at only
0.51 (circuitboard), 0.80 (magnetic tiles) and 0.52 (synthetic cursors;
docs/benchmarks.md),
because the distances between good parts' max-pooled features are small
next to bfloat16's rounding.

Backbone weights are not part of the saved state: they are resolved by name
(and checksummed) by :mod:`inspection.engine.networks.weights` when the model is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from ..detector import (
    AnomalyDetector,
    Explanation,
    MethodState,
    check_image_shape,
    check_training_images,
    image_shape,
)
from ..errors import TrainingDataError
from ..features.knn import KNNScorer
from ..features.map_embedding import as_three_channel_batch, automatic_batch_size, compiled_forward
from ..networks import backbones
from ..networks.precision import checked_precision, resolved_precision, stored_precision
from ..progress import ProgressCallback, ProgressEvent, report


class DeepFeatureDetector(AnomalyDetector):
    """Global-max-pooled ImageNet features of the raw image, scored by k-NN (Perera & Patel, 2019)."""

    name = "deep-feature"

    def __init__(
        self,
        *,
        backbone: str = "xception",
        weights: str = "imagenet",
        n_neighbors: int = 15,
        batch_size: int | None = None,
        precision: str = "float32",
    ):
        self.backbone = backbone
        self.weights = weights
        self.n_neighbors = n_neighbors
        self.batch_size = batch_size
        self.precision = checked_precision(precision)

    # -- learning --------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None):
        if self.backbone not in backbones.BACKBONE_NAMES:
            raise ValueError(f"unknown backbone {self.backbone!r}; choose one of {', '.join(backbones.BACKBONE_NAMES)}")
        shape = check_training_images(images, method="the deep-feature method")
        count = len(images)
        minimum = backbones.MINIMUM_INPUT_SIZE[self.backbone]
        if min(shape[:2]) < minimum:
            raise TrainingDataError(
                f"{self.backbone} needs images of at least {minimum} x {minimum} pixels, got {shape[:2]}"
            )
        self.image_shape_ = shape
        self.precision_ = resolved_precision(self.precision)

        embeddings, feature_sum = [], None
        for pooled, feature_maps in self._forward_batches(images, progress, stage="embed"):
            embeddings.append(pooled)
            batch_sum = feature_maps.sum(axis=0, dtype=np.float64)
            feature_sum = batch_sum if feature_sum is None else feature_sum + batch_sum
        self.feature_mean_ = (feature_sum / count).astype(np.float32)
        self.knn_ = KNNScorer(n_neighbors=self.n_neighbors, standardize=True).fit(np.concatenate(embeddings))
        self.training_scores_ = self.knn_.training_scores_
        report(progress, ProgressEvent(stage="fit-knn", fraction=1.0, message=f"k = {self.knn_.n_neighbors_}"))
        return self

    # -- inference ---------------------------------------------------------------
    def score(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> np.ndarray:
        self._check_fitted()
        pooled = [batch for batch, _ in self._forward_batches(images, progress, stage="score", with_maps=False)]
        return self.knn_.score(np.concatenate(pooled))

    def nearest_training_index(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self._check_fitted()
        pooled = [batch for batch, _ in self._forward_batches(images, None, stage="score", with_maps=False)]
        return self.knn_.nearest_indices(np.concatenate(pooled), k=1)[:, 0]

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.explain(images).maps

    def explain(self, images: Sequence[np.ndarray]) -> Explanation:
        self._check_fitted()
        height, width = self.image_shape_[:2]
        pooled, maps = [], np.empty((len(images), height, width), dtype=np.float32)
        done = 0
        for batch_pooled, feature_maps in self._forward_batches(images, None, stage="score"):
            pooled.append(batch_pooled)
            deviation = np.abs(feature_maps - self.feature_mean_).mean(axis=-1)
            for coarse in deviation:
                maps[done] = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)
                done += 1
        embeddings = np.concatenate(pooled)
        return Explanation(
            scores=self.knn_.score(embeddings),
            maps=maps,
            nearest_indices=self.knn_.nearest_indices(embeddings, k=1)[:, 0],
        )

    # -- persistence ---------------------------------------------------------------
    def get_state(self) -> MethodState:
        self._check_fitted()
        knn_config, knn_arrays = self.knn_.get_state()
        return MethodState(
            config={
                "params": self.get_params(),
                "image_shape_": list(self.image_shape_),
                "knn": knn_config,
                "precision_": self.precision_,
            },
            arrays={"feature_mean": self.feature_mean_, **{f"knn_{key}": value for key, value in knn_arrays.items()}},
        )

    @classmethod
    def from_state(cls, state: MethodState) -> DeepFeatureDetector:
        detector = cls(**state.config["params"])
        detector.image_shape_ = tuple(int(side) for side in state.config["image_shape_"])
        detector.precision_ = stored_precision(state.config)  # kept as fitted, on any CPU
        detector.feature_mean_ = np.asarray(state.arrays["feature_mean"], dtype=np.float32)
        knn_arrays = {key[len("knn_") :]: value for key, value in state.arrays.items() if key.startswith("knn_")}
        detector.knn_ = KNNScorer.from_state(state.config["knn"], knn_arrays)
        detector.training_scores_ = detector.knn_.training_scores_
        channels = backbones.LAST_FEATURE_CHANNELS[detector.backbone]
        if detector.feature_mean_.shape[-1] != channels or detector.knn_.n_features_in_ != channels:
            raise ValueError(f"stored deep-feature model does not match the {detector.backbone} backbone")
        return detector

    # -- internals -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "knn_"):
            raise RuntimeError("DeepFeatureDetector is not fitted; call fit() first")

    def _forward_batches(self, images, progress, *, stage: str, with_maps: bool = True):
        """Yield (global-max-pooled (b, C), last feature maps (b, h, w, C) or None) per batch."""
        count = len(images)
        if count == 0:
            return
        expected = getattr(self, "image_shape_", None)
        for index, image in enumerate(images):
            if expected is not None:
                check_image_shape(image, expected, index)
        height, width = image_shape(images[0])[:2]
        batch = int(self.batch_size) if self.batch_size else automatic_batch_size(height, width)
        forward = compiled_forward(
            self.backbone,
            self.weights,
            "max-pooling-and-features" if with_maps else "max-pooling",
            precision=self.precision_,
        )
        for start in range(0, count, batch):
            chunk = as_three_channel_batch(
                np.stack([np.asarray(image, np.float32) for image in images[start : start + batch]])
            )
            if with_maps:
                pooled, feature_maps = forward(chunk)
                yield pooled.numpy(), feature_maps.numpy()
            else:
                yield forward(chunk).numpy(), None
            done = min(count, start + batch)
            report(progress, ProgressEvent(stage=stage, fraction=done / count, message=f"{done}/{count} images"))
