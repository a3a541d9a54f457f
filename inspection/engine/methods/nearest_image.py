"""``nearest-image`` (formerly ``nn``): nearest normal image, the paper's second baseline (section 4.4).

The score of an image is its L2 distance to the most similar training image,
expressed as the root mean square difference per pixel and channel
(``sqrt(mean((x - t)^2))``, on the [0, 1] scale): the plain L2 norm divided by
``sqrt(pixel count)``, which ranks identically within a product but does not
grow with the resolution. The anomaly map is ``|x - t|`` averaged over
channels, ``t`` being that nearest training image.

Working resolution: images are compared on a copy whose longer side is
``working_side`` pixels (area-averaged; ``None`` keeps the registered
resolution). That keeps the stored training set and the search small (128 px
side: 49,152 values per RGB image) and averages away pixel noise and
sub-pixel registration error, which would otherwise dominate the distance.
The map is computed at that resolution and resized bilinearly to the input
size, so with ``working_side`` below the image size it is blurred
accordingly; the nearest training index is exact at the working resolution.

Training scores are exactly leave-one-out: each training image is scored
against its nearest *other* training image.
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
from ..progress import ProgressCallback, ProgressEvent, report

# Queries are compared with the whole training set in blocks of this many, to
# bound the distance matrix and the float32 copies.
BLOCK_SIZE = 64
# Candidates re-ranked by an exact difference after the fast matrix product;
# the product's rounding can only swap near-equal distances, and the top few
# always contain the true nearest image.
EXACT_RERANK = 3


class NearestImageDetector(AnomalyDetector):
    """Distance to the most similar normal training image (Vaikundam et al., 2016)."""

    name = "nearest-image"

    def __init__(self, *, working_side: int | None = 128):
        self.working_side = working_side

    # -- learning ------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None):
        if self.working_side is not None and int(self.working_side) < 1:
            raise ValueError(f"working_side must be a positive number of pixels or None, got {self.working_side}")
        shape = check_training_images(images, method="the nearest-image method")
        self.image_shape_ = shape
        self.working_shape_ = _working_shape(shape, self.working_side)
        self.training_images_ = self._working_copies(images)
        # Centring on the training mean before the matrix product keeps the
        # |a|^2 + |b|^2 - 2ab expansion accurate in float32.
        self.centre_ = self.training_images_.mean(axis=0)
        flat = self._flat_centred(self.training_images_)
        self._training_squared_norms = np.einsum("ij,ij->i", flat, flat)
        report(progress, ProgressEvent(stage="fit-nearest-image", fraction=0.5, message="training images stored"))

        nearest, distances = self._search(self.training_images_, exclude_self=True)
        self.training_scores_ = distances
        self.training_nearest_ = nearest
        report(progress, ProgressEvent(stage="fit-nearest-image", fraction=1.0, message="leave-one-out scores"))
        return self

    # -- scoring ---------------------------------------------------------------
    def score(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """RMS difference per pixel and channel to the nearest training image."""
        _, distances = self._search(self._working_copies(images, check_shape=True))
        report(progress, ProgressEvent(stage="score", fraction=1.0))
        return distances

    def nearest_training_index(self, images: Sequence[np.ndarray]) -> np.ndarray:
        nearest, _ = self._search(self._working_copies(images, check_shape=True))
        return nearest

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.explain(images).maps

    def explain(self, images: Sequence[np.ndarray]) -> Explanation:
        working = self._working_copies(images, check_shape=True)
        nearest, distances = self._search(working)
        height, width = self.image_shape_[:2]
        maps = np.empty((len(working), height, width), dtype=np.float32)
        for index, (image, neighbour) in enumerate(zip(working, nearest)):
            difference = np.abs(image - self.training_images_[neighbour]).mean(axis=-1)
            maps[index] = cv2.resize(difference, (width, height), interpolation=cv2.INTER_LINEAR)
        return Explanation(scores=distances, maps=maps, nearest_indices=nearest)

    # -- persistence -------------------------------------------------------------
    def get_state(self) -> MethodState:
        self._check_fitted()
        return MethodState(
            config={
                "params": self.get_params(),
                "image_shape_": list(self.image_shape_),
                "working_shape_": list(self.working_shape_),
            },
            arrays={
                "training_images": self.training_images_,
                "training_scores": self.training_scores_,
                "training_nearest": self.training_nearest_,
            },
        )

    @classmethod
    def from_state(cls, state: MethodState) -> NearestImageDetector:
        detector = cls(**state.config["params"])
        detector.image_shape_ = tuple(int(side) for side in state.config["image_shape_"])
        detector.working_shape_ = tuple(int(side) for side in state.config["working_shape_"])
        detector.training_images_ = np.asarray(state.arrays["training_images"], dtype=np.float32)
        detector.training_scores_ = np.asarray(state.arrays["training_scores"], dtype=np.float64)
        detector.training_nearest_ = np.asarray(state.arrays["training_nearest"], dtype=np.int64)
        if detector.training_images_.shape[1:] != detector.working_shape_:
            raise ValueError(
                "stored nearest-image model is inconsistent: training images differ from the working shape"
            )
        detector.centre_ = detector.training_images_.mean(axis=0)
        flat = detector._flat_centred(detector.training_images_)
        detector._training_squared_norms = np.einsum("ij,ij->i", flat, flat)
        return detector

    # -- internals -----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "training_images_"):
            raise RuntimeError("NearestImageDetector is not fitted; call fit() first")

    def _working_copies(self, images: Sequence[np.ndarray], *, check_shape: bool = False) -> np.ndarray:
        if check_shape:
            self._check_fitted()
        height, width, channels = self.working_shape_
        copies = np.empty((len(images), height, width, channels), dtype=np.float32)
        for index, image in enumerate(images):
            image = np.asarray(image, dtype=np.float32)
            if check_shape:
                check_image_shape(image, self.image_shape_, index)
            image = image.reshape(image_shape(image))
            if image.shape[:2] != (height, width):
                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA).reshape(
                    height, width, channels
                )
            copies[index] = image
        return copies

    def _flat_centred(self, working: np.ndarray) -> np.ndarray:
        return (working - self.centre_).reshape(len(working), -1)

    def _search(self, working: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Nearest training index and RMS distance for each working-resolution image."""
        training_flat = self._flat_centred(self.training_images_)
        candidates_kept = min(EXACT_RERANK, len(training_flat) - (1 if exclude_self else 0))
        nearest = np.empty(len(working), dtype=np.int64)
        distances = np.empty(len(working), dtype=np.float64)
        for start in range(0, len(working), BLOCK_SIZE):
            block = self._flat_centred(working[start : start + BLOCK_SIZE])
            squared = (
                np.einsum("ij,ij->i", block, block)[:, None]
                + self._training_squared_norms[None, :]
                - 2.0 * block @ training_flat.T
            )
            if exclude_self:
                rows = np.arange(len(block))
                squared[rows, start + rows] = np.inf
            candidates = np.argpartition(squared, candidates_kept - 1, axis=1)[:, :candidates_kept]
            for row, row_candidates in enumerate(candidates):
                exact = np.mean((training_flat[row_candidates] - block[row]) ** 2, axis=1, dtype=np.float64)
                best = int(np.argmin(exact))
                nearest[start + row] = row_candidates[best]
                distances[start + row] = np.sqrt(exact[best])
        return nearest, distances


def _working_shape(shape: tuple[int, int, int], working_side: int | None) -> tuple[int, int, int]:
    height, width, channels = shape
    if working_side is None or max(height, width) <= int(working_side):
        return shape
    scale = int(working_side) / max(height, width)
    return (max(1, round(height * scale)), max(1, round(width * scale)), channels)
