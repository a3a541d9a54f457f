"""Operating points: where to put the reject threshold, from scores and labels.

Decision rule everywhere: ``score >= threshold`` -> reject (defective), as in
:mod:`.metrics`. Each rule first decides which observed scores to reject
(the lowest rejected score ``s``), then places the threshold strictly between
two observed scores, never on one:

* in the middle of the gap between ``s`` and the next lower observed score
  (of either class), so a part scoring a little differently on the line than
  on the calibration images is not decided by a hair;
* rejecting every image: below the lowest score by half the gap to the
  second-lowest distinct score, but never past half-way to 0 when the
  lowest score is positive (distance scores stay non-negative);
* rejecting nothing: above the highest score by half the gap to the
  second-highest distinct score;
* when all scores are equal there is no gap: the threshold lies 1 % of the
  score (0.01 for a score of 0) below or above it, and the ``note`` says
  that the calibration images cannot tell the classes apart.

The reported precision, recall and false-call rate are therefore exactly
what the rule does on the calibration images, ties included (a threshold
never splits a run of equal scores).

Edge cases (decided once, applied by every function):

* no defective image: ``max_f1_threshold`` and ``escape_budget_threshold``
  raise ValueError (recall is undefined; use ``normal_quantile_threshold``
  or ``false_call_budget_threshold``, whose recall is then NaN);
* no normal image: ``false_call_budget_threshold`` raises ValueError; the
  others work and report a NaN false-call rate;
* a single defective image: recall can only be 0 or 1, so any positive recall
  target puts the threshold just below that image's score, and the Wilson interval
  on recall is wide (about 0.21..1 at 95 %) - which is the honest message;
* ``uncertain_band`` needs both classes.

Fractional targets are compared with a tolerance of 1e-9 so that, e.g., a
false-call budget of 0.1 on 10 normal images allows exactly one false call
despite 0.1 * 10 being 0.9999999999999998 in floating point.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .metrics import json_number, rates_from_counts, validated_labels_and_scores, wilson_interval

TARGET_TOLERANCE = 1e-9


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold with what it does on the calibration images."""

    threshold: float
    precision: float
    recall: float
    f1: float
    false_call_rate: float
    recall_interval: tuple[float, float]  # Wilson 95 % interval of recall
    method: str  # which rule chose the threshold, e.g. "max-f1"
    note: str = ""
    calibrated_from: str = "labelled"  # or "normal-only"
    false_call_interval: tuple[float, float] = (math.nan, math.nan)  # Wilson 95 %
    counts: dict = field(default_factory=dict)  # tp, fp, tn, fn

    def as_dict(self) -> dict:
        """Plain JSON-able dict; NaN and infinity become None."""
        return _json_ready(asdict(self))


@dataclass(frozen=True)
class UncertainBand:
    """Two thresholds: below ``lower`` pass, ``>= upper`` reject, in between send to review."""

    lower: float
    upper: float
    review_rate: float  # share of all calibration images in [lower, upper)
    review_rate_normal: float  # share of normal images in the band
    review_rate_defective: float  # share of defective images in the band
    recall: float  # share of defects NOT passed automatically (score >= lower)
    recall_interval: tuple[float, float]
    false_call_rate: float  # share of normal images rejected automatically (score >= upper)
    false_call_interval: tuple[float, float]
    min_recall: float
    max_false_call_rate: float
    note: str = ""

    def as_dict(self) -> dict:
        return _json_ready(asdict(self))


def _json_ready(value):
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return json_number(value)


def _point(labels, scores, threshold, method, note="", calibrated_from="labelled") -> OperatingPoint:
    rejected = scores >= threshold
    tp = int(np.sum(rejected & labels))
    fp = int(np.sum(rejected & ~labels))
    tn = int(np.sum(~rejected & ~labels))
    fn = int(np.sum(~rejected & labels))
    rates = rates_from_counts(tp, fp, tn, fn)
    return OperatingPoint(
        threshold=float(threshold),
        precision=rates["precision"],
        recall=rates["recall"],
        f1=rates["f1"],
        false_call_rate=rates["false_call_rate"],
        recall_interval=wilson_interval(tp, tp + fn),
        method=method,
        note=note,
        calibrated_from=calibrated_from,
        false_call_interval=wilson_interval(fp, fp + tn),
        counts={"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    )


def _point_rejecting_from(labels, scores, lowest_rejected, method, note="") -> OperatingPoint:
    """The point whose threshold lies in the gap below `lowest_rejected`, the placement saying so in the note."""
    threshold, gap_note = threshold_between_scores(scores, lowest_rejected)
    return _point(labels, scores, threshold, method, _joined(note, gap_note))


def _check_fraction(value: float, name: str, *, allow_zero: bool, allow_one: bool = True) -> None:
    low_ok = value >= 0.0 if allow_zero else value > 0.0
    high_ok = value <= 1.0 if allow_one else value < 1.0
    if not (low_ok and high_ok and math.isfinite(value)):
        raise ValueError(f"{name} must be in {'[' if allow_zero else '('}0, 1{']' if allow_one else ')'}, got {value}")


def _highest_threshold_for_recall(defect_scores: np.ndarray, min_recall: float) -> float:
    """The k-th highest defect score, k the fewest defects that reach ``min_recall``."""
    needed = math.ceil(min_recall * defect_scores.size - TARGET_TOLERANCE)
    return float(np.sort(defect_scores)[::-1][max(needed, 1) - 1])


def _lowest_threshold_for_false_calls(normal_scores, all_scores, max_false_call_rate) -> tuple[float, str]:
    """Lowest observed score from which at most the allowed share of normal images is rejected.

    ``math.inf`` (reject nothing) when no observed score meets the budget.
    """
    allowed = math.floor(max_false_call_rate * normal_scores.size + TARGET_TOLERANCE)
    if allowed >= normal_scores.size:
        return float(all_scores.min()), ""
    # Rejecting more than `allowed` normals starts at the (allowed+1)-th highest
    # normal score; the threshold must lie strictly above it.
    first_too_many = np.sort(normal_scores)[::-1][allowed]
    above = all_scores[all_scores > first_too_many]
    if above.size:
        return float(above.min()), ""
    return math.inf, "only rejecting nothing meets the false-call budget: the threshold lies above the highest score"


NO_GAP_NOTE = "all scores are equal: the calibration images cannot tell normal from defective parts"


def threshold_between_scores(all_scores, lowest_rejected: float) -> tuple[float, str]:
    """The threshold that rejects exactly the scores ``>= lowest_rejected``, placed mid-gap (see the module doc).

    ``lowest_rejected`` is an observed score, or ``math.inf`` to reject none.
    Returns ``(threshold, note)``; the note is empty unless the scores leave no gap.
    """
    distinct = np.unique(np.asarray(all_scores, dtype=np.float64))
    if distinct.size == 1:
        score = float(distinct[0])
        step = abs(score) * 0.01 if score != 0.0 else 0.01
        return (score + step if lowest_rejected > score else score - step), NO_GAP_NOTE
    if lowest_rejected > distinct[-1]:
        return float(distinct[-1] + (distinct[-1] - distinct[-2]) / 2.0), ""
    if lowest_rejected <= distinct[0]:
        half_gap = (distinct[1] - distinct[0]) / 2.0
        if distinct[0] > 0.0:
            half_gap = min(half_gap, distinct[0] / 2.0)
        return float(distinct[0] - half_gap), ""
    below = float(distinct[distinct < lowest_rejected].max())
    middle = (below + lowest_rejected) / 2.0
    if not below < middle < lowest_rejected:  # adjacent floats: no number lies between them
        middle = lowest_rejected
    return float(middle), ""


def _joined(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def max_f1_threshold(labels, scores) -> OperatingPoint:
    """Threshold with the highest F1 on the calibration images.

    Among equal F1 values the highest threshold wins (fewer false calls).
    Raises ValueError when there is no defective image.
    """
    label_array, score_array = validated_labels_and_scores(labels, scores)
    defect_count = int(label_array.sum())
    if defect_count == 0:
        raise ValueError("max-F1 needs at least one defective image; use normal_quantile_threshold")
    candidates = np.unique(score_array)[::-1]  # highest first, so argmax picks the highest on ties
    # Rejections at each candidate, computed for all candidates at once.
    sorted_defects = np.sort(score_array[label_array])
    sorted_normals = np.sort(score_array[~label_array])
    true_positives = defect_count - np.searchsorted(sorted_defects, candidates, side="left")
    false_positives = sorted_normals.size - np.searchsorted(sorted_normals, candidates, side="left")
    f1 = 2 * true_positives / (2 * true_positives + false_positives + (defect_count - true_positives))
    best = candidates[int(np.argmax(f1))]
    note = "" if sorted_normals.size else "no normal image: false-call rate unknown"
    return _point_rejecting_from(label_array, score_array, best, "max-f1", note)


def escape_budget_threshold(labels, scores, min_recall: float) -> OperatingPoint:
    """Highest threshold that still rejects at least ``min_recall`` of the defective images.

    Lowering a threshold can only raise recall (and false calls), so every
    threshold at or below the one returned also meets the target; "the lowest
    threshold meeting the recall target" in the everyday sense of "the most
    lenient setting" is this one: recall just reaches the target and false
    calls are as few as that allows. It rejects from the ``k``-th highest
    defect score with ``k = ceil(min_recall * number_of_defects)`` (the
    threshold lies mid-gap below that score); ties above it may make the
    achieved recall higher than the target.
    """
    _check_fraction(min_recall, "min_recall", allow_zero=False)
    label_array, score_array = validated_labels_and_scores(labels, scores)
    if not label_array.any():
        raise ValueError("an escape budget needs at least one defective image")
    lowest_rejected = _highest_threshold_for_recall(score_array[label_array], min_recall)
    note = "" if (~label_array).any() else "no normal image: false-call rate unknown"
    return _point_rejecting_from(label_array, score_array, lowest_rejected, "escape-budget", note)


def false_call_budget_threshold(labels, scores, max_false_call_rate: float) -> OperatingPoint:
    """Lowest threshold rejecting at most ``max_false_call_rate`` of the normal images.

    That is the highest recall the false-call budget allows. It rejects from
    the lowest observed score (normal or defective) above the normal score
    whose rejection would exceed the budget, the threshold lying mid-way
    between those two scores. Recall is NaN when there is no
    defective image; ValueError when there is no normal image.
    """
    _check_fraction(max_false_call_rate, "max_false_call_rate", allow_zero=True)
    label_array, score_array = validated_labels_and_scores(labels, scores)
    if label_array.all():
        raise ValueError("a false-call budget needs at least one normal image")
    lowest_rejected, note = _lowest_threshold_for_false_calls(
        score_array[~label_array], score_array, max_false_call_rate
    )
    return _point_rejecting_from(label_array, score_array, lowest_rejected, "false-call-budget", note)


def uncertain_band(labels, scores, *, min_recall: float, max_false_call_rate: float) -> UncertainBand:
    """Pass / review / reject band meeting both a recall and a false-call target.

    ``upper`` is :func:`false_call_budget_threshold` (automatic rejects stay
    within the false-call budget) and ``lower`` is
    :func:`escape_budget_threshold` (at most ``1 - min_recall`` of the defects
    are passed automatically). Images with ``lower <= score < upper`` go to
    review. When one threshold meets both targets the band is empty:
    ``lower == upper`` = the false-call-budget threshold (the higher recall of
    the two) and the review rate is 0.
    """
    _check_fraction(min_recall, "min_recall", allow_zero=False)
    _check_fraction(max_false_call_rate, "max_false_call_rate", allow_zero=True)
    label_array, score_array = validated_labels_and_scores(labels, scores)
    if label_array.all() or not label_array.any():
        raise ValueError("an uncertain band needs both normal and defective images")
    lower = _highest_threshold_for_recall(score_array[label_array], min_recall)
    upper, note = _lowest_threshold_for_false_calls(score_array[~label_array], score_array, max_false_call_rate)
    collapsed = lower >= upper
    if collapsed:
        note = "one threshold meets both targets; no review band is needed"
    upper, gap_note = threshold_between_scores(score_array, upper)
    lower = upper if collapsed else threshold_between_scores(score_array, lower)[0]
    note = _joined(note, gap_note)
    in_band = (score_array >= lower) & (score_array < upper)
    defects_not_passed = int(np.sum(label_array & (score_array >= lower)))
    normals_rejected = int(np.sum(~label_array & (score_array >= upper)))
    defect_count = int(label_array.sum())
    normal_count = label_array.size - defect_count
    return UncertainBand(
        lower=float(lower),
        upper=float(upper),
        review_rate=float(in_band.mean()),
        review_rate_normal=float(in_band[~label_array].mean()),
        review_rate_defective=float(in_band[label_array].mean()),
        recall=defects_not_passed / defect_count,
        recall_interval=wilson_interval(defects_not_passed, defect_count),
        false_call_rate=normals_rejected / normal_count,
        false_call_interval=wilson_interval(normals_rejected, normal_count),
        min_recall=float(min_recall),
        max_false_call_rate=float(max_false_call_rate),
        note=note,
    )


def normal_quantile_threshold(normal_scores, quantile: float) -> OperatingPoint:
    """Threshold from normal images only, for when no defect is labelled yet.

    Rejects at most ``1 - quantile`` of the given normal scores, from the
    lowest observed score at which that holds, placed mid-gap (see
    :func:`false_call_budget_threshold`). With ``quantile = 1`` it lies above
    the highest score by half the gap below it. Precision and
    recall are NaN; ``calibrated_from`` is ``"normal-only"``. Typical input is
    a detector's leave-one-out ``training_scores_``.
    """
    _check_fraction(quantile, "quantile", allow_zero=True)
    score_array = np.asarray(normal_scores, dtype=np.float64).ravel()
    labels = np.zeros(score_array.size, dtype=int)
    label_array, score_array = validated_labels_and_scores(labels, score_array)
    lowest_rejected, note = _lowest_threshold_for_false_calls(score_array, score_array, 1.0 - quantile)
    threshold, gap_note = threshold_between_scores(score_array, lowest_rejected)
    note = _joined(note, gap_note) or f"calibrated on {score_array.size} normal images only; recall unknown"
    return _point(label_array, score_array, threshold, "normal-quantile", note, calibrated_from="normal-only")
