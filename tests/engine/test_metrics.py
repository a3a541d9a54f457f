import json
import math

import numpy as np
import pytest

from inspection.engine.scoring import metrics

# Four images whose curves are worked out by hand: thresholds 0.8, 0.4, 0.35
# and 0.1 reject 1, 2, 3 and 4 images, of which 1, 1, 2 and 2 are defective.
LABELS = [0, 0, 1, 1]
SCORES = [0.1, 0.4, 0.35, 0.8]
# A defective and a normal image tie at 0.5.
TIED_LABELS = [0, 1, 0, 1]
TIED_SCORES = [0.5, 0.5, 0.2, 0.9]


def labelled_samples(seed, size):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size)
    labels[:2] = [0, 1]  # both classes always present
    return labels, rng.normal(size=size) + labels * 0.7


def test_auroc_counts_the_share_of_defective_normal_pairs_ranked_right():
    # Pairs (defective, normal): 0.35 beats 0.1 but not 0.4, 0.8 beats both: 3 of 4.
    assert metrics.image_auroc(LABELS, SCORES) == 0.75
    # 0.5 vs 0.5 counts half, the other three pairs are won: 3.5 of 4.
    assert metrics.image_auroc(TIED_LABELS, TIED_SCORES) == 0.875


def test_average_precision_sums_precision_times_recall_gained():
    # Recall reaches 0.5 at 0.8 (precision 1) and 1.0 at 0.35 (precision 2/3).
    assert metrics.average_precision(LABELS, SCORES) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # The tie is one threshold: recall 0.5 -> 1.0 at precision 2/3.
    assert metrics.average_precision(TIED_LABELS, TIED_SCORES) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_roc_curve_points_go_from_rejecting_nothing_to_rejecting_everything():
    roc = metrics.roc_curve_points(LABELS, SCORES)
    assert roc == {
        "fpr": [0.0, 0.0, 0.5, 0.5, 1.0],
        "tpr": [0.0, 0.5, 0.5, 1.0, 1.0],
        "thresholds": [None, 0.8, 0.4, 0.35, 0.1],
    }
    tied = metrics.roc_curve_points(TIED_LABELS, TIED_SCORES)
    assert tied == {"fpr": [0.0, 0.0, 0.5, 1.0], "tpr": [0.0, 0.5, 1.0, 1.0], "thresholds": [None, 0.9, 0.5, 0.2]}


def test_roc_curve_points_drop_collinear_points_unless_asked_to_keep_them():
    labels = [0, 0, 0, 1]
    scores = [0.1, 0.2, 0.3, 0.9]
    assert metrics.roc_curve_points(labels, scores)["thresholds"] == [None, 0.9, 0.1]
    assert metrics.roc_curve_points(labels, scores, drop_intermediate=False)["thresholds"] == [None, 0.9, 0.3, 0.2, 0.1]


def test_pr_curve_points_rise_in_threshold_and_end_at_recall_zero_without_a_threshold():
    pr = metrics.pr_curve_points(LABELS, SCORES)
    np.testing.assert_allclose(pr["precision"], [0.5, 2 / 3, 0.5, 1.0, 1.0])
    assert pr["recall"] == [1.0, 1.0, 0.5, 0.5, 0.0]
    assert pr["thresholds"] == [0.1, 0.35, 0.4, 0.8, None]


def test_curves_are_plain_json():
    labels, scores = labelled_samples(0, 30)
    json.dumps(metrics.roc_curve_points(labels, scores), allow_nan=False)
    json.dumps(metrics.pr_curve_points(labels, scores), allow_nan=False)
    json.dumps(metrics.score_histogram(labels, scores, 10), allow_nan=False)


@pytest.mark.parametrize("function", [metrics.image_auroc, metrics.average_precision, metrics.roc_curve_points])
def test_whole_curve_metrics_refuse_a_single_class(function):
    with pytest.raises(ValueError, match="both normal and defective"):
        function([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="both normal and defective"):
        function([1, 1], [0.1, 0.2])


def test_empty_or_mismatched_or_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="empty"):
        metrics.image_auroc([], [])
    with pytest.raises(ValueError, match="labels but"):
        metrics.rates_at([0, 1], [0.1], 0.5)
    with pytest.raises(ValueError, match="0 \\(normal\\) or 1"):
        metrics.rates_at([0, 2], [0.1, 0.2], 0.5)
    with pytest.raises(ValueError, match="NaN"):
        metrics.rates_at([0, 1], [0.1, math.nan], 0.5)


def test_pixel_auroc_ranks_every_defect_pixel_against_every_normal_pixel():
    masks = np.zeros((2, 2, 2), dtype=np.uint8)
    masks[0, 0, 0] = 1
    masks[1, 1, 1] = 255  # any non-zero value marks a defect
    maps = np.array([[[0.9, 0.1], [0.2, 0.3]], [[0.3, 0.05], [0.6, 0.3]]], dtype=np.float32)
    # 0.9 beats all six normal pixels; 0.3 beats 0.1, 0.2, 0.05, ties the two 0.3s, loses to 0.6.
    assert metrics.pixel_auroc(masks, maps) == pytest.approx((6 + 3 + 2 * 0.5) / 12)


def test_pixel_auroc_by_quantile_bins_stays_close_to_the_exact_value():
    rng = np.random.default_rng(4)
    masks = (rng.random((6, 64, 64)) < 0.05).astype(np.uint8)
    maps = rng.normal(size=masks.shape).astype(np.float32) + masks
    exact = metrics.pixel_auroc(masks, maps)
    binned = metrics.pixel_auroc(masks, maps, exact_limit=0, bins=4096)
    assert binned != exact  # the binned path really ran
    assert binned == pytest.approx(exact, abs=1e-3)
    assert metrics.pixel_auroc(masks, maps, exact_limit=0, bins=4096) == binned  # deterministic
    coarse = metrics.pixel_auroc(masks, maps, exact_limit=0, bins=16)
    assert abs(coarse - exact) > abs(binned - exact)  # fewer bins, more ties, larger error


def test_pixel_auroc_by_bins_is_exact_when_every_value_has_a_bin_of_its_own():
    masks = np.zeros((1, 4, 4), dtype=np.uint8)
    masks[0, :2, :2] = 1
    maps = np.arange(16, dtype=np.float32).reshape(1, 4, 4) % 7  # few distinct values, with ties
    assert metrics.pixel_auroc(masks, maps, exact_limit=0, bins=64) == pytest.approx(metrics.pixel_auroc(masks, maps))


def test_confusion_uses_score_at_or_above_threshold_as_defective():
    labels = [0, 0, 1, 1, 0]
    scores = [0.1, 0.5, 0.5, 0.9, 0.2]
    assert metrics.confusion_at(labels, scores, 0.5) == {"tp": 2, "fp": 1, "tn": 2, "fn": 0}
    assert metrics.confusion_at(labels, scores, 0.50001) == {"tp": 1, "fp": 0, "tn": 3, "fn": 1}


def test_rates_at_a_threshold_match_hand_counts():
    rates = metrics.rates_at([0, 0, 0, 0, 1, 1], [1, 2, 3, 4, 3, 5], 3)
    assert (rates["tp"], rates["fp"], rates["tn"], rates["fn"]) == (2, 2, 2, 0)
    assert rates["precision"] == 0.5
    assert rates["recall"] == 1.0
    assert rates["f1"] == pytest.approx(2 / 3)
    assert rates["false_call_rate"] == 0.5
    assert rates["accuracy"] == pytest.approx(4 / 6)


def test_undefined_rates_are_nan_while_counts_stay_exact():
    only_normal = metrics.rates_at([0, 0], [0.4, 0.6], 0.5)
    assert only_normal["fp"] == 1
    assert math.isnan(only_normal["recall"]) and math.isnan(only_normal["precision"]) and math.isnan(only_normal["f1"])
    assert only_normal["false_call_rate"] == 0.5
    nothing_rejected = metrics.rates_at([0, 1], [0.1, 0.2], 0.9)
    assert math.isnan(nothing_rejected["precision"])
    assert nothing_rejected["recall"] == 0.0 and nothing_rejected["f1"] == 0.0


def test_wilson_interval_matches_the_textbook_formula_and_edges():
    low, high = metrics.wilson_interval(8, 10)
    assert low == pytest.approx(0.4901624, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)
    assert metrics.wilson_interval(0, 5)[0] == 0.0
    assert metrics.wilson_interval(5, 5)[1] == 1.0
    assert all(math.isnan(bound) for bound in metrics.wilson_interval(0, 0))
    with pytest.raises(ValueError):
        metrics.wilson_interval(3, 2)


def test_per_region_recall_counts_connected_regions_found_by_the_map():
    masks = np.zeros((2, 20, 20), dtype=np.uint8)
    masks[0, 2:5, 2:5] = 1  # found
    masks[0, 10:15, 10:12] = 1  # missed
    masks[1, 0:3, 15:20] = 1  # found, exactly at the threshold
    maps = np.zeros(masks.shape, dtype=np.float32)
    maps[0, 3, 3] = 0.9
    maps[0, 12, 10] = 0.2
    maps[1, 1, 17] = 0.5
    assert metrics.count_detected_regions(masks, maps, 0.5) == (2, 3)
    assert metrics.per_region_recall(masks, maps, 0.5) == pytest.approx(2 / 3)
    assert math.isnan(metrics.per_region_recall(np.zeros_like(masks), maps, 0.5))


def test_score_histogram_splits_classes_on_shared_edges():
    histogram = metrics.score_histogram([0, 0, 1, 1, 1], [0.0, 0.1, 0.6, 0.9, 1.0], bins=2)
    assert histogram["edges"] == [0.0, 0.5, 1.0]
    assert histogram["normal"] == [2, 0]
    assert histogram["defective"] == [0, 3]
    only_normal = metrics.score_histogram([0, 0], [1.0, 2.0], bins=[0.0, 1.5, 3.0])
    assert only_normal["defective"] == [0, 0]
