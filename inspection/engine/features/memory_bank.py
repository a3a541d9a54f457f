"""The memory bank of ``patch-knn``: each query patch's distance to its nearest normal patch.

The bank is centred on its own mean once, which keeps the expansion
|a - b|^2 = |a|^2 + |b|^2 - 2ab accurate in float32, and queries are compared
with the whole bank block by block, so that the (patches x bank) distance
matrix held at once stays bounded. Training images are scored against the
bank without the entries drawn from them (``excluded_source``).
"""

from __future__ import annotations

import numpy as np

# Bound on the (patches x bank) distance block held at once, in float32 values.
DISTANCE_BLOCK_VALUES = 16_000_000


class PatchMemoryBank:
    """Nearest-entry distances to a fixed bank of patch features, each entry tagged with its source image."""

    def __init__(self, features: np.ndarray, sources: np.ndarray):
        features = np.asarray(features, dtype=np.float32)
        self.sources = np.asarray(sources)
        if features.ndim != 2 or len(self.sources) != len(features):
            raise ValueError("a memory bank needs one source index per feature row")
        self.centre = features.mean(axis=0)
        self.centred = features - self.centre
        self.squared_norms = np.einsum("ij,ij->i", self.centred, self.centred)

    def nearest_distances(self, patches: np.ndarray, *, excluded_source: int | None = None) -> np.ndarray:
        """Euclidean distance of each row of ``patches`` (n, D) to its nearest bank entry, shape (n,), float32.

        With ``excluded_source`` the entries taken from that image are left
        out, unless the bank holds nothing else.
        """
        queries = np.asarray(patches, dtype=np.float32) - self.centre
        bank, bank_norms = self.centred, self.squared_norms
        if excluded_source is not None:
            kept = self.sources != excluded_source
            if kept.any():  # a bank drawn from one image only leaves nothing to hold out against
                bank, bank_norms = bank[kept], bank_norms[kept]
        rows = max(1, DISTANCE_BLOCK_VALUES // len(bank))
        distances = np.empty(len(queries), dtype=np.float32)
        for start in range(0, len(queries), rows):
            block = queries[start : start + rows]
            squared = (bank_norms[None, :] - 2.0 * (block @ bank.T)).min(axis=1) + np.einsum("ij,ij->i", block, block)
            distances[start : start + rows] = np.sqrt(np.maximum(squared, 0.0))
        return distances
