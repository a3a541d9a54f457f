"""Undo in the review queue: N marks a part normal, U takes the verdict back and the part returns."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.models import Image, ReviewItem
from inspection.services.inspections import inspection_run
from tests.browser.conftest import screenshot
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, png_bytes


@pytest.fixture
def queue(db, user, private_media):
    product = ready_product(train=10, test_good=4, test_defective=4, name="Latch")
    activated_version(product, user=user)
    for seed in (31, 32):
        inspection_run(product=product, file=SimpleUploadedFile(f"part-{seed}.png", png_bytes(defective_pixels(seed))))
    return product


def test_undoing_a_verdict_with_the_u_key_brings_the_part_back(signed_in_page, queue):
    page = signed_in_page
    images_before = Image.objects.filter(product=queue).count()
    page.goto(f"/products/{queue.pk}/review/")
    page.get_by_role("button", name="Review the most doubtful part").click()
    heading = page.locator("main h1")
    expect(heading).to_contain_text("Review: part-")
    first_part = heading.inner_text().removeprefix("Review: ")
    # The keys are bound by the page's deferred script: a key pressed before it has run does nothing.
    page.wait_for_function("document.readyState === 'complete'")
    page.keyboard.press("n")
    expect(page.get_by_role("status")).to_contain_text(f"{first_part} marked normal")
    expect(page.locator("form[data-review-undo]")).to_contain_text(f"{first_part}: normal")
    assert Image.objects.filter(product=queue).count() == images_before + 1
    screenshot(page, "review-undo-offered")
    page.wait_for_function("document.readyState === 'complete'")
    page.keyboard.press("u")
    expect(page.get_by_role("status")).to_contain_text(f"Verdict on {first_part} undone")
    expect(heading).to_have_text(f"Review: {first_part}")
    expect(page.get_by_role("button", name="Mark normal")).to_be_visible()
    assert Image.objects.filter(product=queue).count() == images_before
    assert ReviewItem.objects.filter(product=queue, status="decided").count() == 0
