import json
import math

import numpy as np
import pytest

from inspection.engine.scoring import thresholds
from inspection.engine.scoring.metrics import rates_at

# Five normal images scored 1..5, four defects scored 4, 6, 7, 8 (a tie at 4).
LABELS = [0, 0, 0, 0, 1, 0, 1, 1, 1]
SCORES = [1, 2, 3, 4, 4, 5, 6, 7, 8]


def test_max_f1_picks_the_score_with_the_best_f1_and_puts_the_threshold_mid_gap_below_it():
    point = thresholds.max_f1_threshold(LABELS, SCORES)
    assert point.threshold == 5.5  # rejects 6, 7, 8: half-way between 5 and 6
    assert point.recall == 0.75 and point.precision == 1.0 and point.false_call_rate == 0.0
    assert point.f1 == pytest.approx(6 / 7)
    assert point.method == "max-f1"


def test_max_f1_prefers_the_higher_threshold_among_equal_f1():
    labels = [1, 0, 0, 1]
    scores = [1, 2, 3, 4]
    # threshold 4: tp 1, fn 1 -> F1 2/3; threshold 1: tp 2, fp 2 -> F1 2/3 as well
    point = thresholds.max_f1_threshold(labels, scores)
    assert point.threshold == 3.5
    assert point.f1 == pytest.approx(2 / 3)


def test_escape_budget_gives_the_highest_threshold_that_reaches_the_recall_target():
    assert thresholds.escape_budget_threshold(LABELS, SCORES, 0.75).threshold == 5.5
    assert thresholds.escape_budget_threshold(LABELS, SCORES, 0.76).threshold == 3.5
    full = thresholds.escape_budget_threshold(LABELS, SCORES, 1.0)
    assert full.threshold == 3.5
    assert full.recall == 1.0
    # the tie at 4 is rejected as a whole: both the normal and the defect scored 4
    assert full.counts == {"tp": 4, "fp": 2, "tn": 3, "fn": 0}
    assert full.false_call_rate == pytest.approx(0.4)


def test_escape_budget_recall_may_exceed_the_target_when_defects_tie():
    point = thresholds.escape_budget_threshold([1, 1, 1, 0], [5, 5, 5, 1], 0.5)
    assert point.threshold == 3.0
    assert point.recall == 1.0


def test_false_call_budget_gives_the_lowest_threshold_within_the_budget():
    # 20 % of 5 normals = 1 false call: the normal at 5 may be rejected, the one at 4 may not,
    # so the threshold lies between 4 and the lowest score above it.
    assert thresholds.false_call_budget_threshold(LABELS, SCORES, 0.2).threshold == 4.5
    zero = thresholds.false_call_budget_threshold(LABELS, SCORES, 0.0)
    assert zero.threshold == 5.5 and zero.false_call_rate == 0.0
    everything = thresholds.false_call_budget_threshold(LABELS, SCORES, 1.0)
    # below the lowest score by half the gap above it (1 to 2), and not past half-way to 0
    assert everything.threshold == 0.5 and everything.false_call_rate == 1.0


def test_false_call_budget_respects_floating_point_fractions():
    labels = [0] * 10 + [1]
    scores = list(range(10)) + [20]
    # 0.1 * 10 is 0.9999999999999998 in floating point; one false call must still be allowed.
    assert thresholds.false_call_budget_threshold(labels, scores, 0.1).threshold == 8.5


def test_false_call_budget_steps_above_all_scores_when_only_rejecting_nothing_fits():
    point = thresholds.false_call_budget_threshold([1, 0], [1.0, 2.0], 0.0)
    assert point.threshold == 2.5  # half the gap between the two highest scores above the highest
    assert point.counts["fp"] == 0 and point.counts["tp"] == 0
    assert "above the highest score" in point.note


def test_thresholds_reproduce_their_rates_exactly():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(size=200) + labels, 1)  # many ties
    for point in (
        thresholds.max_f1_threshold(labels, scores),
        thresholds.escape_budget_threshold(labels, scores, 0.9),
        thresholds.false_call_budget_threshold(labels, scores, 0.05),
    ):
        assert point.threshold not in set(scores.tolist())
        below, above = scores[scores < point.threshold], scores[scores > point.threshold]
        assert point.threshold == pytest.approx((below.max() + above.min()) / 2)
        rates = rates_at(labels, scores, point.threshold)
        assert rates["recall"] == point.recall
        assert rates["false_call_rate"] == point.false_call_rate
    assert thresholds.escape_budget_threshold(labels, scores, 0.9).recall >= 0.9
    assert thresholds.false_call_budget_threshold(labels, scores, 0.05).false_call_rate <= 0.05


def test_all_normal_calibration_refuses_recall_rules_but_allows_false_call_rules():
    labels = [0, 0, 0, 0]
    scores = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError, match="defective"):
        thresholds.max_f1_threshold(labels, scores)
    with pytest.raises(ValueError, match="defective"):
        thresholds.escape_budget_threshold(labels, scores, 0.9)
    point = thresholds.false_call_budget_threshold(labels, scores, 0.25)
    assert point.threshold == 3.5
    assert math.isnan(point.recall) and math.isnan(point.precision)


def test_all_defect_calibration_refuses_false_call_rules_and_reports_unknown_false_calls():
    labels = [1, 1, 1]
    scores = [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="normal"):
        thresholds.false_call_budget_threshold(labels, scores, 0.1)
    point = thresholds.max_f1_threshold(labels, scores)
    assert point.threshold == 0.5 and point.recall == 1.0
    assert math.isnan(point.false_call_rate)
    assert "false-call rate unknown" in point.note


def test_a_single_defect_sets_the_recall_threshold_just_below_its_score_with_a_wide_interval():
    point = thresholds.escape_budget_threshold([0, 0, 1, 0], [1.0, 2.0, 1.5, 3.0], 0.5)
    assert point.threshold == 1.25  # between the normal at 1 and the defect at 1.5
    assert point.recall == 1.0
    low, high = point.recall_interval
    assert high == 1.0 and low == pytest.approx(0.2065, abs=1e-3)


def test_uncertain_band_sends_the_scores_between_both_targets_to_review():
    band = thresholds.uncertain_band(LABELS, SCORES, min_recall=1.0, max_false_call_rate=0.0)
    assert (band.lower, band.upper) == (3.5, 5.5)
    # scores 4, 4, 5 are in [3.5, 5.5): two normals and one defect
    assert band.review_rate == pytest.approx(3 / 9)
    assert band.review_rate_normal == pytest.approx(2 / 5)
    assert band.review_rate_defective == pytest.approx(1 / 4)
    assert band.recall == 1.0 and band.false_call_rate == 0.0


def test_uncertain_band_collapses_when_one_threshold_meets_both_targets():
    band = thresholds.uncertain_band(LABELS, SCORES, min_recall=0.5, max_false_call_rate=0.2)
    assert band.lower == band.upper == 4.5
    assert band.review_rate == 0.0
    assert "no review band" in band.note


def test_uncertain_band_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        thresholds.uncertain_band([0, 0], [1, 2], min_recall=0.9, max_false_call_rate=0.1)


def test_normal_quantile_threshold_is_calibrated_from_normal_images_only():
    scores = np.arange(1.0, 101.0)
    point = thresholds.normal_quantile_threshold(scores, 0.99)
    assert point.threshold == 99.5 and point.false_call_rate == pytest.approx(0.01)
    assert point.calibrated_from == "normal-only"
    assert math.isnan(point.recall)
    strict = thresholds.normal_quantile_threshold(scores, 1.0)
    assert strict.threshold == 100.5 and strict.false_call_rate == 0.0
    assert thresholds.normal_quantile_threshold([3.0, 3.0, 3.0], 0.5).threshold > 3.0


def test_targets_outside_zero_to_one_are_refused():
    with pytest.raises(ValueError, match="min_recall"):
        thresholds.escape_budget_threshold(LABELS, SCORES, 0.0)
    with pytest.raises(ValueError, match="max_false_call_rate"):
        thresholds.false_call_budget_threshold(LABELS, SCORES, 1.5)


def test_operating_points_serialise_to_strict_json():
    point = thresholds.normal_quantile_threshold([1.0, 2.0, 3.0], 0.9)
    data = point.as_dict()
    assert data["recall"] is None and data["recall_interval"] == [None, None]
    json.dumps(data, allow_nan=False)
    band = thresholds.uncertain_band(LABELS, SCORES, min_recall=1.0, max_false_call_rate=0.0)
    json.dumps(band.as_dict(), allow_nan=False)


def test_a_tie_between_a_normal_and_a_defect_is_never_split():
    # The normal and the defect both scored 4: either both are rejected or neither.
    labels = [0, 0, 1, 0, 1]
    scores = [1.0, 2.0, 4.0, 4.0, 6.0]
    for point in (
        thresholds.max_f1_threshold(labels, scores),
        thresholds.escape_budget_threshold(labels, scores, 1.0),
        thresholds.false_call_budget_threshold(labels, scores, 0.0),
    ):
        assert point.threshold not in scores
        rejected = [score >= point.threshold for score in scores]
        assert rejected[2] == rejected[3]
    full = thresholds.escape_budget_threshold(labels, scores, 1.0)
    assert full.threshold == 3.0 and full.counts == {"tp": 2, "fp": 1, "tn": 2, "fn": 0}
    strict = thresholds.false_call_budget_threshold(labels, scores, 0.0)
    assert strict.threshold == 5.0 and strict.counts == {"tp": 1, "fp": 0, "tn": 3, "fn": 1}


def test_a_single_defective_image_gives_a_threshold_between_it_and_the_highest_normal_below_it():
    labels = [0, 0, 0, 1]
    scores = [1.0, 2.0, 3.0, 7.0]
    point = thresholds.max_f1_threshold(labels, scores)
    assert point.threshold == 5.0 and point.recall == 1.0 and point.false_call_rate == 0.0
    assert thresholds.escape_budget_threshold(labels, scores, 1.0).threshold == 5.0


def test_all_scores_equal_gives_a_threshold_off_the_score_and_says_the_images_cannot_tell_the_classes_apart():
    labels = [0, 1, 0, 1]
    scores = [242.0, 242.0, 242.0, 242.0]
    point = thresholds.max_f1_threshold(labels, scores)
    assert point.threshold == pytest.approx(242.0 - 2.42)  # rejecting all: F1 2/3 beats 0
    assert point.recall == 1.0 and point.false_call_rate == 1.0
    assert "cannot tell normal from defective" in point.note
    none = thresholds.false_call_budget_threshold(labels, scores, 0.0)
    assert none.threshold == pytest.approx(242.0 + 2.42) and none.counts["fp"] == 0
    zero = thresholds.max_f1_threshold([0, 1], [0.0, 0.0])
    assert zero.threshold == -0.01 and zero.recall == 1.0


def test_a_threshold_below_every_positive_score_stays_positive():
    # Rejecting all: the gap above the lowest score is 10, but the threshold must not cross 0.
    point = thresholds.false_call_budget_threshold([0, 1], [0.4, 10.4], 1.0)
    assert point.threshold == pytest.approx(0.2)


def test_every_suggested_threshold_lies_strictly_between_observed_scores():
    rng = np.random.default_rng(3)
    for _ in range(50):
        labels = rng.integers(0, 2, int(rng.integers(2, 40)))
        labels[:2] = [0, 1]
        scores = np.round(rng.exponential(size=labels.size) + labels, int(rng.integers(0, 3)))
        band = thresholds.uncertain_band(labels, scores, min_recall=0.9, max_false_call_rate=0.1)
        for threshold in (
            thresholds.max_f1_threshold(labels, scores).threshold,
            thresholds.escape_budget_threshold(labels, scores, 0.9).threshold,
            thresholds.false_call_budget_threshold(labels, scores, 0.1).threshold,
            band.lower,
            band.upper,
        ):
            assert threshold not in set(scores.tolist())
