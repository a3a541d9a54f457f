"""Signing in, creating a product, and curating its data set in a real browser with a real worker."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.models import Image, Product
from inspection.services.products import product_create
from tests.browser.conftest import screenshot
from tests.browser.file_drop import drop_files
from tests.synthetic_images import cursor_set, part_png


@pytest.fixture
def cursors(tmp_path):
    return cursor_set(tmp_path / "cursors")


def test_signing_in_and_creating_a_product(page, user, private_media):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    screenshot(page, "01-login")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("did not match")
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Products")).to_be_visible()

    page.get_by_role("button", name="Create product").click()
    expect(page.locator(".field-invalid")).to_contain_text("This field is required.")
    page.get_by_label("Name").fill("Hinge")
    page.get_by_label("Description").fill("Stamped steel hinge")
    page.get_by_label("Reference image (optional)").set_input_files(
        files=[{"name": "reference.png", "mimeType": "image/png", "buffer": part_png()}]
    )
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", name="Dataset")).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Product Hinge created")
    assert Product.objects.get(name="Hinge").reference_image


def test_uploading_a_synthetic_set_by_drag_and_drop_and_curating_it(
    signed_in_page, celery_worker, cursors, private_media
):
    page = signed_in_page
    first = cursors.train_good[0]
    product = product_create(
        name="Zipper cursor",
        description="Synthetic cursors",
        # A tiny set: allow a little more border than the default before refusing an image.
        registration_settings={"min_coverage": 0.9},
        reference_image=SimpleUploadedFile(first.name, first.read_bytes()),
    )
    page.goto("/")
    screenshot(page, "02-products-empty")
    page.get_by_role("link", name="Zipper cursor").click()
    expect(page.get_by_role("heading", name="Dataset")).to_be_visible()

    files = [(f"good_{path.name}", path.read_bytes(), "image/png") for path in cursors.train_good]
    files.append(("cursors-test.zip", cursors.test_zip, "application/zip"))
    drop_files(page, "[data-dropzone]", files)
    expect(page.locator("[data-chosen]")).to_contain_text(f"{len(files)} files chosen")
    page.locator("#upload-form").get_by_label("Label").select_option("normal")
    page.get_by_role("button", name="Upload", exact=True).click()

    expect(page.locator("[data-upload-text]")).to_have_text("Upload finished.")
    expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
    expected = len(cursors.train_good) + cursors.test_count
    # The reference image is also among the training files: stored again as an image of the set.
    expect(page.locator("[data-upload-report]")).to_contain_text(f"{expected} stored")
    alignment = page.locator("[data-upload-report] [data-job]")
    expect(alignment).to_have_attribute("data-job-status", "succeeded", timeout=60_000)
    expect(alignment.locator("[data-job-percent]")).to_have_text("100 %")
    expect(page.locator(".grid-summary")).to_contain_text(f"of {expected} images")
    expect(page.locator(".tile").filter(has_text="Aligned").first).to_be_visible()
    assert not Image.objects.filter(product=product, registration_status="pending").exists()
    assert set(Image.objects.filter(product=product, split="test").values_list("label", flat=True)) == {
        "normal",
        "defective",
    }
    screenshot(page, "03-dataset")

    # Filter to the defective test images, select three and give them a defect type.
    page.locator("form.filters").get_by_label("Label").select_option("defective")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(".grid-summary")).to_contain_text("matching images")
    tiles = page.locator(".tile")
    defective_count = Image.objects.filter(product=product, label="defective").count()
    expect(tiles).to_have_count(defective_count)
    tiles.nth(0).locator(".tile-check").check()
    # Shift-click selects the range from the previous click.
    tiles.nth(2).locator(".tile-check").click(modifiers=["Shift"])
    expect(page.locator("[data-selected-count]")).to_have_text(f"3 of {defective_count} selected")
    page.get_by_label("Action", exact=True).select_option("defect_type")
    page.get_by_label("New defect type").fill("dent")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.get_by_role("status").first).to_contain_text("Updated 3 images.")
    assert Image.objects.filter(product=product, defect_type="dent").count() == 3

    # Delete one image, confirming first.
    page.locator(".tile .tile-check").first.check()
    page.get_by_label("Action", exact=True).select_option("delete")
    page.get_by_role("button", name="Delete selected…").click()
    expect(page.get_by_role("heading", name="Delete 1 image?")).to_be_visible()
    screenshot(page, "04-dataset-delete-confirmation")
    page.get_by_role("button", name="Delete 1 image").click()
    expect(page.get_by_role("status").first).to_contain_text("Deleted 1 image.")
    assert Image.objects.filter(product=product).count() == expected - 1


def test_the_dataset_page_fits_a_tablet(signed_in_page, private_media):
    page = signed_in_page
    product = product_create(name="Bracket")
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"/products/{product.pk}/images/")
    expect(page.get_by_role("heading", name="Dataset")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a tablet screen"
    screenshot(page, "05-dataset-tablet")
