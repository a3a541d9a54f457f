"""Each method's scoring pass, re-stated in numpy and OpenCV around the exported ONNX graphs.

Every step mirrors the engine's method of the same name (``inspection.engine.methods``)
in the same order and precision, so that an archive's scores equal the
platform's; the networks themselves run in ONNX Runtime. A scorer takes
registered float32 (H, W, C) images in [0, 1] and returns, per image, the score,
the anomaly map (H, W) and, where the method has one, the index of the nearest
training image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

# Patch cutting and stitching are plain numpy shared with the engine.
from inspection.engine.data.imageio import to_gray
from inspection.engine.networks.cpcae_patches import extract_patches, reassemble

# Bound on the (patches x bank) distance block held at once, in float32 values.
DISTANCE_BLOCK_VALUES = 16_000_000

Graph = Callable[..., list]


@dataclass
class Outcome:
    """What one pass over a batch of registered images gives."""

    scores: np.ndarray  # (n,) float64
    maps: np.ndarray  # (n, H, W) float32
    reconstructions: np.ndarray | None = None
    nearest_indices: np.ndarray | None = None


def knn_scores(embeddings, mean, scale, training, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean distance to the k nearest standardised training embeddings, and the nearest index."""
    queries = ((np.asarray(embeddings, np.float32) - mean) / scale).astype(np.float32).astype(np.float64)
    training = training.astype(np.float64)
    squared = (
        np.einsum("ij,ij->i", queries, queries)[:, None]
        + np.einsum("ij,ij->i", training, training)[None, :]
        - 2.0 * queries @ training.T
    )
    squared = np.maximum(squared, 0.0)
    order = np.argsort(squared, axis=1, kind="stable")[:, :k]
    distances = np.sqrt(np.take_along_axis(squared, order, axis=1))
    return distances.mean(axis=1).astype(np.float32).astype(np.float64), order[:, 0]


def three_channels(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.repeat(batch, 3, axis=-1) if batch.shape[-1] == 1 else batch, dtype=np.float32)


class CPCAEReconstruction:
    """The conditional patch autoencoder: downsize, cut patches, run the graph, stitch, upsize."""

    def __init__(self, graph: Graph, spec: dict[str, Any], arrays: dict[str, np.ndarray], image_shape):
        self.graph = graph
        self.image_shape = tuple(image_shape)
        self.downsized_shape = tuple(int(side) for side in spec["downsized_shape"])
        self.patch_size = int(spec["patch_size"])
        self.positions = [tuple(int(value) for value in row) for row in arrays["cpcae.positions"]]
        count = len(self.positions)
        self.conditions = (np.arange(count, dtype=np.float32) / count)[:, None]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        height, width, channels = self.image_shape
        output = np.empty((len(batch), height, width, channels), np.float32)
        for index, image in enumerate(batch):
            small = cv2.resize(image, self.downsized_shape[::-1], interpolation=cv2.INTER_AREA)
            small = small.reshape(self.downsized_shape + (channels,))
            patches = extract_patches(small, self.positions, self.patch_size)
            predicted = np.asarray(self.graph(patches, self.conditions)[0], dtype=np.float32).reshape(patches.shape)
            rebuilt = reassemble(predicted, self.positions, small.shape)
            large = cv2.resize(rebuilt, (width, height), interpolation=cv2.INTER_LINEAR)
            output[index] = large.reshape(height, width, channels)
        return output


class AutoencoderL2Scorer:
    def __init__(self, graphs, spec, arrays, image_shape):
        self.reconstruct = CPCAEReconstruction(graphs["cpcae"], spec["cpcae"], arrays, image_shape)

    def __call__(self, batch: np.ndarray) -> Outcome:
        reconstructions = self.reconstruct(batch)
        residuals = np.abs(batch - reconstructions)
        scores = np.sqrt((residuals**2).reshape(len(residuals), -1).mean(axis=1))
        return Outcome(scores.astype(np.float64), residuals.mean(axis=-1), reconstructions)


class CPCAEKNNScorer:
    def __init__(self, graphs, spec, arrays, image_shape):
        self.reconstruct = CPCAEReconstruction(graphs["cpcae"], spec["cpcae"], arrays, image_shape)
        self.embed = graphs["embedding"]
        self.gain = float(spec["map_gain"])
        self.scale = arrays.get("residual_scale")
        self.knn = KNNMemory(spec["knn"], arrays, "knn.")

    def __call__(self, batch: np.ndarray) -> Outcome:
        reconstructions = self.reconstruct(batch)
        residuals = np.abs(batch - reconstructions)
        if self.scale is not None:
            residuals = residuals * (self.gain / self.scale)
        embeddings = np.concatenate([self.embed(three_channels(residual[None]))[0] for residual in residuals])
        scores, nearest = self.knn(embeddings)
        return Outcome(scores, residuals.mean(axis=-1), reconstructions, nearest)


class KNNMemory:
    def __init__(self, spec, arrays, prefix: str):
        self.k = int(spec["n_neighbors"])
        self.mean = arrays[f"{prefix}scaler_mean"]
        self.scale = arrays[f"{prefix}scaler_scale"]
        self.training = arrays[f"{prefix}train_embeddings"]

    def __call__(self, embeddings):
        return knn_scores(embeddings, self.mean, self.scale, self.training, self.k)


class DeepFeatureScorer:
    def __init__(self, graphs, spec, arrays, image_shape):
        self.forward = graphs["features"]
        self.feature_mean = arrays["feature_mean"]
        self.knn = KNNMemory(spec["knn"], arrays, "knn.")
        self.image_shape = tuple(image_shape)

    def __call__(self, batch: np.ndarray) -> Outcome:
        height, width = self.image_shape[:2]
        pooled, maps = [], np.empty((len(batch), height, width), np.float32)
        for index, image in enumerate(batch):
            image_pooled, feature_maps = self.forward(three_channels(image[None]))
            pooled.append(image_pooled)
            deviation = np.abs(feature_maps[0] - self.feature_mean).mean(axis=-1)
            maps[index] = cv2.resize(deviation, (width, height), interpolation=cv2.INTER_LINEAR)
        scores, nearest = self.knn(np.concatenate(pooled))
        return Outcome(scores, maps, None, nearest)


class VariationScorer:
    def __init__(self, graphs, spec, arrays, image_shape):
        self.mean = arrays["mean"]
        self.scale = np.maximum(arrays["std"], np.float32(spec["std_floor"]))

    def __call__(self, batch: np.ndarray) -> Outcome:
        greys = np.stack([to_gray(image) for image in batch]).astype(np.float64)
        maps = (np.abs(greys - self.mean) / self.scale).astype(np.float32)
        scores = np.mean(maps.reshape(len(maps), -1).astype(np.float64) ** 2, axis=1)
        return Outcome(scores, maps)


class NearestImageScorer:
    def __init__(self, graphs, spec, arrays, image_shape):
        self.training = arrays["training_images"].astype(np.float32)
        self.working_shape = tuple(int(side) for side in spec["working_shape"])
        self.image_shape = tuple(image_shape)

    def __call__(self, batch: np.ndarray) -> Outcome:
        height, width = self.image_shape[:2]
        small_height, small_width, channels = self.working_shape
        scores, nearest = np.empty(len(batch)), np.empty(len(batch), np.int64)
        maps = np.empty((len(batch), height, width), np.float32)
        flat_training = self.training.reshape(len(self.training), -1)
        for index, image in enumerate(batch):
            if image.shape[:2] != (small_height, small_width):
                image = cv2.resize(image, (small_width, small_height), interpolation=cv2.INTER_AREA)
            image = image.reshape(self.working_shape)
            gaps = np.mean((flat_training - image.reshape(-1)) ** 2, axis=1, dtype=np.float64)
            nearest[index] = int(np.argmin(gaps))
            scores[index] = np.sqrt(gaps[nearest[index]])
            difference = np.abs(image - self.training[nearest[index]]).mean(axis=-1)
            maps[index] = cv2.resize(difference, (width, height), interpolation=cv2.INTER_LINEAR)
        return Outcome(scores, maps, None, nearest)


class PatchMemoryPass:
    """One pass of patch-knn: backbone patch features at one input size against its memory bank."""

    def __init__(self, graph: Graph, spec, arrays, prefix: str, image_shape):
        self.graph = graph
        self.input_shape = tuple(int(side) for side in spec["input_shape"])
        self.smoothing_sigma = float(spec["smoothing_sigma"] or 0.0)
        self.top_fraction = float(spec["score_top_fraction"])
        self.image_shape = tuple(image_shape)
        bank = np.ascontiguousarray(arrays[f"{prefix}memory_bank"], dtype=np.float32)
        self.descriptors = arrays[f"{prefix}training_descriptors"].astype(np.float32)
        self.bank_centre = bank.mean(axis=0)
        self.bank = bank - self.bank_centre
        self.bank_norms = np.einsum("ij,ij->i", self.bank, self.bank)

    def __call__(self, batch: np.ndarray) -> Outcome:
        height, width = self.input_shape
        count = len(batch)
        scores, nearest = np.empty(count), np.empty(count, np.int64)
        maps = np.empty((count,) + self.image_shape[:2], np.float32)
        for index, image in enumerate(batch):
            if image.shape[:2] != (height, width):
                shrinking = height * width < image.shape[0] * image.shape[1]
                interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
                image = cv2.resize(image, (width, height), interpolation=interpolation)
            image = image.reshape(height, width, -1)
            grid = self.graph(three_channels(image[None]))[0][0]
            maps[index] = self._map(self._distances(grid))
            count_top = max(1, int(round(self.top_fraction * maps[index].size)))
            scores[index] = float(np.mean(np.partition(maps[index].ravel(), -count_top)[-count_top:], dtype=np.float64))
            descriptor = grid.reshape(-1, grid.shape[-1]).mean(axis=0)
            nearest[index] = int(np.argmin(np.sum((self.descriptors - descriptor) ** 2, axis=1, dtype=np.float64)))
        return Outcome(scores, maps, None, nearest)

    def _distances(self, grid: np.ndarray) -> np.ndarray:
        patches = grid.reshape(-1, grid.shape[-1]) - self.bank_centre
        rows = max(1, DISTANCE_BLOCK_VALUES // len(self.bank))
        distances = np.empty(len(patches), dtype=np.float32)
        for start in range(0, len(patches), rows):
            block = patches[start : start + rows]
            squared = (self.bank_norms[None, :] - 2.0 * (block @ self.bank.T)).min(axis=1) + np.einsum(
                "ij,ij->i", block, block
            )
            distances[start : start + rows] = np.sqrt(np.maximum(squared, 0.0))
        return distances.reshape(grid.shape[:2])

    def _map(self, distances: np.ndarray) -> np.ndarray:
        height, width = self.image_shape[:2]
        anomaly_map = cv2.resize(distances.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        if self.smoothing_sigma > 0:
            sigma = self.smoothing_sigma * max(height, width) / max(self.input_shape)
            anomaly_map = cv2.GaussianBlur(
                anomaly_map, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT
            )
        return anomaly_map


class PatchKNNScorer:
    """patch-knn: one pass, or the larger of two passes each standardised by its own training scores."""

    def __init__(self, graphs, spec, arrays, image_shape):
        self.passes = [
            PatchMemoryPass(graphs[part["graph"]], part, arrays, part["prefix"], image_shape) for part in spec["passes"]
        ]
        self.normalisation = [tuple(float(value) for value in scale) for scale in spec.get("score_normalisation") or []]

    def __call__(self, batch: np.ndarray) -> Outcome:
        outcomes = [one_pass(batch) for one_pass in self.passes]
        if len(outcomes) == 1:
            return outcomes[0]
        scores = np.maximum(*[_standardised(o.scores, s) for o, s in zip(outcomes, self.normalisation, strict=True)])
        maps = np.maximum(*[_standardised(o.maps, s) for o, s in zip(outcomes, self.normalisation, strict=True)])
        return Outcome(scores, maps.astype(np.float32), None, outcomes[0].nearest_indices)


def _standardised(values, scale: tuple[float, float]) -> np.ndarray:
    location, spread = scale
    return (np.asarray(values, dtype=np.float64) - location) / spread


SCORERS = {
    "ae-l2": AutoencoderL2Scorer,
    "cpcae-knn": CPCAEKNNScorer,
    "deep-feature": DeepFeatureScorer,
    "variation": VariationScorer,
    "nearest-image": NearestImageScorer,
    "patch-knn": PatchKNNScorer,
}


def build_scorer(method: str, graphs: dict[str, Graph], spec: dict, arrays: dict, image_shape: Sequence[int]):
    try:
        scorer_class = SCORERS[method]
    except KeyError:
        raise ValueError(f"this runtime cannot score the method {method!r}; update the runtime") from None
    return scorer_class(graphs, spec, arrays, image_shape)
