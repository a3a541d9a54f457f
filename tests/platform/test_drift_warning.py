"""The drift warning: recent passes compared with the good evaluation images' scores, recorded, shown and acted on."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from inspection.lib.drift import drift_statistic, population_stability_index
from inspection.models import DriftWarning, ReviewItem, ThresholdSetting
from inspection.services.drift import drift_check, drift_recent_passes_to_review
from inspection.tasks import check_drift
from tests.platform.factories import ProductFactory
from tests.platform.line_data import Part, good_evaluation_scores, record_parts, trained_version

THRESHOLD = 0.30


def test_the_index_is_small_for_two_samples_of_one_distribution_and_large_after_a_shift():
    rng = np.random.default_rng(1)
    reference = rng.normal(0.2, 0.03, 300)
    assert population_stability_index(reference, rng.normal(0.2, 0.03, 200)) < 0.1
    assert population_stability_index(reference, rng.normal(0.23, 0.03, 200)) > 0.5
    shifted = drift_statistic(reference, rng.normal(0.23, 0.03, 200))
    assert shifted.median_shift == pytest.approx(0.03 / (0.03 * 1.349), abs=0.3)


def test_the_index_refuses_an_empty_sample():
    with pytest.raises(ValueError, match="at least one score"):
        population_stability_index([0.1, 0.2], [])


@pytest.fixture
def line(db, settings):
    settings.DRIFT_WINDOW = 200
    settings.DRIFT_MIN_PARTS = 50
    settings.DRIFT_PSI_LIMIT = 0.25
    product = ProductFactory(name="Gasket")
    version = trained_version(product, 1, activated_at=timezone.now() - timedelta(days=2))
    ThresholdSetting.objects.create(product=product, version=version, threshold=THRESHOLD, reason="test")
    rng = np.random.default_rng(3)
    reference = list(rng.normal(0.2, 0.03, 300))
    # Two good evaluation images above the threshold (false calls) never have a counterpart among passes.
    good_evaluation_scores(version, reference + [0.45, 0.5])
    return {"product": product, "version": version, "rng": rng}


def feed(line, *, mean: float, count: int = 250, start_hours_ago: float = 10):
    """Parts from the line scoring around `mean`, decided by the threshold like the inspection service does."""
    now = timezone.now()
    scores = line["rng"].normal(mean, 0.03, count)
    parts = [
        Part(
            now - timedelta(hours=start_hours_ago) + timedelta(seconds=index * 60),
            version=line["version"],
            score=float(score),
            decision="pass" if score < THRESHOLD else "reject",
        )
        for index, score in enumerate(scores)
    ]
    record_parts(line["product"], parts)


def test_an_unshifted_stream_raises_no_warning(line):
    feed(line, mean=0.2)
    assert drift_check(product=line["product"]) is None
    assert DriftWarning.objects.count() == 0


def test_a_shifted_stream_raises_a_recorded_warning_that_clears_when_the_line_is_back(line):
    feed(line, mean=0.24)
    warning = drift_check(product=line["product"])
    assert warning is not None and warning.is_open
    assert warning.psi >= 0.25 and warning.median_shift > 0
    assert warning.recent_count == 200 and warning.reference_count == 300
    # A later check updates the same warning instead of opening another.
    assert drift_check(product=line["product"]).pk == warning.pk
    # Fresh parts like the evaluation images push the drifted ones out of the window.
    feed(line, mean=0.2, start_hours_ago=2)
    assert drift_check(product=line["product"]) is None
    warning.refresh_from_db()
    assert warning.cleared_at is not None


def test_too_few_passes_are_not_judged(line):
    feed(line, mean=0.26, count=30)
    assert drift_check(product=line["product"]) is None


def test_the_periodic_task_checks_every_product_with_an_active_version(line):
    feed(line, mean=0.24)
    ProductFactory(name="Not trained yet")
    assert check_drift() == 1
    assert DriftWarning.objects.filter(product=line["product"], cleared_at__isnull=True).count() == 1


def test_sending_recent_passes_to_review_queues_each_once_and_is_recorded(line, user):
    feed(line, mean=0.24)
    warning = drift_check(product=line["product"])
    added = drift_recent_passes_to_review(warning=warning, requested_by=user)
    assert added == 200
    assert ReviewItem.objects.filter(product=line["product"], status="open").count() == 200
    assert drift_recent_passes_to_review(warning=warning, requested_by=user) == 0
    warning.refresh_from_db()
    assert warning.sent_to_review == 200 and warning.sent_by == user


def test_a_warning_of_a_version_no_longer_active_cannot_send_parts(line):
    from inspection.errors import Conflict

    feed(line, mean=0.24)
    warning = drift_check(product=line["product"])
    trained_version(line["product"], 2, activated_at=timezone.now())
    with pytest.raises(Conflict, match="no longer the active version"):
        drift_recent_passes_to_review(warning=DriftWarning.objects.get(pk=warning.pk))


def test_the_banner_shows_on_the_dashboard_and_the_product_list(client, user, line):
    feed(line, mean=0.24)
    drift_check(product=line["product"])
    client.force_login(user)
    dashboard = " ".join(client.get(f"/products/{line['product'].pk}/dashboard/").content.decode().split())
    assert "data-drift-banner" in dashboard and "score higher than its good evaluation images" in dashboard
    assert "Send recent passes to review" in dashboard
    products = client.get("/").content.decode()
    assert "data-drift-banner" in products and "Drift on Gasket" in products


def test_no_banner_without_drift(client, user, line):
    feed(line, mean=0.2)
    drift_check(product=line["product"])
    client.force_login(user)
    assert "data-drift-banner" not in client.get(f"/products/{line['product'].pk}/dashboard/").content.decode()
    assert "data-drift-banner" not in client.get("/").content.decode()


def test_the_dashboard_buttons_check_and_send_to_review(client, user, line):
    feed(line, mean=0.24)
    client.force_login(user)
    product = line["product"]
    response = client.post(f"/products/{product.pk}/drift/check/", follow=True)
    assert "Checked: drift" in response.content.decode()
    warning = DriftWarning.objects.get()
    response = client.post(f"/products/{product.pk}/drift/{warning.pk}/send-to-review/", follow=True)
    assert "200 recent passes added to the review queue." in response.content.decode()


def test_the_drift_endpoints(api_client, line):
    feed(line, mean=0.24)
    product = line["product"]
    overview = api_client.get(f"/api/products/{product.pk}/drift/").json()
    assert overview["drifting"] is True and overview["open_warning"] is None
    checked = api_client.post(f"/api/products/{product.pk}/drift/check/").json()
    assert checked["open_warning"]["version_number"] == 1 and checked["statistic"]["psi"] >= 0.25
    warning_id = checked["open_warning"]["id"]
    sent = api_client.post(f"/api/products/{product.pk}/drift/warnings/{warning_id}/send-to-review/")
    assert sent.status_code == 200 and sent.json() == {"added": 200}
    assert api_client.post(f"/api/products/{product.pk}/drift/warnings/999/send-to-review/").status_code == 404


@pytest.mark.parametrize("text", ["high", "nan", "-0.1"])
def test_a_drift_limit_that_is_not_a_usable_number_is_refused_naming_the_variable(text):
    from django.core.exceptions import ImproperlyConfigured

    from config.env import env_float

    with pytest.raises(ImproperlyConfigured, match="DRIFT_PSI_LIMIT"):
        env_float("DRIFT_PSI_LIMIT", 0.25, minimum=0.0, environ={"DRIFT_PSI_LIMIT": text})
    assert env_float("DRIFT_PSI_LIMIT", 0.25, minimum=0.0, environ={"DRIFT_PSI_LIMIT": "0.4"}) == 0.4
