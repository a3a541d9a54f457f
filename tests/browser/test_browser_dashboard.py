"""The production dashboard in the browser, on a seeded week of inspections: figures, a zoomable chart with
the activation marked, and switching periods."""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.platform.factories import ProductFactory
from tests.platform.line_data import Part, record_parts, trained_version


@pytest.fixture
def seeded_week(db):
    """Six parts an hour for a week; version 2 took over three days ago and rejects more."""
    now = timezone.now()
    product = ProductFactory(name="Valve")
    first = trained_version(product, 1, activated_at=now - timedelta(days=9))
    second = trained_version(product, 2, activated_at=now - timedelta(days=3))
    chance = random.Random(7)
    parts = []
    for hour in range(7 * 24):
        for slot in range(6):
            at = now - timedelta(hours=hour, minutes=slot * 10 + 1)
            version = second if at >= now - timedelta(days=3) else first
            roll = chance.random()
            reject_from = 0.85 if version == second else 0.95
            decision = "reject" if roll >= reject_from else ("review" if roll >= reject_from - 0.05 else "pass")
            parts.append(
                Part(
                    at,
                    decision,
                    score=roll,
                    seconds=0.02 + chance.random() / 50,
                    version=version,
                    review="pending" if decision == "review" and hour < 24 else "",
                )
            )
    record_parts(product, parts)
    return product


def test_the_dashboard_shows_a_week_of_the_line_with_a_zoomable_chart(signed_in_page, seeded_week):
    page = signed_in_page
    page.goto("/")
    page.get_by_role("link", name="Valve").click()
    expect(page.get_by_role("heading", name="How the line is doing")).to_be_visible()
    page.get_by_role("navigation", name="Period").get_by_role("link", name="last 7 days").click()
    expect(page).to_have_url(re.compile(r"period=week.*tz="))
    expect(page.locator('[data-metric="parts"]')).to_have_text(str(7 * 24 * 6))
    expect(page.locator('[data-metric="latency-median"]')).to_contain_text(" s")
    expect(page.locator("[data-by-version] tbody tr")).to_have_count(2)
    expect(page.locator('[data-metric="backlog"]')).not_to_have_text("0")
    expect(page.locator("[data-activations]")).to_contain_text("version 2")

    chart = page.locator("[data-dashboard-chart][data-ready=true]")
    expect(chart.locator("canvas")).to_be_visible()
    full = page.evaluate("[dashboardChart.scales.x.min, dashboardChart.scales.x.max]")
    # The marker of version 2's activation lies inside the drawn week.
    activation = page.evaluate("JSON.parse(document.getElementById('dashboard-data').textContent).activations")
    assert [marker["version"] for marker in activation] == [2]
    assert full[0] < activation[0]["time"] < full[1]
    screenshot(page, "dashboard-week")
    # Pointing at the chart names the hour in the site's one date format (not a US one), as do the ticks.
    page.locator("[data-dashboard-chart] .u-over").hover()
    legend_time = page.locator("[data-dashboard-chart] .u-legend .u-series").first.locator(".u-value")
    expect(legend_time).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:00$"))
    ticks = page.evaluate("dashboardChart.axes[0].values(dashboardChart, [dashboardChart.scales.x.min])")
    assert re.fullmatch(r"\d{2}:\d{2}\n\d{4}-\d{2}-\d{2}", ticks[0])

    # Drag across the middle of the plot to zoom in, double-click to zoom out again.
    box = page.locator("[data-dashboard-chart] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    zoomed = page.evaluate("[dashboardChart.scales.x.min, dashboardChart.scales.x.max]")
    assert full[0] < zoomed[0] < zoomed[1] < full[1]
    page.locator("[data-dashboard-chart] .u-over").dblclick()
    restored = page.evaluate("[dashboardChart.scales.x.min, dashboardChart.scales.x.max]")
    assert restored == pytest.approx(full)

    page.get_by_role("navigation", name="Period").get_by_role("link", name="last 8 hours").click()
    expect(page.locator('[data-metric="parts"]')).to_have_text("48")


def test_the_line_page_and_the_history_fit_a_tablet(signed_in_page, seeded_week):
    page = signed_in_page
    page.set_viewport_size({"width": 820, "height": 1180})
    for name, path in (("dashboard", "dashboard/?period=week"), ("history", "history/")):
        page.goto(f"/products/{seeded_week.pk}/{path}")
        expect(page.locator("main h1")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than an 820px screen"
        screenshot(page, f"tablet-{name}")
