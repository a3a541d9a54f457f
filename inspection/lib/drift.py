"""Whether the scores of recent good parts still look like the good evaluation images' scores.

The statistic is the population stability index (PSI) of the recent scores
against the reference scores. The reference's deciles cut the score axis into
ten bins (the outer two open-ended), so each bin holds a tenth of the
reference; with r_i and e_i the recent and reference shares of bin i,

    PSI = sum_i (r_i - e_i) * ln(r_i / e_i).

Shares are smoothed by half a part per bin so that an empty bin does not make
the index infinite. PSI is 0 for identical distributions; the usual reading is
below 0.1 no change, 0.1 to 0.25 a moderate shift, above 0.25 a significant
one. Two samples drawn from one distribution still differ by chance: with ten
bins and n recent against m reference scores the expected PSI is about
9 * (1/n + 1/m), about 0.06 for 200 against 300.

The median shift says which way it moved, in units of the reference's
interquartile range ("recent good parts score 1.3 IQR higher").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BINS = 10
SMOOTHING = 0.5


@dataclass(frozen=True)
class DriftStatistic:
    psi: float
    recent_count: int
    reference_count: int
    recent_median: float
    reference_median: float
    # (recent median - reference median) / reference IQR; 0 when the reference has no spread.
    median_shift: float

    def as_dict(self) -> dict:
        return asdict(self)


def bin_edges(reference: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Inner edges between the reference's quantile bins (repeated values merged)."""
    quantiles = np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(quantiles)


def population_stability_index(reference, recent, bins: int = BINS) -> float:
    reference = np.asarray(reference, dtype=float)
    recent = np.asarray(recent, dtype=float)
    if reference.size == 0 or recent.size == 0:
        raise ValueError("Both score samples need at least one score.")
    edges = bin_edges(reference, bins)
    # side="right": a score equal to an edge goes to the bin above it, for both samples alike.
    reference_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=edges.size + 1)
    recent_counts = np.bincount(np.searchsorted(edges, recent, side="right"), minlength=edges.size + 1)
    expected = (reference_counts + SMOOTHING) / (reference.size + SMOOTHING * reference_counts.size)
    actual = (recent_counts + SMOOTHING) / (recent.size + SMOOTHING * recent_counts.size)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def drift_statistic(reference, recent, bins: int = BINS) -> DriftStatistic:
    reference = np.asarray(reference, dtype=float)
    recent = np.asarray(recent, dtype=float)
    psi = population_stability_index(reference, recent, bins)
    reference_median, recent_median = float(np.median(reference)), float(np.median(recent))
    spread = float(np.subtract(*np.quantile(reference, [0.75, 0.25])))
    shift = (recent_median - reference_median) / spread if spread > 0 else 0.0
    return DriftStatistic(
        psi=psi,
        recent_count=int(recent.size),
        reference_count=int(reference.size),
        recent_median=recent_median,
        reference_median=reference_median,
        median_shift=shift,
    )
