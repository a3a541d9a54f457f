"""k-nearest-neighbour one-class scoring of image embeddings (paper eq. 4).

The score of an embedding ``f`` is the mean Euclidean distance to its ``k``
nearest training embeddings, after the training set's per-feature mean
removal and variance scaling. Scores of the training embeddings themselves
are computed *leave-one-out* (each against its ``k`` nearest *other*
training embeddings): scored against a set that contains it, a training
embedding would always find itself at distance 0, which biases every
threshold chosen from training scores towards too low a value.

Rule for small training sets: at least 2 training embeddings are required
(leave-one-out needs one other embedding). ``n_neighbors`` larger than what
the training set allows is *clamped*, not refused, to ``n_train - 1`` so that
scoring a new embedding and leave-one-out scoring of a training embedding
use the same number of neighbours; ``n_neighbors_`` records the value used.

Variance scaling with few training images: ``variance_shrinkage`` (s) scales
feature j by sqrt(var_j + s * mean(var)) instead of sqrt(var_j). With tens of
training embeddings of thousands of features, many features (channels that
rarely fire on a good part's anomaly map) have a variance estimate near zero;
plain scaling multiplies their small, chance departures on a new image into
the largest terms of the distance, and the score follows them instead of the
defect. Shrinking every variance towards the average (as diagonal shrinkage
estimators do) bounds that amplification while still equalising features of
very different ranges. ``0`` is plain standardisation (the paper's text);
the measured effect is in docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors

from ..errors import TrainingDataError

# Neighbour search is done in blocks so that distance matrices stay small
# even with thousands of training embeddings of 6144 features.
_BLOCK_ROWS = 256
# Which search where (measured in docs/benchmarks.md, "Engine: neighbour
# search"): the leave-one-out scores of the whole training set come from
# scikit-learn's brute-force NearestNeighbors, faster there than the blocked
# search. The few queries of an inspection keep the blocked search: scikit-
# learn's brute force is several times slower for them, and its trees, faster
# for a single query but not clearly for 8 queries among 700 embeddings, would
# hold a second, float64 copy of every training embedding and be rebuilt at
# each load.


class KNNScorer(BaseEstimator):
    """Mean distance to the k nearest standardised training embeddings."""

    def __init__(self, n_neighbors: int = 5, standardize: bool = True, variance_shrinkage: float = 0.0):
        self.n_neighbors = n_neighbors
        self.standardize = standardize
        self.variance_shrinkage = variance_shrinkage

    # -- learning -----------------------------------------------------------
    def fit(self, embeddings: np.ndarray) -> KNNScorer:
        embeddings = _as_matrix(embeddings, "training embeddings")
        n_train = embeddings.shape[0]
        if n_train < 2:
            raise TrainingDataError(f"k-NN scoring needs at least 2 training embeddings, got {n_train}")
        if int(self.n_neighbors) < 1:
            raise ValueError(f"n_neighbors must be at least 1, got {self.n_neighbors}")
        shrinkage = float(self.variance_shrinkage)
        if not (np.isfinite(shrinkage) and shrinkage >= 0.0):
            raise ValueError(f"variance_shrinkage must be a number >= 0, got {self.variance_shrinkage}")
        self.n_neighbors_ = min(int(self.n_neighbors), n_train - 1)
        if self.standardize:
            mean = embeddings.mean(axis=0, dtype=np.float64)
            variance = embeddings.var(axis=0, dtype=np.float64)
            scale = np.sqrt(variance + shrinkage * variance.mean())
            # A feature that never varies on good parts carries no distance
            # information among them; dividing by 1 keeps it finite (it still
            # counts if a test embedding departs from the constant).
            scale[scale < 1e-12] = 1.0
        else:
            mean = np.zeros(embeddings.shape[1])
            scale = np.ones(embeddings.shape[1])
        self.scaler_mean_ = mean.astype(np.float32)
        self.scaler_scale_ = scale.astype(np.float32)
        self.train_embeddings_ = self._standardize(embeddings)
        self.n_features_in_ = embeddings.shape[1]
        self.training_scores_ = self._leave_one_out_scores()
        return self

    # -- scoring ------------------------------------------------------------
    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Anomaly score per embedding, shape (n,): mean distance to the k nearest."""
        distances, _ = self._neighbours(self._prepare(embeddings), self.n_neighbors_)
        return distances.mean(axis=1).astype(np.float32)

    def nearest_indices(self, embeddings: np.ndarray, k: int = 1) -> np.ndarray:
        """Indices of the ``k`` nearest training embeddings, shape (n, k), nearest first."""
        self._check_fitted()
        k = int(k)
        if not 1 <= k <= self.train_embeddings_.shape[0]:
            raise ValueError(f"k must be between 1 and {self.train_embeddings_.shape[0]}, got {k}")
        _, indices = self._neighbours(self._prepare(embeddings), k)
        return indices

    # -- persistence --------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able config and named arrays that rebuild this fitted scorer."""
        self._check_fitted()
        config = {
            "n_neighbors": int(self.n_neighbors),
            "standardize": bool(self.standardize),
            "variance_shrinkage": float(self.variance_shrinkage),
            "n_neighbors_": int(self.n_neighbors_),
        }
        arrays = {
            "scaler_mean": self.scaler_mean_,
            "scaler_scale": self.scaler_scale_,
            "train_embeddings": self.train_embeddings_,
            "training_scores": self.training_scores_,
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> KNNScorer:
        scorer = cls(
            n_neighbors=int(config["n_neighbors"]),
            standardize=bool(config["standardize"]),
            # Scorers stored before the option existed were fitted without shrinkage.
            variance_shrinkage=float(config.get("variance_shrinkage", 0.0)),
        )
        scorer.n_neighbors_ = int(config["n_neighbors_"])
        scorer.scaler_mean_ = np.asarray(arrays["scaler_mean"], dtype=np.float32)
        scorer.scaler_scale_ = np.asarray(arrays["scaler_scale"], dtype=np.float32)
        scorer.train_embeddings_ = np.asarray(arrays["train_embeddings"], dtype=np.float32)
        scorer.training_scores_ = np.asarray(arrays["training_scores"], dtype=np.float32)
        scorer.n_features_in_ = scorer.train_embeddings_.shape[1]
        if not 1 <= scorer.n_neighbors_ < scorer.train_embeddings_.shape[0]:
            raise ValueError("stored k-NN state is inconsistent: n_neighbors_ out of range")
        return scorer

    # -- internals ----------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "train_embeddings_"):
            raise RuntimeError("KNNScorer is not fitted; call fit() first")

    def _standardize(self, embeddings: np.ndarray) -> np.ndarray:
        return ((embeddings - self.scaler_mean_) / self.scaler_scale_).astype(np.float32)

    def _prepare(self, embeddings: np.ndarray) -> np.ndarray:
        self._check_fitted()
        embeddings = _as_matrix(embeddings, "embeddings")
        if embeddings.shape[1] != self.n_features_in_:
            raise ValueError(
                f"embeddings have {embeddings.shape[1]} features, the scorer was fitted on {self.n_features_in_}"
            )
        return self._standardize(embeddings)

    def _squared_distances(self, queries: np.ndarray) -> np.ndarray:
        train = self.train_embeddings_
        # float64 for the expansion |a|^2 + |b|^2 - 2ab: in float32 the
        # cancellation between large norms of 6144-d vectors loses the
        # small distances that matter most here.
        queries64 = queries.astype(np.float64)
        train64 = train.astype(np.float64)
        squared = (
            np.einsum("ij,ij->i", queries64, queries64)[:, None]
            + np.einsum("ij,ij->i", train64, train64)[None, :]
            - 2.0 * queries64 @ train64.T
        )
        return np.maximum(squared, 0.0)

    def _neighbours(self, queries: np.ndarray, k: int):
        distances_out = np.empty((queries.shape[0], k), dtype=np.float64)
        indices_out = np.empty((queries.shape[0], k), dtype=np.int64)
        for start in range(0, queries.shape[0], _BLOCK_ROWS):
            block = queries[start : start + _BLOCK_ROWS]
            squared = self._squared_distances(block)
            if k < squared.shape[1]:
                candidates = np.argpartition(squared, k - 1, axis=1)[:, :k]
            else:
                candidates = np.tile(np.arange(squared.shape[1]), (block.shape[0], 1))
            candidate_distances = np.take_along_axis(squared, candidates, axis=1)
            order = np.argsort(candidate_distances, axis=1, kind="stable")
            indices_out[start : start + block.shape[0]] = np.take_along_axis(candidates, order, axis=1)
            distances_out[start : start + block.shape[0]] = np.sqrt(
                np.take_along_axis(candidate_distances, order, axis=1)
            )
        return distances_out, indices_out

    def _leave_one_out_scores(self) -> np.ndarray:
        # kneighbors() without queries leaves each training embedding out of its own neighbours.
        index = NearestNeighbors(n_neighbors=self.n_neighbors_, algorithm="brute").fit(self.train_embeddings_)
        distances, _ = index.kneighbors()
        return distances.mean(axis=1).astype(np.float32)


def _as_matrix(embeddings: np.ndarray, what: str) -> np.ndarray:
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if embeddings.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n, features), got shape {embeddings.shape}")
    if not np.all(np.isfinite(embeddings)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return embeddings
