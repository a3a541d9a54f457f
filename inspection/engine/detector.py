"""The interface every anomaly-detection method of the engine implements.

Methods follow scikit-learn's estimator contract and inherit its
``BaseEstimator`` (``get_params`` / ``set_params`` read the ``__init__``
signature): hyper-parameters are keyword arguments of ``__init__``, stored
unchanged under their own names; ``fit`` learns from normal images only and
returns ``self``; learned attributes end in ``_``. Inputs are *registered*
images: float32 arrays of shape (H, W, C) with values in [0, 1], all of one
shape (the product's registered resolution).

Persistence goes through :meth:`get_state` / :meth:`set_state`: a JSON-able
config plus named numpy arrays and, for Keras networks, weight files. The
bundle module writes those to disk; no pickle anywhere.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from .errors import ImageError, TrainingDataError
from .progress import ProgressCallback


@dataclass
class Explanation:
    """What an inspection shows a person, computed in one pass over the images."""

    scores: np.ndarray  # (n,)
    maps: np.ndarray  # (n, H, W) float32
    reconstructions: np.ndarray | None = None  # (n, H, W, C) for reconstruction-based methods
    nearest_indices: np.ndarray | None = None  # (n,) index into the training images


@dataclass
class MethodState:
    """Everything needed to rebuild a fitted method, without pickle."""

    config: dict[str, Any]  # JSON-able hyper-parameters and learned scalars
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # written to .npz
    # name -> keras.Model when saving; name -> Path of its ``.weights.h5`` file
    # when loading (from_state rebuilds the network from config, then loads).
    keras_models: dict[str, Any] = field(default_factory=dict)


class AnomalyDetector(BaseEstimator, abc.ABC):
    """Base class of all methods (cpcae-knn, ae-l2, deep-feature, variation, nearest-image, patch-knn)."""

    #: registry name, used by ``evaluate --method NAME`` and in bundles
    name: str = ""

    @abc.abstractmethod
    def fit(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> AnomalyDetector:
        """Learn normality from normal registered images; return self."""

    @abc.abstractmethod
    def score(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> np.ndarray:
        """Anomaly score per image, shape (n,), higher = more anomalous."""

    @abc.abstractmethod
    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Per-pixel anomaly map per image, shape (n, H, W), float32, at the input resolution."""

    def nearest_training_index(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Index of the most similar training image per input (for "closest good part")."""
        raise NotImplementedError(f"{self.name} does not explain by nearest normal image")

    def explain(self, images: Sequence[np.ndarray]) -> Explanation:
        """Score, map and nearest normal image together; methods override this
        to share the expensive forward pass instead of running it three times."""
        try:
            nearest = self.nearest_training_index(images)
        except NotImplementedError:
            nearest = None
        return Explanation(scores=self.score(images), maps=self.anomaly_maps(images), nearest_indices=nearest)

    #: scores of the training images themselves, computed leave-one-out where
    #: the method allows it; set by fit.
    training_scores_: np.ndarray

    @abc.abstractmethod
    def get_state(self) -> MethodState: ...

    @classmethod
    @abc.abstractmethod
    def from_state(cls, state: MethodState) -> AnomalyDetector: ...


def image_shape(image: np.ndarray) -> tuple[int, int, int]:
    """(H, W, C) of a registered image; a plain (H, W) array counts as one channel."""
    shape = np.shape(image)
    if len(shape) == 2:
        return (int(shape[0]), int(shape[1]), 1)
    if len(shape) == 3 and shape[-1] in (1, 3):
        return (int(shape[0]), int(shape[1]), int(shape[2]))
    raise ImageError("image", f"expected an (H, W), (H, W, 1) or (H, W, 3) image, got shape {shape}")


def check_training_images(images: Sequence[np.ndarray], *, method: str) -> tuple[int, int, int]:
    """The common shape of a usable training set; refuses fewer than two images or mixed shapes."""
    count = 0 if images is None else len(images)
    if count < 2:
        raise TrainingDataError(f"{method} needs at least 2 training images, got {count}")
    shape = image_shape(images[0])
    for index, image in enumerate(images):
        if image_shape(image) != shape:
            raise TrainingDataError(
                f"training image {index} has shape {image_shape(image)}, the first one {shape}; "
                "register all images to one size"
            )
    return shape


def check_image_shape(image: np.ndarray, expected: tuple[int, ...], index: int) -> None:
    """Refuse an image to score whose shape is not the one the method was trained on."""
    if image_shape(image) != tuple(expected):
        raise ImageError(
            f"image {index}", f"shape {image_shape(image)} differs from the trained shape {tuple(expected)}"
        )
