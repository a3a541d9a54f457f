"""``patch-knn``: a memory bank of normal patch features (PatchCore-style; Roth et al., 2022).

1. Features: the registered image, shrunk (aspect kept) when its longer side
   exceeds ``input_side`` (with ``enlarge`` also enlarged up to it), goes
   through an ImageNet backbone; a stride-8 and a stride-16 activation
   (``backbones.DEFAULT_MID_LEVEL_LAYERS``) are each averaged over 3 x 3
   neighbours, brought to the stride-8 grid and concatenated: one vector per
   patch (:mod:`..features.patch_features`).
2. Fit: at most ``max_candidates`` training patches (seeded draw) are thinned
   to a memory bank by greedy k-centre coreset selection on a random
   projection to ``projection_dim`` dimensions, which keeps rare normal
   appearances that random subsampling would drop. Bank size:
   ``coreset_ratio`` of the candidates, within [``min_bank``, ``max_bank``].
3. Score: each patch's distance to its nearest bank entry
   (:mod:`..features.memory_bank`), upsampled and smoothed by
   ``smoothing_sigma``, is the anomaly map; the image score is the mean of its
   highest ``score_top_fraction`` (``0``: the maximum, PatchCore's rule, for
   products whose defects are specks).
4. A finer second pass at ``fine_input_side`` (``None`` or 0: off) repeats
   1-3 with its own bank whenever it sees the image larger: stride-8 cells are
   as large as a defect a few pixels across, while a fine pass alone loses
   large defects. Each pass is standardised by its own training scores and
   the larger score (and pixel-wise map) is kept.

``precision``: the backbone's number format, as for cpcae-knn ("auto":
bfloat16 where the CPU computes it natively; both passes use the same); the
one used is kept in ``precision_`` and by every later load. The default is
float32, not "auto": bfloat16 scores correlated with float32's at 0.998 on
the synthetic cursors, below the 0.999 that "auto" must keep
(docs/benchmarks.md).

The nearest normal image is the training image whose mean patch feature is
closest. Training scores are approximately leave-one-out: each training image
is scored against the bank without its own entries, but the coreset selection
saw every image. The defaults, the two-pass rule and the leave-one-out
optimism were measured; the figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import dataclasses
import math
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
from ..errors import EngineError
from ..features.memory_bank import PatchMemoryBank
from ..features.patch_features import PatchFeatureExtractor, greedy_coreset, input_shape, weights_checksum
from ..networks.precision import checked_precision, resolved_precision, stored_precision
from ..progress import ProgressCallback, ProgressEvent, report

# Full training feature grids are kept between the two passes of fit (bank,
# then training scores) when they fit in this many bytes; otherwise the
# backbone runs again.
_FEATURE_CACHE_BYTES = 512 * 1024 * 1024


LEARNED_SCALARS = ("image_shape_", "input_shape_", "feature_grid_", "n_train_", "n_candidates_", "backbone_checksum_")
LEARNED_ARRAYS = {
    "memory_bank_": np.float32,
    "bank_sources_": np.int32,
    "training_descriptors_": np.float32,
}


class PatchKNNDetector(AnomalyDetector):
    """Nearest-neighbour distance of each patch's backbone features to a coreset of normal patches."""

    name = "patch-knn"

    def __init__(
        self,
        *,
        backbone: str = "efficientnet-lite0",
        weights: str = "imagenet",
        layers: Sequence[str] | None = None,
        input_side: int | None = 512,
        enlarge: bool = False,
        fine_input_side: int | None = 768,
        coreset_ratio: float = 0.01,
        min_bank: int = 1024,
        max_bank: int = 16_384,
        max_candidates: int = 200_000,
        projection_dim: int = 32,
        smoothing_sigma: float = 4.0,
        score_top_fraction: float = 0.05,
        batch_size: int = 8,
        precision: str = "float32",
        seed: int = 0,
    ):
        self.precision = checked_precision(precision)
        self.backbone = backbone
        self.weights = weights
        self.layers = layers
        self.input_side = input_side
        self.enlarge = enlarge
        self.fine_input_side = fine_input_side
        self.coreset_ratio = coreset_ratio
        self.min_bank = min_bank
        self.max_bank = max_bank
        self.max_candidates = max_candidates
        self.projection_dim = projection_dim
        self.smoothing_sigma = smoothing_sigma
        self.score_top_fraction = score_top_fraction
        self.batch_size = batch_size
        self.seed = seed

    # -- learning ------------------------------------------------------------
    def fit(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None):
        if not 0.0 < float(self.coreset_ratio) <= 1.0:
            raise ValueError(f"coreset_ratio must be in (0, 1], got {self.coreset_ratio}")
        if not 0.0 <= float(self.score_top_fraction) <= 1.0:
            raise ValueError(f"score_top_fraction must be in [0, 1], got {self.score_top_fraction}")
        shape = check_training_images(images, method="patch-knn")
        count = len(images)
        self.image_shape_ = shape
        self.input_shape_ = input_shape(shape, self.input_side, self.backbone, enlarge=bool(self.enlarge))
        self.precision_ = resolved_precision(self.precision)
        self.__dict__.pop("_extractor_instance", None)  # parameters may have changed since the last fit
        self.__dict__.pop("_verify_backbone", None)
        self.backbone_checksum_ = weights_checksum(self._extractor().model)
        rng = np.random.default_rng(self.seed)

        per_image = max(1, int(self.max_candidates) // count)
        candidates, sources, descriptors, cache = [], [], [], []
        cache_allowed = True
        for start, grids in self._feature_batches(images, progress, stage="embed-train"):
            for offset, grid in enumerate(grids):
                patches = grid.reshape(-1, grid.shape[-1])
                descriptors.append(patches.mean(axis=0))
                chosen = rng.choice(len(patches), per_image, replace=False) if len(patches) > per_image else slice(None)
                candidates.append(patches[chosen])
                sources.append(np.full(len(candidates[-1]), start + offset, dtype=np.int32))
                if cache_allowed:
                    cache.append(grid)
                    cache_allowed = len(cache) * grid.nbytes <= _FEATURE_CACHE_BYTES
                    if not cache_allowed:
                        cache = []
        candidates = np.concatenate(candidates)
        sources = np.concatenate(sources)
        self.feature_grid_ = tuple(int(side) for side in grids[0].shape[:2])

        bank_size = min(int(self.max_bank), math.ceil(float(self.coreset_ratio) * len(candidates)))
        bank_size = max(1, bank_size, min(int(self.min_bank), len(candidates)))
        chosen = greedy_coreset(candidates, bank_size, int(self.projection_dim), rng, progress=progress)
        self.memory_bank_ = np.ascontiguousarray(candidates[chosen], dtype=np.float32)
        self.bank_sources_ = sources[chosen]
        self.training_descriptors_ = np.stack(descriptors).astype(np.float32)
        self.n_candidates_ = int(len(candidates))
        self.n_train_ = count
        del candidates
        self._prepare_search()

        if cache_allowed and len(cache) == count:
            training_grids = [(index, grid) for index, grid in enumerate(cache)]
        else:
            training_grids = (
                (start + offset, grid)
                for start, grids in self._feature_batches(images, progress, stage="score-train")
                for offset, grid in enumerate(grids)
            )
        scores = np.empty(count, dtype=np.float64)
        for index, grid in training_grids:
            distances = self._nearest_bank_distances(grid, excluded_source=index)
            scores[index] = self._score_from_map(self._map_from_distances(distances))
        report(progress, ProgressEvent(stage="score-train", fraction=1.0))
        self._fit_fine_pass(images, scores, progress)
        return self

    def _fit_fine_pass(self, images, own_scores: np.ndarray, progress: ProgressCallback | None) -> None:
        """Fit the second, finer pass when it is asked for and really finer; set the training scores."""
        self.fine_pass_, self.score_normalisation_ = None, None
        self.pass_training_scores_ = self.training_scores_ = own_scores
        if not self.fine_input_side:
            return
        fine_side = int(self.fine_input_side)
        if max(input_shape(self.image_shape_, fine_side, self.backbone, enlarge=True)) <= max(self.input_shape_):
            return
        params = {
            **self.get_params(),
            "input_side": fine_side,
            "enlarge": True,
            "fine_input_side": None,
            "precision": self.precision_,
        }
        fine = PatchKNNDetector(**params).fit(images, progress=_renamed_stages(progress, "fine pass"))
        self.fine_pass_ = fine
        self.score_normalisation_ = (_location_and_spread(own_scores), _location_and_spread(fine.training_scores_))
        self.training_scores_ = self._combined_training_scores()

    def _combined_training_scores(self) -> np.ndarray:
        return self._larger_standardised(self.pass_training_scores_, self.fine_pass_.training_scores_)

    def _larger_standardised(self, own: np.ndarray, fine: np.ndarray) -> np.ndarray:
        """Each pass put on the scale of its own training scores; the pass that finds more unusual decides."""
        own_scale, fine_scale = self.score_normalisation_
        return np.maximum(_standardised(own, own_scale), _standardised(fine, fine_scale))

    # -- scoring ---------------------------------------------------------------
    def explain(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> Explanation:
        self._check_fitted()
        height, width = self.image_shape_[:2]
        scores = np.empty(len(images), dtype=np.float64)
        maps = np.empty((len(images), height, width), dtype=np.float32)
        nearest = np.empty(len(images), dtype=np.int64)
        for start, grids in self._feature_batches(images, progress, stage="score", check_shape=True):
            for offset, grid in enumerate(grids):
                anomaly_map = self._map_from_distances(self._nearest_bank_distances(grid))
                maps[start + offset] = anomaly_map
                scores[start + offset] = self._score_from_map(anomaly_map)
                descriptor = grid.reshape(-1, grid.shape[-1]).mean(axis=0)
                gaps = np.sum((self.training_descriptors_ - descriptor) ** 2, axis=1, dtype=np.float64)
                nearest[start + offset] = int(np.argmin(gaps))
        if self.__dict__.get("fine_pass_") is None:
            return Explanation(scores=scores, maps=maps, nearest_indices=nearest)
        fine = self.fine_pass_.explain(images, progress=_renamed_stages(progress, "fine pass"))
        return Explanation(
            scores=self._larger_standardised(scores, fine.scores),
            maps=self._larger_standardised(maps, fine.maps).astype(np.float32),
            nearest_indices=nearest,
        )

    def score(self, images: Sequence[np.ndarray], *, progress: ProgressCallback | None = None) -> np.ndarray:
        return self.explain(images, progress=progress).scores

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.explain(images).maps

    def nearest_training_index(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.explain(images).nearest_indices

    # -- persistence -------------------------------------------------------------
    def get_state(self) -> MethodState:
        """Config and arrays only: the backbone comes from the weight store by name.

        ``backbone_checksum_`` lets a reloaded model refuse a backbone whose
        weights differ from those it was trained with (e.g. ``weights="random"``
        in another process, or changed ImageNet weights).
        """
        self._check_fitted()
        config = {name: getattr(self, name) for name in LEARNED_SCALARS}
        config["precision_"] = self.precision_
        for name in ("image_shape_", "input_shape_", "feature_grid_"):
            config[name] = list(config[name])
        arrays = {name.rstrip("_"): getattr(self, name) for name in LEARNED_ARRAYS}
        arrays["training_scores"] = self.pass_training_scores_
        if self.__dict__.get("fine_pass_") is not None:
            fine = self.fine_pass_.get_state()
            config["fine_pass"] = fine.config
            config["score_normalisation"] = [list(scale) for scale in self.score_normalisation_]
            arrays.update({f"fine_pass.{name}": value for name, value in fine.arrays.items()})
        return MethodState(config={"params": self.get_params(), **config}, arrays=arrays)

    @classmethod
    def from_state(cls, state: MethodState) -> PatchKNNDetector:
        # Models stored before the finer pass existed were fitted with one pass.
        detector = cls(**{"fine_input_side": None, **state.config["params"]})
        for name in LEARNED_SCALARS:
            value = state.config[name]
            setattr(detector, name, tuple(int(side) for side in value) if isinstance(value, list) else value)
        detector.precision_ = stored_precision(state.config)  # kept as fitted, on any CPU
        for name, dtype in LEARNED_ARRAYS.items():
            setattr(detector, name, np.ascontiguousarray(state.arrays[name.rstrip("_")], dtype=dtype))
        if len(detector.bank_sources_) != len(detector.memory_bank_):
            raise ValueError("stored patch-knn model is inconsistent: bank and sources differ in length")
        detector.pass_training_scores_ = np.asarray(state.arrays["training_scores"], dtype=np.float64)
        detector.training_scores_ = detector.pass_training_scores_
        detector._prepare_search()
        detector.__dict__["_verify_backbone"] = True
        detector.fine_pass_, detector.score_normalisation_ = None, None
        if "fine_pass" in state.config:
            fine_arrays = {
                name.split(".", 1)[1]: value for name, value in state.arrays.items() if name.startswith("fine_pass.")
            }
            detector.fine_pass_ = cls.from_state(MethodState(config=state.config["fine_pass"], arrays=fine_arrays))
            detector.score_normalisation_ = tuple(
                tuple(float(value) for value in scale) for scale in state.config["score_normalisation"]
            )
            detector.training_scores_ = detector._combined_training_scores()
        return detector

    # -- internals -----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "memory_bank_"):
            raise RuntimeError("PatchKNNDetector is not fitted; call fit() first")

    def _extractor(self):
        # Built once per detector: the traced forward pass must not be rebuilt
        # for every call on the inspection path.
        extractor = self.__dict__.get("_extractor_instance")
        if extractor is None:
            extractor = PatchFeatureExtractor(self.backbone, self.weights, self.layers, self.precision_)
            self.__dict__["_extractor_instance"] = extractor
            if self.__dict__.get("_verify_backbone"):
                found = weights_checksum(extractor.model)
                if not math.isclose(found, self.backbone_checksum_, rel_tol=1e-6):
                    raise EngineError(
                        f"the {self.backbone} backbone's weights ({self.weights}) differ from those this "
                        "patch-knn model was trained with; retrain the model"
                    )
        return extractor

    def _feature_batches(self, images, progress, *, stage: str, check_shape: bool = False):
        """(start index, feature grids (n, h, w, D)) per batch of images."""
        extractor = self._extractor()
        height, width = self.input_shape_
        batch_size = max(1, int(self.batch_size))
        for start in range(0, len(images), batch_size):
            batch = []
            for offset, image in enumerate(images[start : start + batch_size]):
                image = np.asarray(image, dtype=np.float32)
                if check_shape:
                    check_image_shape(image, self.image_shape_, start + offset)
                image = image.reshape(image_shape(image))
                if image.shape[:2] != (height, width):
                    shrinking = height * width < image.shape[0] * image.shape[1]
                    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
                    image = cv2.resize(image, (width, height), interpolation=interpolation)
                image = image.reshape(height, width, -1)
                batch.append(np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image)
            yield start, extractor(np.stack(batch))
            report(progress, ProgressEvent(stage=stage, fraction=min(1.0, (start + len(batch)) / len(images))))

    def _prepare_search(self) -> None:
        self._bank = PatchMemoryBank(self.memory_bank_, self.bank_sources_)

    def _nearest_bank_distances(self, grid: np.ndarray, excluded_source: int | None = None) -> np.ndarray:
        """Distance of every patch of one grid to its nearest bank entry, shape (h, w)."""
        patches = grid.reshape(-1, grid.shape[-1])
        return self._bank.nearest_distances(patches, excluded_source=excluded_source).reshape(grid.shape[:2])

    def _score_from_map(self, anomaly_map: np.ndarray) -> float:
        """Mean of the highest ``score_top_fraction`` of the map's pixels (its maximum when 0)."""
        count = max(1, int(round(float(self.score_top_fraction) * anomaly_map.size)))
        return float(np.mean(np.partition(anomaly_map.ravel(), -count)[-count:], dtype=np.float64))

    def _map_from_distances(self, distances: np.ndarray) -> np.ndarray:
        height, width = self.image_shape_[:2]
        anomaly_map = cv2.resize(distances.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        if self.smoothing_sigma and float(self.smoothing_sigma) > 0:
            sigma = float(self.smoothing_sigma) * max(height, width) / max(self.input_shape_)
            anomaly_map = cv2.GaussianBlur(
                anomaly_map, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT
            )
        return anomaly_map


def _location_and_spread(training_scores: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of one pass's training scores (spread 1 when they are all equal)."""
    spread = float(np.std(training_scores))
    return float(np.mean(training_scores)), spread if spread > 0 else 1.0


def _standardised(values: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    location, spread = scale
    return (np.asarray(values, dtype=np.float64) - location) / spread


def _renamed_stages(progress: ProgressCallback | None, label: str) -> ProgressCallback | None:
    """The callback, with ``label`` added to each event's stage, so two passes read apart."""
    if progress is None:
        return None
    return lambda event: progress(dataclasses.replace(event, stage=f"{event.stage} ({label})"))
