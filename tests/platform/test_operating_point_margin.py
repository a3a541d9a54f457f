"""Margin and intervals of an operating point: the exact bootstrap against brute force, the margin by hand, the API."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from inspection.lib import score_analysis
from tests.platform.loop_data import ready_product, trained_version


def brute_force_bootstrap(outcomes: list[int], confidence: float = 0.95) -> tuple[float, float]:
    """Every resample of `outcomes` with replacement, each equally likely; percentile interval of the mean."""
    size = len(outcomes)
    means = sorted(
        Fraction(sum(outcomes[index] for index in draw), size) for draw in itertools.product(range(size), repeat=size)
    )
    total = len(means)
    tail = Fraction(1 - confidence).limit_denominator(1000) / 2

    def quantile(level):
        # smallest value whose share of resamples at or below it reaches `level`
        for position, value in enumerate(means, start=1):
            if Fraction(position, total) >= level:
                return float(value)

    return quantile(tail), quantile(1 - tail)


@pytest.mark.parametrize("successes,trials", [(1, 2), (1, 3), (2, 3), (1, 4), (3, 4), (2, 5), (4, 5), (1, 6), (5, 6)])
def test_the_bootstrap_interval_equals_the_brute_force_over_every_resample(successes, trials):
    outcomes = [1] * successes + [0] * (trials - successes)
    assert score_analysis.bootstrap_interval(successes, trials) == brute_force_bootstrap(outcomes)


def test_the_bootstrap_interval_collapses_at_zero_and_all_and_is_unknown_without_images():
    assert score_analysis.bootstrap_interval(0, 7) == (0.0, 0.0)
    assert score_analysis.bootstrap_interval(7, 7) == (1.0, 1.0)
    assert all(np.isnan(score_analysis.bootstrap_interval(0, 0)))


def test_the_bootstrap_interval_narrows_as_images_are_added():
    few = score_analysis.bootstrap_interval(9, 10)
    many = score_analysis.bootstrap_interval(900, 1000)
    assert few[1] - few[0] > 3 * (many[1] - many[0])
    assert many[0] < 0.9 < many[1]


def test_the_margin_is_the_distance_to_the_nearest_score_of_each_class_in_normal_spreads():
    labels = ["normal", "normal", "normal", "defective", "defective"]
    scores = [1.0, 2.0, 3.0, 6.0, 8.0]
    point = score_analysis.operating_point(labels, scores, threshold=4.5)
    margin = point["margin"]
    assert (margin["nearest_normal"], margin["to_normal"]) == (3.0, 1.5)
    assert (margin["nearest_defective"], margin["to_defective"]) == (6.0, 1.5)
    assert margin["normal_spread"] == pytest.approx(1.0)  # standard deviation of 1, 2, 3
    assert margin["relative_to_normal"] == pytest.approx(1.5) and margin["relative"] == pytest.approx(1.5)
    intervals = point["intervals"]
    assert intervals["recall"] == [1.0, 1.0] and intervals["false_call_rate"] == [0.0, 0.0]
    # The bootstrap cannot vary 2 of 2; the Wilson interval and the warning say how little 2 images prove.
    assert intervals["recall_wilson"][0] < 0.4
    assert any("Only 2 defective evaluation images" in warning for warning in point["warnings"])


def test_a_band_reports_the_margin_of_both_limits():
    labels = ["normal", "normal", "defective"]
    point = score_analysis.operating_point(labels, [1.0, 3.0, 9.0], band_lower=2.0, band_upper=5.0)
    assert point["margin"]["to_defective"] == 4.0 and point["review_margin"]["to_normal"] == 1.0


def test_the_suggestions_lie_strictly_between_scores_with_their_margin():
    labels = ["normal"] * 4 + ["defective"] * 3
    scores = [1.0, 2.0, 2.0, 3.0, 5.0, 6.0, 6.0]
    suggestions = score_analysis.suggested_points(labels, scores, normal_quantile=2.5)
    assert set(suggestions) == {"max-f1", "escape-budget", "false-call-budget", "normal-quantile"}
    assert suggestions["max-f1"]["threshold"] == 4.0
    assert suggestions["max-f1"]["margin"]["to_normal"] == suggestions["max-f1"]["margin"]["to_defective"] == 1.0
    for point in suggestions.values():
        assert point["threshold"] not in scores and point["rule"]


@pytest.mark.django_db
def test_the_api_gives_each_suggestion_and_a_proposal_its_margin_and_intervals(api_client):
    product = ready_product(train=6, test_good=3, test_defective=3)
    version = trained_version(product)
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/operating-point/"
    response = api_client.get(url)
    assert response.status_code == 200
    suggestions = response.data["suggestions"]
    assert {"max-f1", "escape-budget", "false-call-budget"} <= set(suggestions)
    scores = sorted(row.score for row in version.evaluation_scores.all())
    best = suggestions["max-f1"]
    assert best["threshold"] not in scores
    assert best["margin"]["to_defective"] > 0 and best["margin"]["to_normal"] > 0
    assert best["intervals"]["recall"] == [1.0, 1.0] and best["warnings"]
    proposed = api_client.get(url, {"threshold": best["threshold"]}).data["proposed"]
    assert proposed["margin"] == best["margin"] and proposed["intervals"] == best["intervals"]


@pytest.mark.django_db
def test_the_version_page_shows_each_suggestion_with_its_intervals_margin_and_a_warning_about_few_images(client, user):
    product = ready_product(train=6, test_good=3, test_defective=3)
    version = trained_version(product)
    client.force_login(user)
    page = client.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert 'data-suggestion="max-f1"' in page and 'data-suggestion="false-call-budget"' in page
    assert "100.0 % (100.0–100.0 %)" in page  # max-F1 rejects all 3 defects; the bootstrap cannot vary that
    assert "normal spreads)" in page
    assert "Only 3 defective evaluation images" in page and "Wilson 95 %" in page
