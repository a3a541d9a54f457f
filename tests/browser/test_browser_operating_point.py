"""The version page in the browser: suggestions with margin and intervals, live intervals, the activation dialog."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from inspection.lib import score_analysis
from inspection.models import ThresholdSetting
from inspection.services.thresholds import model_version_activate, threshold_set
from tests.browser.conftest import REPOSITORY, screenshot
from tests.platform.loop_data import ready_product, trained_version


@pytest.fixture
def versions(db, private_media):
    product = ready_product(train=8, test_good=4, test_defective=4, name="Latch")
    first = trained_version(product)
    threshold_set(
        product=product,
        version=first,
        threshold=first.metrics["suggested"]["threshold"],
        reason="the engineer's choice",
    )
    model_version_activate(version=first, operating_point="saved", reason="first model")
    second = trained_version(product, min_std=0.3)
    product.refresh_from_db()
    return product, first, second


def test_the_version_page_shows_margin_and_intervals_and_activates_only_after_the_dialog(signed_in_page, versions):
    page = signed_in_page
    product, first, second = versions
    page.goto(f"/products/{product.pk}/versions/{second.pk}/")
    table = page.locator("[data-suggestion-table]")
    best = table.locator('[data-suggestion="max-f1"]')
    expect(best.locator("[data-recall]")).to_have_text(re.compile(r"^\d+\.\d % \(\d+\.\d–\d+\.\d %\)$"))
    expect(best.locator("[data-margin]")).to_contain_text("normal spreads")
    expect(page.locator("[data-suggestion-warning]").first).to_contain_text("Only 4 defective evaluation images")
    # The live figures follow the slider: bootstrap intervals, margin and the few-images warning.
    expect(page.locator('[data-metric="recall_interval"]')).not_to_have_text("–")
    expect(page.locator('[data-metric="margin"]')).to_contain_text("spreads")
    expect(page.locator("[data-trust-warnings]")).to_contain_text("Only 4 defective evaluation images")

    page.get_by_label("Operating point to put in force").select_option("max-f1")
    page.get_by_label("Reason for activating").fill("Retrained on the new fixture")
    page.get_by_role("button", name="Review activation of version 2").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Activate version 2 at this operating point?")
    expect(dialog.locator("[data-proposed-point]")).to_contain_text("replacing reject from")
    expect(dialog.locator("[data-dialog-recall]")).to_have_text(re.compile(r"^\d+\.\d % \(\d+\.\d–\d+\.\d %\)$"))
    expect(dialog.locator("[data-dialog-margin]")).to_contain_text("normal spreads")
    screenshot(page, "14-activation-dialog")
    product.refresh_from_db()
    assert product.active_version == first  # nothing changes before the confirmation
    dialog.get_by_role("button", name="Confirm: activate version 2").click()
    expect(page.get_by_role("status").first).to_contain_text("Version 2 is now active")
    product.refresh_from_db()
    assert product.active_version == second
    kept = ThresholdSetting.objects.get(version=first)
    assert kept.reason == "the engineer's choice"  # the saved point of version 1 is still there


def test_the_live_intervals_and_margin_in_the_browser_match_the_server(page, live_server):
    """The page computes the same bootstrap interval and margin as score_analysis, on random score sets."""
    page.goto("/accounts/login/")
    page.add_script_tag(path=str(REPOSITORY / "frontend/static/js/operating_point.js"))
    rng = np.random.default_rng(11)
    for trial in range(30):
        trials = int(rng.integers(1, 60))
        successes = int(rng.integers(0, trials + 1))
        browser = page.evaluate("([s, n]) => OperatingPoint.bootstrapInterval(s, n)", [successes, trials])
        assert browser == list(score_analysis.bootstrap_interval(successes, trials)), (trial, successes, trials)
        normal = rng.normal(0, 1, int(rng.integers(1, 15)))
        defective = rng.normal(2, 1, int(rng.integers(1, 8)))
        scores = np.concatenate([normal, defective])
        labels = np.r_[np.zeros(normal.size, bool), np.ones(defective.size, bool)]
        threshold = float(rng.uniform(-1, 3))
        server = score_analysis.margin(labels, scores, threshold)
        browser = page.evaluate(
            "([s, l, t]) => OperatingPoint.margin(s, l, t)", [scores.tolist(), labels.tolist(), threshold]
        )
        for key in ("to_defective", "to_normal", "normal_spread", "relative"):
            if server[key] is None:
                assert browser[key] is None, (trial, key)
            else:
                assert browser[key] == pytest.approx(server[key], rel=1e-9), (trial, key)
