"""The seed paper's pipeline (Saeedi & Giusti, VISAPP 2022) and its AE baseline.

``cpcae-knn``: a conditional patch-based convolutional autoencoder (CPCAE)
reconstructs the registered image; the anomaly map |x - x_hat| is embedded at
full resolution by an ImageNet CNN with the paper's 3x pooling; the image score
is the mean Euclidean distance to the k nearest standardised training
embeddings (eq. 4), computed leave-one-out for the training images.

One addition to the paper, on by default (``residual_normalisation``): before
embedding, each residual is divided by the mean training residual at that
pixel plus the overall mean (see ``_residual_scale``), so the map says how
unusual a residual is *there*, not how hard that spot is to reconstruct.

A second addition, also on by default (``pooling_grid`` = 3): the paper's
pooling is applied to each cell of a 3 x 3 grid over the backbone's feature
map instead of once over all of it (``embedding.regional_paper_pooling``),
because on a registered part the place of a residual is evidence; ``1`` is
the paper's global pooling. Stored models load with the settings they were
fitted with. What each addition changes, measured: docs/benchmarks.md.

``ae-l2``: the same CPCAE, scored by its L2 reconstruction error (section 4.4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..detector import AnomalyDetector, Explanation, MethodState
from ..progress import ProgressCallback, ProgressEvent, report

CPCAE_PARAMETERS = (
    "downsize_factor",
    "patch_size",
    "stride",
    "latent_dim",
    "filters",
    "dense_units",
    "l1_lambda",
    "epochs",
    "batch_size",
    "learning_rate",
    "min_steps_per_epoch",
    "seed",
)


# Images whose full-resolution maps are held at once while embedding.
MAP_CHUNK = 8
# A normalised map is residual / (that pixel's mean training residual + the
# overall mean): about 0.5 on a typical normal pixel. Scaled by this so that
# normal areas stay dark, as raw residuals are, in the [0, 1] range the
# backbone was trained on, leaving room for defects to be bright.
NORMALISED_MAP_GAIN = 0.25


def _as_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    batch = np.asarray(images, dtype=np.float32)
    if batch.ndim == 3:  # a list of grey (H, W) images
        batch = batch[..., None]
    return batch


class _CPCAEBackedDetector(AnomalyDetector):
    """Shared CPCAE handling of the two reconstruction-based methods."""

    # None means "the CPCAE's own default" (see inspection.engine.networks.cpcae_trainer.CPCAE),
    # so the defaults live in one place.
    def __init__(
        self,
        *,
        downsize_factor: int | None = None,
        patch_size: int | None = None,
        stride: int | None = None,
        latent_dim: int | None = None,
        filters: Sequence[int] | None = None,
        dense_units: int | None = None,
        l1_lambda: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        min_steps_per_epoch: int | None = None,
        seed: int = 0,
    ):
        self.downsize_factor = downsize_factor
        self.patch_size = patch_size
        self.stride = stride
        self.latent_dim = latent_dim
        self.filters = filters
        self.dense_units = dense_units
        self.l1_lambda = l1_lambda
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.min_steps_per_epoch = min_steps_per_epoch
        self.seed = seed

    def _cpcae_parameters(self) -> dict:
        return {name: getattr(self, name) for name in CPCAE_PARAMETERS if getattr(self, name) is not None}

    def _fit_autoencoder(self, batch: np.ndarray, progress: ProgressCallback | None, checkpoints=None) -> None:
        from ..networks.cpcae_trainer import CPCAE

        self.autoencoder_ = CPCAE(**self._cpcae_parameters()).fit(batch, progress=progress, checkpoints=checkpoints)

    def reconstruct(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return self.autoencoder_.reconstruct(_as_batch(images))

    def _residuals(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reconstructions = self.autoencoder_.reconstruct(batch)
        return np.abs(batch - reconstructions), reconstructions

    def anomaly_maps(self, images: Sequence[np.ndarray]) -> np.ndarray:
        residuals, _ = self._residuals(_as_batch(images))
        return residuals.mean(axis=-1)

    def _autoencoder_state(self) -> tuple[dict, dict]:
        return self.autoencoder_.get_config(), {"cpcae": self.autoencoder_.network_}

    @staticmethod
    def _autoencoder_from_state(state: MethodState):
        from ..networks.cpcae_trainer import CPCAE

        autoencoder = CPCAE.from_config(state.config["cpcae"])
        autoencoder.load_network_weights(state.keras_models["cpcae"])
        return autoencoder


class AutoencoderL2Detector(_CPCAEBackedDetector):
    """Score = root mean squared reconstruction error of the CPCAE (the paper's "AE (L2)")."""

    name = "ae-l2"

    def fit(self, images, *, progress=None, checkpoints=None):
        """`checkpoints`: a CheckpointStore for the autoencoder's training (see networks.cpcae_trainer)."""
        batch = _as_batch(images)
        self._fit_autoencoder(batch, progress, checkpoints)
        # Training images were seen by the autoencoder, so these scores are
        # optimistic; they are reported, not used to calibrate thresholds.
        self.training_scores_ = self.score(batch)
        return self

    def score(self, images, *, progress=None):
        residuals, _ = self._residuals(_as_batch(images))
        return np.sqrt((residuals**2).reshape(len(residuals), -1).mean(axis=1))

    def explain(self, images) -> Explanation:
        batch = _as_batch(images)
        residuals, reconstructions = self._residuals(batch)
        scores = np.sqrt((residuals**2).reshape(len(residuals), -1).mean(axis=1))
        return Explanation(scores=scores, maps=residuals.mean(axis=-1), reconstructions=reconstructions)

    def get_state(self) -> MethodState:
        cpcae_config, models = self._autoencoder_state()
        return MethodState(
            config={"params": self._cpcae_parameters(), "cpcae": cpcae_config},
            arrays={"training_scores": self.training_scores_},
            keras_models=models,
        )

    @classmethod
    def from_state(cls, state: MethodState) -> AutoencoderL2Detector:
        detector = cls(**state.config["params"])
        detector.autoencoder_ = cls._autoencoder_from_state(state)
        detector.training_scores_ = np.asarray(state.arrays["training_scores"])
        return detector


class CPCAEKNNDetector(_CPCAEBackedDetector):
    """The paper's method: CPCAE anomaly maps -> ImageNet CNN embedding -> k-NN."""

    name = "cpcae-knn"

    # The CPCAE's parameters are spelled out again (rather than taken as
    # ``**kwargs``) because BaseEstimator.get_params reads this signature.
    def __init__(
        self,
        *,
        backbone: str = "xception",
        weights: str = "imagenet",
        n_neighbors: int = 5,
        variance_shrinkage: float = 1.0,
        residual_normalisation: bool = True,
        pooling_grid: int = 3,
        embedding_batch_size: int = 4,
        precision: str = "float32",
        downsize_factor: int | None = None,
        patch_size: int | None = None,
        stride: int | None = None,
        latent_dim: int | None = None,
        filters: Sequence[int] | None = None,
        dense_units: int | None = None,
        l1_lambda: float | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        min_steps_per_epoch: int | None = None,
        seed: int = 0,
    ):
        from ..features.map_embedding import checked_grid
        from ..networks.precision import checked_precision

        super().__init__(
            downsize_factor=downsize_factor,
            patch_size=patch_size,
            stride=stride,
            latent_dim=latent_dim,
            filters=filters,
            dense_units=dense_units,
            l1_lambda=l1_lambda,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            min_steps_per_epoch=min_steps_per_epoch,
            seed=seed,
        )
        checked_grid(pooling_grid)
        checked_precision(precision)
        self.backbone = backbone
        self.weights = weights
        self.n_neighbors = n_neighbors
        self.variance_shrinkage = variance_shrinkage
        self.residual_normalisation = residual_normalisation
        self.pooling_grid = pooling_grid
        self.embedding_batch_size = embedding_batch_size
        # The backbone's number format: "float32" (the default), "auto" (bfloat16
        # where the CPU has AMX or AVX-512 BF16) or "bfloat16"; fit records the
        # one used in precision_, which a loaded model keeps (networks.precision).
        # float32 by default although bfloat16 agrees to Pearson 0.9999: a
        # bfloat16 model's scores cannot be repeated by the exported ONNX archive
        # (4.3e-3 relative, over the 1e-3 the export promises) nor by TensorFlow
        # without oneDNN (0.5-3 %), so it would tie a version to one kind of CPU.
        self.precision = precision

    def _embedder(self):
        # One embedder per detector: it holds the compiled forward pass, which
        # must not be rebuilt (retraced) for every call on the inspection path.
        embedder = self.__dict__.get("_embedder_instance")
        if embedder is None:
            from ..features.map_embedding import AnomalyMapEmbedder

            embedder = AnomalyMapEmbedder(
                backbone=self.backbone,
                weights=self.weights,
                batch_size=self.embedding_batch_size,
                grid=self.pooling_grid,
                precision=self.__dict__.get("precision_", "float32"),
            )
            self.__dict__["_embedder_instance"] = embedder
        return embedder

    def _residual_chunks(self, images):
        """(start, residuals, reconstructions) per chunk, so that a large set never
        holds every full-resolution map in memory at once."""
        scale = self.__dict__.get("residual_scale_")
        for start in range(0, len(images), MAP_CHUNK):
            chunk = _as_batch(images[start : start + MAP_CHUNK])
            residuals, reconstructions = self._residuals(chunk)
            if scale is not None:
                residuals = residuals * (NORMALISED_MAP_GAIN / scale)
            yield start, residuals, reconstructions

    def fit(self, images, *, progress=None, checkpoints=None):
        """`checkpoints`: a CheckpointStore for the autoencoder's training (see networks.cpcae_trainer)."""
        from ..features.knn import KNNScorer
        from ..networks.precision import resolved_precision

        self.precision_ = resolved_precision(self.precision)
        self.__dict__.pop("_embedder_instance", None)  # built for the precision just chosen
        self._fit_autoencoder(images, progress, checkpoints)
        self.residual_scale_ = None
        if self.residual_normalisation:
            self.residual_scale_ = self._residual_scale(images, progress)
        report(progress, ProgressEvent(stage="embed", fraction=0.0, message="embedding training anomaly maps"))
        embeddings, _, _ = self._embed(images, progress=progress)
        report(progress, ProgressEvent(stage="fit-knn", fraction=0.0))
        self.knn_ = KNNScorer(n_neighbors=self.n_neighbors, variance_shrinkage=self.variance_shrinkage).fit(embeddings)
        self.training_scores_ = self.knn_.training_scores_
        report(progress, ProgressEvent(stage="fit-knn", fraction=1.0))
        return self

    def _residual_scale(self, images, progress) -> np.ndarray:
        """Per pixel and channel: the mean training residual there plus the mean over the whole image.

        Dividing by it turns a residual into "how unusual here": edges and
        fine print that an autoencoder never reconstructs sharply leave large
        residuals on every good part, and would otherwise drown a small defect
        on a plain area. The overall mean bounds the gain where good parts
        leave almost no residual.
        """
        total = None
        for start, residuals, _ in self._residual_chunks(images):
            total = residuals.sum(axis=0, dtype=np.float64) + (0.0 if total is None else total)
            report(
                progress,
                ProgressEvent(
                    stage="normalise-maps",
                    fraction=min(1.0, (start + len(residuals)) / len(images)),
                    message=f"{start + len(residuals)}/{len(images)} training residuals",
                ),
            )
        mean = total / len(images)
        return (mean + mean.mean()).astype(np.float32)

    def _embed(self, images, progress=None, *, keep_maps: bool = False):
        """Embeddings of the images' anomaly maps, plus the maps and reconstructions if asked."""
        embedder = self._embedder()
        embeddings, maps, reconstructions = [], [], []
        for start, residuals, chunk_reconstructions in self._residual_chunks(images):
            embeddings.append(embedder.embed(residuals))
            if keep_maps:
                maps.append(residuals.mean(axis=-1))
                reconstructions.append(chunk_reconstructions)
            report(
                progress,
                ProgressEvent(
                    stage="embed",
                    fraction=min(1.0, (start + len(residuals)) / len(images)),
                    message=f"{start + len(residuals)}/{len(images)} anomaly maps",
                ),
            )
        if keep_maps:
            return np.concatenate(embeddings), np.concatenate(maps), np.concatenate(reconstructions)
        return np.concatenate(embeddings), None, None

    def anomaly_maps(self, images) -> np.ndarray:
        """The maps the backbone embeds (normalised residuals when ``residual_normalisation``), channel mean."""
        return np.concatenate([residuals.mean(axis=-1) for _, residuals, _ in self._residual_chunks(images)])

    def score(self, images, *, progress=None):
        embeddings, _, _ = self._embed(images, progress)
        return self.knn_.score(embeddings)

    def nearest_training_index(self, images):
        embeddings, _, _ = self._embed(images)
        return self.knn_.nearest_indices(embeddings, k=1)[:, 0]

    def explain(self, images) -> Explanation:
        embeddings, maps, reconstructions = self._embed(images, keep_maps=True)
        return Explanation(
            scores=self.knn_.score(embeddings),
            maps=maps,
            reconstructions=reconstructions,
            nearest_indices=self.knn_.nearest_indices(embeddings, k=1)[:, 0],
        )

    def get_state(self) -> MethodState:
        cpcae_config, models = self._autoencoder_state()
        knn_config, knn_arrays = self.knn_.get_state()
        return MethodState(
            config={
                "params": self.get_params(),
                "cpcae": cpcae_config,
                "knn": knn_config,
                "precision_": self.precision_,
            },
            arrays={
                **{f"knn.{key}": value for key, value in knn_arrays.items()},
                **({} if self.residual_scale_ is None else {"residual_scale": self.residual_scale_}),
            },
            keras_models=models,
        )

    @classmethod
    def from_state(cls, state: MethodState) -> CPCAEKNNDetector:
        from ..features.knn import KNNScorer
        from ..networks.precision import stored_precision

        # Models stored before these options existed were fitted with plain
        # standardisation, raw residuals and global pooling.
        detector = cls(
            **{
                "variance_shrinkage": 0.0,
                "residual_normalisation": False,
                "pooling_grid": 1,
                **state.config["params"],
            }
        )
        detector.autoencoder_ = cls._autoencoder_from_state(state)
        detector.residual_scale_ = state.arrays.get("residual_scale")
        # Kept as fitted, on any CPU; models stored before the setting ran in float32.
        detector.precision_ = stored_precision(state.config)
        knn_arrays = {key.split(".", 1)[1]: value for key, value in state.arrays.items() if key.startswith("knn.")}
        detector.knn_ = KNNScorer.from_state(state.config["knn"], knn_arrays)
        detector.training_scores_ = detector.knn_.training_scores_
        return detector
