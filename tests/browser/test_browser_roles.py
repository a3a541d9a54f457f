"""The pages follow the role: an operator and a reviewer see the actions they may not take
disabled, with the role that may on hover, and take the ones they may."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.services.inspections import inspection_run
from inspection.services.thresholds import model_version_activate, threshold_set
from tests.browser.conftest import PASSWORD, screenshot
from tests.platform.factories import UserFactory
from tests.platform.loop_data import ready_product, trained_version
from tests.synthetic_images import defective_png


@pytest.fixture
def product_with_a_part_to_review(db, private_media):
    product = ready_product(train=8, test_good=4, test_defective=4, name="Latch")
    version = trained_version(product)
    threshold_set(
        product=product, version=version, threshold=version.metrics["suggested"]["threshold"], reason="suggested"
    )
    model_version_activate(version=version, operating_point="saved", reason="first model")
    product.refresh_from_db()
    inspection = inspection_run(product=product, file=SimpleUploadedFile("defect-11.png", defective_png(11)))
    assert inspection.review_item is not None
    return product


def sign_in(page, role: str):
    user = UserFactory(role=role)
    page.goto("/")
    page.get_by_label("User name").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    return user


def expect_refused(button, role: str):
    expect(button).to_be_disabled()
    assert button.get_attribute("title").startswith(f"Needs the {role} role")
    assert button.get_attribute("data-needs-role") == role


def test_an_operator_inspects_but_is_not_offered_curation_review_or_products(page, product_with_a_part_to_review):
    product = product_with_a_part_to_review
    sign_in(page, "operator")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    expect(page.get_by_role("link", name="Audit")).to_have_count(0)
    expect_refused(page.get_by_role("button", name="Create product"), "admin")
    page.goto(f"/products/{product.pk}/images/")
    expect_refused(page.get_by_role("button", name="Upload", exact=True), "engineer")
    page.goto(f"/products/{product.pk}/review/")
    expect_refused(page.get_by_role("button", name="Review the most doubtful part"), "reviewer")
    screenshot(page, "roles-operator-review")
    page.goto(f"/products/{product.pk}/inspect/")
    expect(page.get_by_role("button", name="Inspect", exact=True)).to_be_enabled()


def test_a_reviewer_decides_a_part_but_is_not_offered_training(page, product_with_a_part_to_review):
    product = product_with_a_part_to_review
    sign_in(page, "reviewer")
    page.goto(f"/products/{product.pk}/training/")
    expect_refused(page.get_by_role("button", name="Start training"), "engineer")
    page.goto(f"/products/{product.pk}/review/")
    page.get_by_role("button", name="Review the most doubtful part").click()
    mark_normal = page.get_by_role("button", name="Mark normal")
    expect(mark_normal).to_be_enabled()
    screenshot(page, "roles-reviewer-item")
    with page.expect_navigation():
        mark_normal.click()
    item = product.review_items.get()
    assert item.status == "decided" and item.decision == "normal"


def test_an_administrator_creates_a_station_sees_its_token_once_and_finds_it_in_the_audit_log(page, db):
    administrator = sign_in(page, "admin")
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Station name").fill("line-4")
    page.get_by_role("button", name="Create station").click()
    token = page.locator(".secret-value").inner_text()
    assert len(token) == 40
    screenshot(page, "roles-admin-users")
    page.goto("/users/")
    expect(page.locator(".secret-value")).to_have_count(0)
    expect(page.locator('tr[data-username="station-line-4"]')).to_contain_text("Revoke token")
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("User").fill(administrator.username)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.audit")).to_contain_text("station-line-4")
    screenshot(page, "roles-admin-audit")


def test_an_operator_sees_an_annotation_but_drawing_does_not_offer_a_save(page, product_with_a_part_to_review):
    from tests.platform.factories import DefectTypeFactory

    product = product_with_a_part_to_review
    DefectTypeFactory(product=product, name="scratch")
    image = product.images.filter(registration_status="registered").first()
    sign_in(page, "operator")
    page.goto(f"/products/{product.pk}/images/{image.pk}/annotate/")
    expect(page.locator("[data-annotator]")).to_have_attribute("data-state", "ready")
    box = page.locator("[data-base-image]").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=10)
    page.mouse.up()
    assert page.evaluate("window.annotationEditor.regions.length") == 0
    expect_refused(page.get_by_role("button", name="Save"), "reviewer")
