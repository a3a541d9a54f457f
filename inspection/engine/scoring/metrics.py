"""Evaluation metrics: pure functions of scores, labels, masks and anomaly maps.

Conventions used by every function here and in :mod:`.thresholds`:

* **Labels**: 1 (or True) = defective, 0 (or False) = normal. Any other value
  is a ValueError.
* **Scores**: higher = more anomalous.
* **Decision rule**: an image (or pixel) is called defective when
  ``score >= threshold``. A threshold equal to an observed score therefore
  rejects that image.
* **Degenerate inputs**:

  - empty inputs, mismatched lengths or shapes, non-finite scores and invalid
    labels raise ValueError (they are caller bugs);
  - whole-curve metrics (ROC, PR, AUROC, AP, pixel AUROC) need at least one
    normal and one defective sample and raise ValueError otherwise, because
    the number would be meaningless rather than merely unknown;
  - ratios at a fixed threshold (precision, recall, F1, false-call rate,
    per-region recall, Wilson intervals) whose denominator is zero are NaN,
    while their counts stay exact; precision and F1 are also NaN when there
    is no defective sample (nothing to find is not a precision of 0). Callers serialising to strict JSON map NaN
    to null (see :func:`json_number`).

Curves, AUROC and AP are scikit-learn's (``roc_curve``,
``precision_recall_curve``, ``roc_auc_score``, ``average_precision_score``:
tied scores count half in AUROC; AP is the step-wise sum of precision times
recall increase, not an interpolated area), wrapped to refuse the degenerate
inputs above and to return plain JSON-able lists. What scikit-learn lacks stays
here: pixel AUROC over more pixels than fit in memory, rates and counts at one
threshold, Wilson intervals, per-region recall and score histograms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import cv2
import numpy as np
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

ArrayLike = np.ndarray | Sequence

# Below this many pixels pixel_auroc is computed exactly; above it, by counting
# pixels in quantile bins (see pixel_auroc).
PIXEL_AUROC_EXACT_LIMIT = 4_000_000
PIXEL_AUROC_BINS = 65_536


def validated_labels_and_scores(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    label_array = np.asarray(labels).ravel()
    score_array = np.asarray(scores, dtype=np.float64).ravel()
    if label_array.size == 0:
        raise ValueError("no samples: labels and scores are empty")
    if label_array.shape != score_array.shape:
        raise ValueError(f"{label_array.size} labels but {score_array.size} scores")
    if label_array.dtype != bool:
        valid = np.isin(label_array, (0, 1))
        if not valid.all():
            raise ValueError("labels must be 0 (normal) or 1 (defective)")
    if not np.isfinite(score_array).all():
        raise ValueError("scores contain NaN or infinity")
    return label_array.astype(bool), score_array


def _require_both_classes(labels: np.ndarray, what: str) -> None:
    defective = int(labels.sum())
    if defective == 0 or defective == labels.size:
        kind = "defective" if defective == 0 else "normal"
        raise ValueError(f"{what} needs both normal and defective samples; there is no {kind} one")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def json_number(value: float) -> float | None:
    """``value`` as a plain float, or None when it is NaN or infinite (strict JSON)."""
    value = float(value)
    return value if math.isfinite(value) else None


def roc_curve_points(labels: ArrayLike, scores: ArrayLike, *, drop_intermediate: bool = True) -> dict:
    """ROC curve as plain lists: ``{"fpr": [...], "tpr": [...], "thresholds": [...]}``.

    scikit-learn's ``roc_curve``: points from (0, 0) to (1, 1) with decreasing
    thresholds. The first point (reject nothing) has the threshold ``None``
    instead of infinity so that the dict is valid JSON.
    """
    label_array, score_array = validated_labels_and_scores(labels, scores)
    _require_both_classes(label_array, "a ROC curve")
    false_positive_rate, true_positive_rate, thresholds = roc_curve(
        label_array, score_array, drop_intermediate=drop_intermediate
    )
    return {
        "fpr": false_positive_rate.tolist(),
        "tpr": true_positive_rate.tolist(),
        "thresholds": [None] + thresholds[1:].tolist(),
    }


def pr_curve_points(labels: ArrayLike, scores: ArrayLike) -> dict:
    """Precision-recall curve as plain lists: ``{"precision", "recall", "thresholds"}``.

    scikit-learn's ``precision_recall_curve``: increasing thresholds, recall
    falling, ending at (recall 0, precision 1). That last point has no
    threshold; it is listed as ``None`` so that all three lists have the same
    length.
    """
    label_array, score_array = validated_labels_and_scores(labels, scores)
    _require_both_classes(label_array, "a precision-recall curve")
    precision, recall, thresholds = precision_recall_curve(label_array, score_array)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "thresholds": thresholds.tolist() + [None],
    }


def image_auroc(labels: ArrayLike, scores: ArrayLike) -> float:
    """Area under the ROC curve (scikit-learn's ``roc_auc_score``); ties count half."""
    label_array, score_array = validated_labels_and_scores(labels, scores)
    _require_both_classes(label_array, "AUROC")
    return float(roc_auc_score(label_array, score_array))


def average_precision(labels: ArrayLike, scores: ArrayLike) -> float:
    """Average precision (scikit-learn's ``average_precision_score``).

    AP = sum over distinct thresholds (high to low) of precision there times the
    increase in recall there; no interpolation.
    """
    label_array, score_array = validated_labels_and_scores(labels, scores)
    _require_both_classes(label_array, "average precision")
    return float(average_precision_score(label_array, score_array))


def _masks_and_maps(masks, maps) -> tuple[list[np.ndarray], list[np.ndarray]]:
    mask_list = [np.asarray(mask) for mask in masks]
    map_list = [np.asarray(anomaly_map) for anomaly_map in maps]
    if not mask_list:
        raise ValueError("no masks and maps given")
    if len(mask_list) != len(map_list):
        raise ValueError(f"{len(mask_list)} masks but {len(map_list)} maps")
    for index, (mask, anomaly_map) in enumerate(zip(mask_list, map_list)):
        if mask.shape != anomaly_map.shape:
            raise ValueError(f"image {index}: mask shape {mask.shape} differs from map shape {anomaly_map.shape}")
    return mask_list, map_list


def pixel_auroc(masks, maps, *, exact_limit: int = PIXEL_AUROC_EXACT_LIMIT, bins: int = PIXEL_AUROC_BINS) -> float:
    """Pixel-level AUROC over all pixels of all images (masks: non-zero = defect).

    Up to ``exact_limit`` pixels in total the result equals scikit-learn's
    ``roc_auc_score`` on the flattened arrays. Beyond that, holding and sorting
    every pixel would need gigabytes, so pixels are counted per image into
    ``bins`` bins whose edges are quantiles of a deterministic strided sample
    of all map values (no randomness: the same inputs give the same number).
    Pixels sharing a bin are treated as tied (counted half), so the error is at
    most half the share of (defect, normal) pixel pairs that share a bin; with
    65,536 quantile bins that is of the order of 1e-5. Memory stays at one
    image at a time plus the sample.
    """
    mask_list, map_list = _masks_and_maps(masks, maps)
    total_pixels = sum(mask.size for mask in mask_list)
    if total_pixels <= exact_limit:
        labels = np.concatenate([(mask != 0).ravel() for mask in mask_list])
        values = np.concatenate([anomaly_map.ravel() for anomaly_map in map_list]).astype(np.float64)
        return image_auroc(labels, values)

    sample_step = max(1, total_pixels // (16 * bins))
    sample = np.concatenate([anomaly_map.ravel()[::sample_step] for anomaly_map in map_list])
    edges = np.unique(np.quantile(sample.astype(np.float64), np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    positive_counts = np.zeros(edges.size + 1, dtype=np.int64)
    negative_counts = np.zeros(edges.size + 1, dtype=np.int64)
    for mask, anomaly_map in zip(mask_list, map_list):
        values = anomaly_map.ravel().astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError("anomaly maps contain NaN or infinity")
        bin_index = np.searchsorted(edges, values, side="right")
        defect = (mask != 0).ravel()
        positive_counts += np.bincount(bin_index[defect], minlength=edges.size + 1)
        negative_counts += np.bincount(bin_index[~defect], minlength=edges.size + 1)
    if positive_counts.sum() == 0 or negative_counts.sum() == 0:
        raise ValueError("pixel AUROC needs both defect and normal pixels")
    # One weighted sample per (bin, class): scikit-learn's area over those
    # counts ties the pixels of a bin, as described above.
    bin_values = np.arange(edges.size + 1, dtype=np.float64)
    return float(
        roc_auc_score(
            np.r_[np.ones(bin_values.size), np.zeros(bin_values.size)],
            np.r_[bin_values, bin_values],
            sample_weight=np.r_[positive_counts, negative_counts].astype(np.float64),
        )
    )


def confusion_at(labels: ArrayLike, scores: ArrayLike, threshold: float) -> dict:
    """Counts ``{"tp", "fp", "tn", "fn"}`` for the rule ``score >= threshold`` -> defective."""
    label_array, score_array = validated_labels_and_scores(labels, scores)
    rejected = score_array >= threshold
    return {
        "tp": int(np.sum(rejected & label_array)),
        "fp": int(np.sum(rejected & ~label_array)),
        "tn": int(np.sum(~rejected & ~label_array)),
        "fn": int(np.sum(~rejected & label_array)),
    }


def rates_from_counts(tp: int, fp: int, tn: int, fn: int) -> dict:
    """Counts plus precision, recall, F1, false-call rate and accuracy (NaN when undefined).

    With no defective sample at all, precision and F1 are NaN rather than 0:
    there was nothing to find, and a 0 would read as a failure.
    """
    no_defects = tp + fn == 0
    return {
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "precision": math.nan if no_defects else _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        # 2TP / (2TP + FP + FN) stays defined when precision is not (nothing rejected).
        "f1": math.nan if no_defects else _ratio(2 * tp, 2 * tp + fp + fn),
        "false_call_rate": _ratio(fp, fp + tn),
        "accuracy": _ratio(tp + tn, tp + fp + tn + fn),
    }


def rates_at(labels: ArrayLike, scores: ArrayLike, threshold: float) -> dict:
    """Confusion counts and rates at ``threshold`` (``score >= threshold`` -> defective).

    ``recall`` is the share of defective images rejected, ``false_call_rate``
    the share of normal images rejected. Undefined ratios are NaN, and so are
    precision and F1 when there is no defective sample.
    """
    return rates_from_counts(**confusion_at(labels, scores, threshold))


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; ``(nan, nan)`` when ``trials == 0``.

    Preferred to the normal approximation because it stays inside [0, 1] and
    is sensible at 0/n and n/n, which is where inspection recalls live.
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if trials == 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    proportion = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (proportion + z * z / (2 * trials)) / denominator
    half_width = z * math.sqrt(proportion * (1 - proportion) / trials + z * z / (4 * trials * trials)) / denominator
    # Rounding leaves ~1e-17 residues at the ends; 0/n starts at 0 and n/n ends at 1 exactly.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return (low, high)


def count_detected_regions(masks, maps, threshold: float) -> tuple[int, int]:
    """(detected, total) connected annotated regions; see :func:`per_region_recall`."""
    mask_list, map_list = _masks_and_maps(masks, maps)
    detected = 0
    total = 0
    for mask, anomaly_map in zip(mask_list, map_list):
        binary = (mask != 0).astype(np.uint8)
        if not binary.any():
            continue
        region_count, region_labels = cv2.connectedComponents(binary, connectivity=8)
        region_count -= 1  # label 0 is the background
        # Highest map value inside each region, all regions in one pass.
        region_max = np.full(region_count + 1, -np.inf)
        np.maximum.at(region_max, region_labels.ravel(), anomaly_map.ravel().astype(np.float64))
        detected += int(np.sum(region_max[1:] >= threshold))
        total += region_count
    return detected, total


def per_region_recall(masks, maps, threshold: float) -> float:
    """Share of connected defect regions (8-connectivity) that the map flags anywhere.

    A region counts as found when its highest map value is ``>= threshold``
    (the engine-wide decision rule). Regions are counted per image, so a large
    scratch and a speck weigh the same, unlike pixel AUROC. NaN when the masks
    hold no region at all.
    """
    detected, total = count_detected_regions(masks, maps, threshold)
    return _ratio(detected, total)


def score_histogram(labels: ArrayLike, scores: ArrayLike, bins: int | Sequence[float] = 30) -> dict:
    """Histogram of normal and defective scores on shared bin edges, as plain lists.

    Returns ``{"edges": [...], "normal": [...], "defective": [...]}``; ``edges``
    has one more entry than the counts. ``bins`` is a count (edges spanning all
    scores) or explicit edges. Either class may be absent (its counts are 0).
    """
    label_array, score_array = validated_labels_and_scores(labels, scores)
    edges = np.histogram_bin_edges(score_array, bins=bins)
    normal_counts, _ = np.histogram(score_array[~label_array], bins=edges)
    defective_counts, _ = np.histogram(score_array[label_array], bins=edges)
    return {
        "edges": edges.tolist(),
        "normal": normal_counts.astype(int).tolist(),
        "defective": defective_counts.astype(int).tolist(),
    }
