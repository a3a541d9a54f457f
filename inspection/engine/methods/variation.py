"""``variation``: Steger's variation model, the statistical baseline of the paper (section 4.4).

From the grey values of the registered normal training images it learns, per
pixel, the mean and the standard deviation. A test image's anomaly map is the
distance of each pixel's grey value to the pixel mean relative to the pixel
standard deviation, ``|x - mean| / std``; its score is the sum of squares of
the map. We divide that sum by the number of pixels (the mean square), which
ranks images of one product exactly as the plain sum does but keeps scores
comparable across products of different resolution.

Colour images are converted to grey with the ITU-R BT.601 weights (as
OpenCV does); the paper's variation model works on grey values.

Standard-deviation floor: where every training image has the same grey value
(saturated background, a mask painted by registration) the standard deviation
is 0 and the ratio would explode on the slightest noise. Every pixel's
standard deviation is therefore raised to at least ``std_floor_`` = the larger
of ``min_std`` (absolute, on the [0, 1] grey scale: 0.01 is about 2.5 levels
of an 8-bit image, above sensor noise and quantisation) and the
``std_floor_quantile`` quantile of the learned standard deviations (relative:
the floor follows the product's own noise level).

Training scores are exactly leave-one-out: each training image is scored
against the mean and standard deviation of the *other* n - 1 images. Both
follow in closed form from the full-set statistics (the downdate of Welford's
running sums), so the whole set is scored in one vectorised pass without
refitting n times:

    mean_-i   = mean + (mean - x_i) / (n - 1)
    x_i - mean_-i = n / (n - 1) * (x_i - mean)
    M2_-i     = M2 - n / (n - 1) * (x_i - mean)^2,   std_-i = sqrt(M2_-i / (n - 2))

(sample standard deviation, ``ddof=1``, throughout; with only two training
images the other set has one image, so its standard deviation is the floor).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..detector import (
    AnomalyDetector,
    Explanation,
    MethodState,
    check_image_shape,
    check_training_images,
)
from ..progress import ProgressCallback, ProgressEvent, report

# ITU-R BT.601 luma weights, the ones cv2.cvtColor(..., COLOR_RGB2GRAY) uses.
GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Images are processed in chunks so that memory stays at a few images, not the
# whole training set in float64.
CHUNK_SIZE = 16


def grey_image(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 grey version of an (H, W), (H, W, 1) or (H, W, 3) image."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return image @ GREY_WEIGHTS
    raise ValueError(f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {image.shape}")


class VariationModelDetector(AnomalyDetector):
    """Per-pixel mean and standard deviation of normal grey images (Steger et al., 2018)."""

    name = "variation"

    def __init__(self, *, min_std: float = 0.01, std_floor_quantile: float = 0.05):
        self.min_std = min_std
        self.std_floor_quantile = std_floor_quantile

    # -- learning ------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None):
        if not 0.0 <= float(self.std_floor_quantile) <= 1.0:
            raise ValueError(f"std_floor_quantile must be in [0, 1], got {self.std_floor_quantile}")
        if float(self.min_std) <= 0.0:
            raise ValueError(f"min_std must be positive, got {self.min_std}")
        shape = check_training_images(images, method="the variation model")
        count = len(images)

        # Two passes (mean, then squared deviations) rather than sum of squares
        # minus squared sum, which cancels catastrophically for low-variance pixels.
        total = np.zeros(shape[:2], dtype=np.float64)
        for chunk in self._grey_chunks(images):
            total += chunk.sum(axis=0, dtype=np.float64)
        mean = total / count
        squared_deviations = np.zeros_like(mean)
        for chunk in self._grey_chunks(images):
            squared_deviations += np.sum((chunk - mean) ** 2, axis=0)
        report(progress, ProgressEvent(stage="fit-variation", fraction=0.5, message="pixel statistics"))

        std = np.sqrt(squared_deviations / (count - 1))
        self.std_floor_ = float(max(float(self.min_std), float(np.quantile(std, float(self.std_floor_quantile)))))
        self.mean_ = mean.astype(np.float32)
        self.std_ = std.astype(np.float32)
        self.image_shape_ = tuple(int(side) for side in shape)
        self.n_train_ = count
        self.training_scores_ = self._leave_one_out_scores(images, mean, squared_deviations)
        report(progress, ProgressEvent(stage="fit-variation", fraction=1.0, message="leave-one-out scores"))
        return self

    def _leave_one_out_scores(self, images, mean: np.ndarray, squared_deviations: np.ndarray) -> np.ndarray:
        count = self.n_train_
        factor = count / (count - 1)
        scores = []
        for chunk in self._grey_chunks(images):
            deviation = chunk - mean
            if count > 2:
                remaining = np.maximum(squared_deviations - factor * deviation**2, 0.0)
                std_without = np.sqrt(remaining / (count - 2))
            else:
                std_without = np.zeros_like(deviation)
            ratio = factor * np.abs(deviation) / np.maximum(std_without, self.std_floor_)
            scores.append(np.mean(ratio.reshape(len(chunk), -1) ** 2, axis=1))
        return np.concatenate(scores).astype(np.float64)

    # -- scoring ---------------------------------------------------------------
    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """``|x - mean| / max(std, std_floor_)`` per pixel, (n, H, W) float32."""
        self._check_fitted()
        scale = np.maximum(self.std_, np.float32(self.std_floor_))
        maps = [np.abs(chunk - self.mean_) / scale for chunk in self._grey_chunks(images, check_shape=True)]
        if not maps:
            return np.zeros((0,) + self.image_shape_[:2], dtype=np.float32)
        return np.concatenate(maps).astype(np.float32)

    def score(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Mean square of the anomaly map per image (the paper's sum of squares / pixel count)."""
        maps = self.anomaly_maps(images)
        report(progress, ProgressEvent(stage="score", fraction=1.0))
        return self._scores_from_maps(maps)

    def explain(self, images: Sequence[np.ndarray]) -> Explanation:
        maps = self.anomaly_maps(images)
        return Explanation(scores=self._scores_from_maps(maps), maps=maps)

    @staticmethod
    def _scores_from_maps(maps: np.ndarray) -> np.ndarray:
        return np.mean(maps.reshape(len(maps), -1).astype(np.float64) ** 2, axis=1)

    # -- persistence -------------------------------------------------------------
    def get_state(self) -> MethodState:
        self._check_fitted()
        return MethodState(
            config={
                "params": self.get_params(),
                "std_floor_": self.std_floor_,
                "image_shape_": list(self.image_shape_),
                "n_train_": self.n_train_,
            },
            arrays={"mean": self.mean_, "std": self.std_, "training_scores": self.training_scores_},
        )

    @classmethod
    def from_state(cls, state: MethodState) -> VariationModelDetector:
        detector = cls(**state.config["params"])
        detector.std_floor_ = float(state.config["std_floor_"])
        detector.image_shape_ = tuple(int(side) for side in state.config["image_shape_"])
        detector.n_train_ = int(state.config["n_train_"])
        detector.mean_ = np.asarray(state.arrays["mean"], dtype=np.float32)
        detector.std_ = np.asarray(state.arrays["std"], dtype=np.float32)
        detector.training_scores_ = np.asarray(state.arrays["training_scores"], dtype=np.float64)
        if detector.mean_.shape != detector.image_shape_[:2] or detector.std_.shape != detector.mean_.shape:
            raise ValueError("stored variation model is inconsistent: mean/std shapes differ from the image shape")
        return detector

    # -- internals -----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError("VariationModelDetector is not fitted; call fit() first")

    def _grey_chunks(self, images: Sequence[np.ndarray], *, check_shape: bool = False):
        for start in range(0, len(images), CHUNK_SIZE):
            chunk = images[start : start + CHUNK_SIZE]
            if check_shape:
                for offset, image in enumerate(chunk):
                    check_image_shape(image, self.image_shape_, start + offset)
            yield np.stack([grey_image(image) for image in chunk]).astype(np.float64)
