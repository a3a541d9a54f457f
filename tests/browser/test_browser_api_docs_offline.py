"""The interactive API documentation works on a line network without internet: every request to
another site is refused, and Swagger UI still renders the operations from our own static files."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot


@pytest.fixture
def offline_page(signed_in_page, live_server):
    """The signed-in tab with every request that leaves the live server aborted (and remembered)."""
    local_host = urlsplit(live_server.url).netloc
    refused = []

    def only_this_site(route):
        if urlsplit(route.request.url).netloc == local_host or route.request.url.startswith("data:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    signed_in_page.context.route("**/*", only_this_site)
    signed_in_page.refused_requests = refused
    return signed_in_page


def test_swagger_ui_lists_the_operations_with_other_sites_unreachable(offline_page):
    page = offline_page
    page.goto("/api/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 20
    expect(
        page.locator(".opblock-summary-path", has_text="/api/products/{product_id}/inspections/").first
    ).to_be_visible()
    screenshot(page, "api-docs-offline")
    assert page.refused_requests == []
