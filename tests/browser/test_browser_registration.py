"""The data set page's Registration panel: what was chosen and refused, and the region of interest edited on the reference."""

from __future__ import annotations

from unittest import mock

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from inspection.models import Image, Job, Product
from inspection.services.products import product_create
from inspection.services.registration import registration_job_run
from tests.browser.conftest import screenshot
from tests.platform.factories import ImageFactory
from tests.synthetic_images import noise_pixels, png_bytes, radial_part


def _png(pixels: np.ndarray) -> bytes:
    return png_bytes((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8))


def _product_with_aligned_caps() -> Product:
    # Not handed to the workers: this test commits, and a session's worker could claim the job first.
    with mock.patch("inspection.services.jobs.job_dispatch"):
        product = product_create(
            name="Bottle cap", reference_image=SimpleUploadedFile("reference.png", _png(radial_part(seed=0)))
        )
    rng = np.random.default_rng(0)
    for index in range(8):
        centre = (96 + rng.uniform(-3, 3), 96 + rng.uniform(-3, 3))
        ImageFactory(
            product=product,
            content=_png(radial_part(seed=index + 1, centre=centre, angle=rng.uniform(-15, 15))),
            original_name=f"cap_{index}.png",
        )
    ImageFactory(
        product=product,
        content=png_bytes(noise_pixels(size=192)),
        original_name="a_sticker.png",
        label=Image.Label.UNKNOWN,
        split=Image.Split.TEST,
    )
    # product_create queued the registration job; run it here, in this process.
    registration_job_run(job_id=Job.objects.get(product=product).pk, worker="test:1")
    product.refresh_from_db()
    return product


def test_the_registration_panel_shows_the_choice_and_edits_the_region_of_interest(signed_in_page, private_media):
    page = signed_in_page
    product = _product_with_aligned_caps()
    chosen = product.registration_report["chosen"]
    page.goto(reverse("dataset-page", args=[product.pk]))

    panel = page.locator("#registration-panel")
    expect(panel.get_by_role("heading", name="Registration")).to_be_visible()
    expect(panel.locator("[data-registration-choice]")).to_contain_text(f"chosen automatically: {chosen}")
    rows = panel.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="(chosen)")).to_contain_text(chosen)
    expect(panel.get_by_role("img", name="8 pictures between")).to_have_count(2)
    expect(panel.locator("[data-registration-refused]")).to_contain_text(
        "a_sticker.png: too different from the reference"
    )

    # Nobody saved a region: the one in force is suggested, not confirmed, with Accept and Edit.
    region = product.registration_report["region"]
    assert region["source"] == "suggested"
    state = panel.locator("[data-roi-state]")
    expect(state).to_contain_text("Region in force: suggested, not confirmed")
    expect(state).to_contain_text(", ".join(str(value) for value in region["roi"]))
    expect(panel.get_by_role("button", name="Edit the region")).to_be_visible()
    assert _fields(panel) == [str(value) for value in region["roi"]]
    expect(panel.locator("[data-roi-box]")).to_be_visible()
    screenshot(page, "registration-panel")

    # The suggestion on the reference is the cap with a margin, not the frame.
    suggested = [int(value) for value in product_suggested_roi(page)]
    assert 0 < suggested[2] < 192 and 0 < suggested[3] < 192

    # Accepting saves the region in force: from then on it is the product's own, and since the
    # images were aligned with it already, none is aligned again.
    aligned_before = dict(Image.objects.filter(product=product).values_list("pk", "aligned_file"))
    panel.get_by_role("button", name="Accept this region").click()
    expect(panel.locator("[data-roi-message]")).to_contain_text(
        "Region accepted: the images were already aligned with it and stay as they are"
    )
    expect(state).to_contain_text("Region in force: saved")
    expect(panel.get_by_role("button", name="Accept this region")).to_be_hidden()
    accepted = Product.objects.get(pk=product.pk)
    assert accepted.registration_settings["roi"] == region["roi"]
    assert accepted.registration_revision == product.registration_revision
    assert accepted.registration_report_is_current and accepted.registration_report["region"]["source"] == "saved"
    assert dict(Image.objects.filter(product=product).values_list("pk", "aligned_file")) == aligned_before
    assert Job.objects.filter(product=product, kind=Job.Kind.REGISTRATION).count() == 1

    # A region outside the reference is refused with the reason, and nothing stored changes.
    panel.get_by_label("Left (x)").fill("150")
    panel.get_by_label("Width").fill("100")
    panel.get_by_role("button", name="Save region and align again").click()
    expect(panel.locator("[data-roi-message]")).to_contain_text("does not fit inside the 192x192 reference")
    assert Product.objects.get(pk=product.pk).registration_settings == accepted.registration_settings

    # Dragging on the reference draws the region; saving stores it and aligns again.
    image = panel.locator("[data-roi-image]")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    scale = box["width"] / 192
    page.mouse.move(box["x"] + 30 * scale, box["y"] + 40 * scale)
    page.mouse.down()
    page.mouse.move(box["x"] + 100 * scale, box["y"] + 120 * scale, steps=5)
    page.mouse.move(box["x"] + 170 * scale, box["y"] + 160 * scale, steps=5)
    page.mouse.up()
    drawn = [int(panel.get_by_label(name).input_value()) for name in ("Left (x)", "Top (y)", "Width", "Height")]
    assert abs(drawn[0] - 30) <= 2 and abs(drawn[1] - 40) <= 2 and abs(drawn[2] - 140) <= 3 and abs(drawn[3] - 120) <= 3
    panel.get_by_role("button", name="Save region and align again").click()
    expect(panel.locator("[data-roi-message]")).to_contain_text("Region saved: every image is being aligned again")
    stored = Product.objects.get(pk=product.pk)
    assert stored.registration_settings["roi"] == drawn
    assert stored.registration_revision == accepted.registration_revision + 1

    # The whole frame stays a choice to save.
    panel.get_by_role("button", name="Whole frame").click()
    assert _fields(panel) == ["0", "0", "192", "192"]
    panel.get_by_role("button", name="Save region and align again").click()
    expect(panel.locator("[data-roi-message]")).to_contain_text("Region saved")
    assert Product.objects.get(pk=product.pk).registration_settings["roi"] == [0, 0, 192, 192]


def _fields(panel):
    return [panel.get_by_label(name).input_value() for name in ("Left (x)", "Top (y)", "Width", "Height")]


def product_suggested_roi(page):
    panel = page.locator("#registration-panel")
    panel.get_by_role("button", name="Use the suggested region").click()
    return _fields(panel)
