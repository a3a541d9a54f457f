"""Review hotkeys in the browser: keys follow the engineer's order, a typed new type is added after
confirmation and takes the next key without renumbering the others."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.models import DefectType, ReviewItem
from inspection.services.inspections import inspection_run
from inspection.services.review_hotkeys import defect_type_order_set
from tests.browser.conftest import screenshot
from tests.platform.factories import DefectTypeFactory
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, png_bytes


@pytest.fixture
def queue(db, user, private_media):
    product = ready_product(train=10, test_good=4, test_defective=4, name="Buckle")
    activated_version(product, user=user)
    DefectType.objects.filter(product=product).delete()
    scratch = DefectTypeFactory(product=product, name="scratch", color="#e6194b")
    dent = DefectTypeFactory(product=product, name="dent", color="#4363d8")
    defect_type_order_set(product=product, ids=[scratch.pk, dent.pk])
    for seed in (51, 52, 53):
        inspection_run(product=product, file=SimpleUploadedFile(f"part-{seed}.png", png_bytes(defective_pixels(seed))))
    return product


def test_number_keys_follow_the_set_order_and_a_new_type_takes_the_next_key(signed_in_page, queue):
    page = signed_in_page
    page.goto(f"/products/{queue.pk}/review/")
    page.get_by_role("button", name="Review the most doubtful part").click()
    keys = page.get_by_role("group", name="Known defect types")
    expect(keys.get_by_role("button")).to_have_text(["1 scratch", "2 dent"])
    first_part = page.locator("main h1").inner_text().removeprefix("Review: ")
    # The keys are bound by the page's deferred script: a key pressed before it has run does nothing.
    page.wait_for_function("document.readyState === 'complete'")
    page.keyboard.press("2")
    expect(page.get_by_role("status")).to_contain_text(f"{first_part} confirmed defective (dent)")

    # A type typed on the next part is not used before it is confirmed, with a colour.
    page.wait_for_function("document.readyState === 'complete'")
    page.keyboard.press("d")
    page.get_by_label("Defect type D").fill("abrasion")
    page.get_by_label("Defect type D").press("Enter")
    dialog = page.locator("[data-new-defect-type]")
    expect(dialog).to_contain_text("Add “abrasion” as a defect type?")
    dialog.get_by_label("Colour").fill("#3cb44b")
    screenshot(page, "review-new-defect-type")
    dialog.get_by_role("button", name="Add “abrasion” and confirm the defect").click()
    expect(page.get_by_role("status")).to_contain_text("confirmed defective (abrasion)")
    # The keys people learned stay; the new type takes the next one.
    expect(page.get_by_role("group", name="Known defect types").get_by_role("button")).to_have_text(
        ["1 scratch", "2 dent", "3 abrasion"]
    )
    assert DefectType.objects.get(product=queue, name="abrasion").color == "#3cb44b"
    assert sorted(ReviewItem.objects.filter(product=queue, status="decided").values_list("defect_type", flat=True)) == [
        "abrasion",
        "dent",
    ]
