"""The threshold's number field: wide enough for a long score, and Enter applies the typed value instead of
submitting the half-filled form."""

from __future__ import annotations

from playwright.sync_api import expect

from inspection.models import ThresholdSetting
from tests.browser.test_browser_pages import two_versions  # noqa: F401  (the fixture, found by name)


def test_enter_in_the_threshold_field_moves_the_line_and_saves_nothing(signed_in_page, two_versions):  # noqa: F811
    page = signed_in_page
    product, first, _ = two_versions
    settings_before = ThresholdSetting.objects.count()
    page.goto(f"/products/{product.pk}/versions/{first.pk}/")
    field = page.get_by_label("Threshold value")
    line = page.locator("#histogram-chart .threshold-line")
    before = line.get_attribute("x1")
    typed = "123.456789"
    field.fill(typed)
    field.press("Enter")
    # A submitted form would have left for .../threshold/ with "give a reason" by now.
    page.wait_for_timeout(700)
    assert page.url.endswith(f"/versions/{first.pk}/"), page.url
    expect(field).to_have_value(typed)
    assert line.get_attribute("x1") != before
    assert ThresholdSetting.objects.count() == settings_before
    # The whole number is visible in the field.
    assert page.evaluate("(field) => field.scrollWidth <= field.clientWidth", field.element_handle())
