"""The inspection history in the browser: filters, times in the reader's time zone, and the CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, screenshot
from tests.platform.factories import ProductFactory, UserFactory
from tests.platform.line_data import Part, record_parts, trained_version

MONDAY = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def tokyo_page(browser, live_server, user, page_errors):
    """A signed-in tab whose browser lives in Tokyo (UTC+9, no daylight saving time)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=live_server.url,
        timezone_id="Asia/Tokyo",
        accept_downloads=True,
    )
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.on("pageerror", lambda error: page_errors.append(f"script error: {error}"))
    tab.goto("/")
    tab.get_by_label("User name").fill(user.username)
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/")
    yield tab
    context.close()
    assert not page_errors, "\n".join(page_errors)


@pytest.fixture
def line(db):
    product = ProductFactory(name="Hinge")
    version = trained_version(product, 1, activated_at=MONDAY - timedelta(days=1))
    station = UserFactory(username="station-east")
    parts = [
        Part(MONDAY + timedelta(hours=index), "pass", 0.1 + index / 100, version=version, user=station)
        for index in range(60)
    ]
    parts[5] = Part(
        MONDAY + timedelta(hours=5),
        "reject",
        0.93,
        version=version,
        user=station,
        name="cracked.png",
        review="defective",
        defect_type="crack",
    )
    parts[40] = Part(MONDAY + timedelta(hours=40), "reject", 0.88, version=version, name="dented.png")
    record_parts(product, parts)
    return product


def test_filtering_the_history_and_downloading_the_filtered_list_as_csv(tokyo_page, line):
    page = tokyo_page
    page.goto(f"/products/{line.pk}/history/")
    expect(page.get_by_role("heading", name="60 inspections")).to_be_visible()
    # Paged: 50 rows on the first page, and a second page.
    expect(page.locator("[data-history-table] tbody tr")).to_have_count(50)
    expect(page.get_by_role("navigation", name="Pages of inspections").get_by_role("link", name="2")).to_be_visible()
    # The newest part was inspected 2026-12-02 19:00 UTC, which is 2026-12-03 04:00 in Tokyo.
    expect(page.locator("[data-history-table] time").first).to_have_text("2026-12-03 04:00:00")
    expect(page.locator("[data-time-zone-name]")).to_have_text("Asia/Tokyo")

    filters = page.get_by_role("form", name="Filter inspections")
    filters.get_by_label("reject").check()
    # Typed in Tokyo time: from Monday 18:00 in Tokyo (09:00 UTC), which leaves out nothing rejected,
    # up to Tuesday 12:00 in Tokyo (03:00 UTC on Tuesday), which leaves out dented.png.
    filters.get_by_label("Inspected from").fill("2026-11-30T18:00:00")
    filters.get_by_label("Inspected before").fill("2026-12-01T12:00:00")
    filters.get_by_label("Review outcome").select_option("defective")
    filters.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", name="1 inspection", exact=True)).to_be_visible()
    rows = page.locator("[data-history-table] tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cracked.png")
    expect(rows.first).to_contain_text("defective (crack)")
    expect(rows.first.locator("time")).to_have_text("2026-11-30 22:00:00")
    screenshot(page, "history-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert [row["part"] for row in rows] == ["cracked.png"]
    assert rows[0]["inspected_at"] == "2026-11-30T22:00:00+09:00"
    assert rows[0]["defect_type"] == "crack" and rows[0]["user"] == "station-east"


def test_sorting_the_history_by_score(tokyo_page, line):
    page = tokyo_page
    page.goto(f"/products/{line.pk}/history/")
    page.get_by_label("Sort").select_option("-score")
    page.get_by_role("button", name="Apply filters").click()
    first_rows = page.locator("[data-history-table] tbody tr")
    expect(first_rows.nth(0)).to_contain_text("cracked.png")
    expect(first_rows.nth(1)).to_contain_text("dented.png")
