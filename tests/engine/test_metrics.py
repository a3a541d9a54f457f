import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from inspection.engine.scoring import metrics


def labelled_samples(seed, size, tie_heavy):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size)
    labels[:2] = [0, 1]  # both classes always present
    if tie_heavy:
        scores = rng.integers(0, 4, size).astype(float)
    else:
        scores = rng.normal(size=size) + labels * 0.7
    return labels, scores


CASES = [(seed, size, tie_heavy) for seed in range(6) for size in (5, 37, 400) for tie_heavy in (False, True)]


@pytest.mark.parametrize("seed,size,tie_heavy", CASES)
def test_image_auroc_and_average_precision_agree_with_scikit_learn(seed, size, tie_heavy):
    labels, scores = labelled_samples(seed, size, tie_heavy)
    assert metrics.image_auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


@pytest.mark.parametrize("seed,size,tie_heavy", CASES[::3])
def test_roc_and_pr_curve_points_agree_with_scikit_learn(seed, size, tie_heavy):
    labels, scores = labelled_samples(seed, size, tie_heavy)
    roc = metrics.roc_curve_points(labels, scores)
    expected_fpr, expected_tpr, expected_thresholds = roc_curve(labels, scores)
    np.testing.assert_allclose(roc["fpr"], expected_fpr)
    np.testing.assert_allclose(roc["tpr"], expected_tpr)
    assert roc["thresholds"][0] is None
    np.testing.assert_allclose(roc["thresholds"][1:], expected_thresholds[1:])

    pr = metrics.pr_curve_points(labels, scores)
    expected_precision, expected_recall, expected_pr_thresholds = precision_recall_curve(labels, scores)
    np.testing.assert_allclose(pr["precision"], expected_precision)
    np.testing.assert_allclose(pr["recall"], expected_recall)
    assert pr["thresholds"][-1] is None
    np.testing.assert_allclose(pr["thresholds"][:-1], expected_pr_thresholds)


def test_curves_are_plain_json():
    labels, scores = labelled_samples(0, 30, False)
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


def test_pixel_auroc_equals_scikit_learn_on_small_maps():
    rng = np.random.default_rng(3)
    masks = np.zeros((4, 32, 32), dtype=np.uint8)
    masks[1, 5:12, 5:12] = 1
    masks[3, 20:30, 2:6] = 255
    maps = rng.random(masks.shape).astype(np.float32) + 0.3 * (masks > 0)
    maps[0, :4] = 0.5  # plenty of exact ties
    expected = roc_auc_score((masks > 0).ravel(), maps.ravel())
    assert metrics.pixel_auroc(masks, maps) == pytest.approx(expected, abs=1e-12)


def test_pixel_auroc_by_quantile_bins_stays_close_to_the_exact_value():
    rng = np.random.default_rng(4)
    masks = (rng.random((6, 64, 64)) < 0.05).astype(np.uint8)
    maps = rng.normal(size=masks.shape).astype(np.float32) + masks
    expected = roc_auc_score(masks.ravel(), maps.ravel())
    binned = metrics.pixel_auroc(masks, maps, exact_limit=0, bins=4096)
    assert binned == pytest.approx(expected, abs=1e-3)
    assert metrics.pixel_auroc(masks, maps, exact_limit=0, bins=4096) == binned  # deterministic


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
