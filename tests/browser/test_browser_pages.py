"""Pages checked in the browser without a worker: versions trained in this process (fast
"variation" method), cancelling a queued training live, comparing versions, and every page at
tablet width."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.services.inspections import inspection_run
from inspection.services.model_versions import model_version_create
from inspection.services.thresholds import model_version_activate, threshold_set
from tests.browser.conftest import screenshot
from tests.browser.file_drop import drop_files
from tests.platform.loop_data import ready_product, trained_version
from tests.synthetic_images import defective_png, good_png


@pytest.fixture
def two_versions(db, private_media):
    product = ready_product(train=8, test_good=4, test_defective=4, name="Hinge")
    first = trained_version(product)
    second = trained_version(product, min_std=0.3)
    threshold_set(product=product, version=first, threshold=first.metrics["suggested"]["threshold"], reason="suggested")
    model_version_activate(version=first, operating_point="saved", reason="first model")
    product.refresh_from_db()
    # Enough passed parts for the heatmap's fixed colour scale.
    for index in range(6):
        inspection_run(product=product, file=SimpleUploadedFile(f"good-{index}.png", good_png(700 + index)))
    for index in (11, 12):
        inspection_run(product=product, file=SimpleUploadedFile(f"defect-{index}.png", defective_png(index)))
    return product, first, second


def test_cancelling_a_queued_training_without_leaving_the_page(signed_in_page, private_media):
    page = signed_in_page
    product = ready_product(train=3, test_good=0, test_defective=0, name="Clip")
    # Not handed to the workers (a session's worker may be running), so it stays queued.
    with mock.patch("inspection.services.jobs.job_dispatch"):
        version = model_version_create(product=product, method="variation")
    page.goto(f"/products/{product.pk}/training/")
    widget = page.locator("[data-training]")
    expect(widget.locator("[data-training-state]")).to_have_text("queued")
    page.get_by_role("button", name="Cancel training").click()
    expect(widget.locator("[data-training-state]")).to_have_text("cancelled")
    expect(widget.get_by_role("button", name="Cancel training")).to_be_hidden()
    expect(page.locator("#version-history")).to_contain_text("cancelled")
    assert page.url.endswith(f"/products/{product.pk}/training/")
    version.refresh_from_db()
    assert version.status == "cancelled"


def test_comparing_two_versions_draws_both_curves_on_the_same_images(signed_in_page, two_versions):
    page = signed_in_page
    product, first, second = two_versions
    page.goto(f"/products/{product.pk}/versions/{first.pk}/")
    page.get_by_label("Compare with").select_option(str(second.pk))
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare two versions")).to_be_visible()
    expect(page.locator('[data-auroc="a"]')).to_have_text(re.compile(r"^\(AUROC [01]\.\d{3}\)$"))
    expect(page.locator('[data-auroc="b"]')).to_have_text(re.compile(r"^\(AUROC [01]\.\d{3}\)$"))
    expect(page.locator("#compare-roc path.curve")).to_have_count(2)
    screenshot(page, "13-compare")


def test_the_threshold_slider_moves_the_histogram_line_and_the_roc_marker(signed_in_page, two_versions):
    page = signed_in_page
    product, first, _ = two_versions
    page.goto(f"/products/{product.pk}/versions/{first.pk}/")
    line = page.locator("#histogram-chart .threshold-line")
    marker = page.locator("#roc-chart [data-marker]")
    slider = page.get_by_label("Threshold", exact=True)
    slider.fill("20")
    before = (line.get_attribute("x1"), marker.get_attribute("cx"), marker.get_attribute("cy"))
    slider.fill("990")
    after = (line.get_attribute("x1"), marker.get_attribute("cx"), marker.get_attribute("cy"))
    assert before[0] != after[0] and before[1:] != after[1:], (before, after)
    # Keyboard works too: arrow keys move the handle and the numbers follow.
    value = page.get_by_label("Threshold value").input_value()
    slider.press("ArrowLeft")
    assert page.get_by_label("Threshold value").input_value() != value


PAGES = (
    ("products", "/"),
    ("dataset", "/products/{p}/images/"),
    ("training", "/products/{p}/training/"),
    ("version", "/products/{p}/versions/{v}/"),
    ("compare", "/products/{p}/versions/compare/"),
    ("inspect", "/products/{p}/inspect/"),
    ("inspection", "/products/{p}/inspections/{i}/"),
    ("review", "/products/{p}/review/?overview=1"),
    ("review-item", "/products/{p}/review/{r}/"),
)


@pytest.mark.parametrize("width,height", [(1280, 800), (820, 1180)], ids=["laptop", "tablet"])
def test_every_page_fits_the_screen(signed_in_page, two_versions, width, height):
    page = signed_in_page
    product, first, _ = two_versions
    inspection = product.inspections.filter(decision="reject").first()
    item = product.review_items.order_by("doubt", "id").first()
    page.set_viewport_size({"width": width, "height": height})
    for name, template in PAGES:
        page.goto(template.format(p=product.pk, v=first.pk, i=inspection.pk, r=item.pk))
        expect(page.locator("main h1")).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px screen"
        screenshot(page, f"{'tablet' if width < 1000 else 'page'}-{name}")


def test_good_parts_do_not_glow_and_defects_do(signed_in_page, two_versions):
    """The heatmap's fixed colour scale: no coloured pixel on a passed good part, many on a rejected defect."""
    page = signed_in_page
    product, _, _ = two_versions
    good = product.inspections.get(original_name="good-0.png")
    defect = product.inspections.filter(decision="reject").first()
    assert good.decision == "pass"
    coloured = {}
    for inspection in (good, defect):
        page.goto(f"/products/{product.pk}/inspections/{inspection.pk}/")
        heatmap = page.locator("[data-heatmap]")
        expect(heatmap).to_have_attribute("data-heatmap-state", "drawn")
        expect(heatmap).to_contain_text("Fixed scale of version 1")
        coloured[inspection.original_name] = int(heatmap.get_attribute("data-coloured-pixels"))
    assert coloured["good-0.png"] == 0, coloured
    assert coloured[defect.original_name] > 20, coloured
    # The opacity slider fades the overlay.
    page.get_by_label("Heatmap opacity").fill("20")
    assert page.locator("[data-heatmap] canvas").evaluate("canvas => canvas.style.opacity") == "0.2"


def test_refusals_from_the_api_are_shown_in_words(signed_in_page, two_versions):
    page = signed_in_page
    product, _, _ = two_versions
    # An upload whose only file is not an image: the report names it with the reason.
    page.goto(f"/products/{product.pk}/images/")
    drop_files(page, "[data-dropzone]", [("notes.png", b"shopping list", "image/png")])
    page.get_by_role("button", name="Upload", exact=True).click()
    report = page.locator("[data-upload-report]")
    expect(report).to_contain_text("0 stored, 0 already stored, 1 refused, 0 skipped.")
    expect(report).to_contain_text("notes.png: ")
    # Inspecting something that is not an image: the service's sentence, as an alert.
    page.goto(f"/products/{product.pk}/inspect/")
    drop_files(page, "[data-dropzone]", [("photo.png", b"\x89PNG broken", "image/png")])
    page.get_by_role("button", name="Inspect", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("photo.png: not an image file")
