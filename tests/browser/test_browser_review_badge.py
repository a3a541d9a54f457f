"""The navigation's count of parts waiting for review follows the queue while a page stays open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inspection.models import ReviewItem
from tests.platform.factories import ProductFactory
from tests.platform.line_data import Part, record_parts, trained_version


@pytest.fixture
def line(db):
    product = ProductFactory(name="Hasp")
    version = trained_version(product, 1, activated_at=timezone.now() - timedelta(days=1))
    record_parts(product, [Part(timezone.now() - timedelta(minutes=5), "pass", version=version)])
    return product, version


def test_the_review_count_appears_grows_and_goes_without_reloading(signed_in_page, line):
    product, version = line
    page = signed_in_page
    page.goto(f"/products/{product.pk}/history/")
    review_tab = page.get_by_role("navigation", name="Hasp").get_by_role("link", name="Review")
    expect(review_tab.locator(".count")).to_have_count(0)
    page.evaluate("window.marker = 'same page'")

    # Parts flagged on the line meanwhile: the count appears by itself (the page asks every 10 seconds).
    now = timezone.now()
    record_parts(
        product,
        [
            Part(now, "review", version=version, review="pending"),
            Part(now, "reject", version=version, review="pending"),
        ],
    )
    expect(review_tab.locator(".count")).to_have_text("2", timeout=25_000)
    # Someone else works through the queue: the count follows, down to none.
    ReviewItem.objects.filter(product=product).update(status=ReviewItem.Status.DECIDED, decision="normal")
    page.evaluate("window.refreshReviewBadge()")
    expect(review_tab.locator(".count")).to_have_count(0)
    assert page.evaluate("window.marker") == "same page"
