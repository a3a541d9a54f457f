"""The drift warning in the browser: a shifted stream of passes raises the banner on the product list and the
Line page, and "Send recent passes to review" fills the review queue."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inspection.models import ThresholdSetting
from inspection.services.drift import drift_check
from tests.browser.conftest import screenshot
from tests.platform.factories import ProductFactory
from tests.platform.line_data import Part, good_evaluation_scores, record_parts, trained_version


@pytest.fixture
def drifted_line(db, settings):
    settings.DRIFT_WINDOW, settings.DRIFT_MIN_PARTS, settings.DRIFT_PSI_LIMIT = 120, 50, 0.25
    product = ProductFactory(name="Seal")
    version = trained_version(product, 1, activated_at=timezone.now() - timedelta(days=1))
    ThresholdSetting.objects.create(product=product, version=version, threshold=0.3, reason="test")
    rng = np.random.default_rng(11)
    good_evaluation_scores(version, rng.normal(0.2, 0.03, 200))
    now = timezone.now()
    # The lamp ages: good parts score 0.04 higher than the evaluation images did.
    scores = rng.normal(0.24, 0.03, 150)
    record_parts(
        product,
        [
            Part(
                now - timedelta(minutes=150 - index),
                version=version,
                score=float(score),
                decision="pass" if score < 0.3 else "reject",
            )
            for index, score in enumerate(scores)
        ],
    )
    assert drift_check(product=product) is not None
    return product


def test_the_drift_banner_leads_to_sending_recent_passes_to_review(signed_in_page, drifted_line):
    page = signed_in_page
    page.goto("/")
    banner = page.locator("[data-drift-banner]")
    expect(banner).to_contain_text("Drift on Seal")
    expect(banner).to_contain_text("score higher than its good evaluation images")
    banner.get_by_role("link", name="See the line").click()
    banner = page.locator("[data-drift-banner]")
    expect(banner).to_contain_text("the last 120 parts version 1 passed")
    expect(page.locator("[data-drift-measure]")).to_contain_text("population stability index")
    screenshot(page, "dashboard-drift")
    waiting_before = page.get_by_role("navigation", name="Seal").get_by_role("link", name="Review")
    expect(waiting_before.locator(".count")).to_have_count(0)
    banner.get_by_role("button", name="Send recent passes to review").click()
    expect(page.get_by_role("status")).to_contain_text("120 recent passes added to the review queue.")
    expect(page.locator("[data-drift-banner]")).to_contain_text("120 recent passes sent to review by")
    expect(
        page.get_by_role("navigation", name="Seal").get_by_role("link", name="Review").locator(".count")
    ).to_have_text("120")
