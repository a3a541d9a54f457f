"""The audit log: every kind of write leaves who, when, what and the fields before and after,
readable through GET /api/audit/ (newest first, filtered, paged) and never changeable through the app."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from inspection.models import Image
from inspection.services.inspections import inspection_run
from tests.platform.factories import ImageFactory, ProductFactory, UserFactory
from tests.platform.fixtures import client_for
from tests.platform.loop_data import activated_version, gap_threshold, ready_product, trained_version
from tests.synthetic_images import defective_pixels, part_png, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return UserFactory(role="admin")


@pytest.fixture
def engineer():
    return UserFactory(role="engineer")


def entries(client, **filters) -> list[dict]:
    response = client.get("/api/audit/", filters)
    assert response.status_code == 200, response.data
    return response.data["results"]


def only(found: list[dict], **expected) -> dict:
    matching = [entry for entry in found if all(entry[key] == value for key, value in expected.items())]
    assert len(matching) == 1, (expected, found)
    return matching[0]


def test_a_product_created_renamed_given_a_region_and_deleted_leaves_four_entries_with_the_actor(admin):
    api = client_for(admin)
    product_id = api.post("/api/products/", {"name": "Bracket"}, format="json").data["id"]
    region = {"roi": [4, 4, 100, 100]}
    assert (
        api.patch(
            f"/api/products/{product_id}/", {"name": "Bracket B", "registration_settings": region}, format="json"
        ).status_code
        == 200
    )
    assert api.delete(f"/api/products/{product_id}/").status_code == 204
    found = entries(api, product=product_id)
    assert [entry["action"] for entry in found] == ["delete", "update", "create"]
    assert {entry["actor"] for entry in found} == {admin.username}
    update = found[1]
    assert update["changes"]["name"] == {"before": "Bracket", "after": "Bracket B"}
    assert "roi" in update["changes"]["registration_settings"]["after"]
    assert found[0]["object"] == "Bracket B" and found[0]["deleted_copy"]["name"] == "Bracket B"


def test_image_upload_relabel_split_exclusion_and_deletion_keep_the_name_and_checksum(engineer):
    api = client_for(engineer)
    product = ProductFactory()
    upload = api.post(
        f"/api/products/{product.pk}/images/",
        {
            "files": [SimpleUploadedFile("scratch-01.png", part_png(seed=4), content_type="image/png")],
            "label": "normal",
        },
        format="multipart",
    )
    assert upload.status_code in (201, 202), upload.data
    image = Image.objects.get(product=product, original_name="scratch-01.png")
    url = f"/api/products/{product.pk}/images/{image.pk}/"
    api.patch(url, {"label": "defective", "defect_type": "scratch"}, format="json")
    api.patch(url, {"split": "test"}, format="json")
    api.patch(url, {"split": "excluded"}, format="json")
    assert api.delete(url).status_code == 204
    found = [
        entry
        for entry in entries(client_for(UserFactory(role="admin")), product=product.pk)
        if entry["object_type"] == "image"
    ]
    assert [entry["action"] for entry in found] == ["delete", "update", "update", "update", "create"]
    assert found[3]["changes"]["label"] == {"before": "normal", "after": "defective"}
    assert found[2]["changes"]["split"] == {"before": "train", "after": "test"}
    assert found[1]["changes"]["split"] == {"before": "test", "after": "excluded"}
    deleted = found[0]["deleted_copy"]
    assert (deleted["original_name"], deleted["checksum"]) == ("scratch-01.png", image.checksum)
    assert {entry["actor"] for entry in found} == {engineer.username}


def test_a_bulk_relabel_leaves_one_entry_per_image(engineer):
    product = ProductFactory()
    images = [ImageFactory(product=product) for _ in range(2)]
    response = client_for(engineer).patch(
        f"/api/products/{product.pk}/images/bulk/",
        {"ids": [image.pk for image in images], "split": "test"},
        format="json",
    )
    assert response.status_code == 200, response.data
    found = entries(client_for(UserFactory(role="admin")), product=product.pk, action="update")
    assert sorted(int(entry["object_id"]) for entry in found) == sorted(image.pk for image in images)
    assert {entry["actor"] for entry in found} == {engineer.username}
    assert all(entry["changes"]["split"] == {"before": "train", "after": "test"} for entry in found)


def test_a_defect_type_made_by_a_reviewer_is_logged(engineer):
    reviewer = UserFactory(role="reviewer")
    product = ProductFactory()
    created = client_for(reviewer).post(
        f"/api/products/{product.pk}/defect-types/", {"name": "dent", "color": "#112233"}, format="json"
    )
    assert created.status_code == 201, created.data
    entry = only(entries(client_for(UserFactory(role="admin")), product=product.pk), object_type="defecttype")
    assert entry["actor"] == reviewer.username and entry["changes"]["name"] == {"before": "None", "after": "dent"}


def test_training_start_cancel_threshold_and_activation_are_logged_with_the_operating_point(engineer):
    api = client_for(engineer)
    product = ready_product(train=10, test_good=4, test_defective=4)
    version = trained_version(product)
    threshold = gap_threshold(version)
    assert (
        api.post(
            f"/api/products/{product.pk}/thresholds/",
            {"version": version.pk, "threshold": threshold, "reason": "gap between the classes"},
            format="json",
        ).status_code
        == 201
    )
    activated = api.post(
        f"/api/products/{product.pk}/model-versions/{version.pk}/activate/",
        {"operating_point": "saved", "reason": "night shift"},
        format="json",
    )
    assert activated.status_code in (200, 201), activated.data
    queued = api.post(f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json")
    assert queued.status_code in (201, 202), queued.data
    api.post(f"/api/products/{product.pk}/model-versions/{queued.data['id']}/cancel/")
    found = entries(client_for(UserFactory(role="admin")), product=product.pk, user=engineer.username)
    setting = only(found, object_type="thresholdsetting", action="create")
    assert setting["changes"]["threshold"]["after"] == str(threshold)
    activation = only(found, object_type="activation", action="create")
    assert activation["details"]["operating_point"]["threshold"] == threshold
    versions = [entry for entry in found if entry["object_type"] == "modelversion"]
    assert [entry["action"] for entry in versions] == ["create"]
    jobs = [entry for entry in found if entry["object_type"] == "job"]
    assert [entry["action"] for entry in jobs] == ["update", "create"]
    assert jobs[0]["changes"]["status"] == {"before": "queued", "after": "cancelled"}


def test_a_review_decision_is_logged_with_the_verdict_before_and_after():
    reviewer = UserFactory(role="reviewer")
    product = ready_product(train=10, test_good=4, test_defective=4)
    activated_version(product)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("bad.png", png_bytes(defective_pixels(21))))
    item = inspection.review_item
    decided = client_for(reviewer).post(
        f"/api/products/{product.pk}/review-items/{item.pk}/decide/",
        {"decision": "defective", "defect_type": "scratch"},
        format="json",
    )
    assert decided.status_code == 200, decided.data
    found = entries(client_for(UserFactory(role="admin")), product=product.pk, user=reviewer.username)
    decision = [entry for entry in found if entry["object_type"] == "reviewitem" and "decision" in entry["changes"]]
    assert decision[0]["changes"]["decision"] == {"before": "", "after": "defective"}


def test_users_and_role_changes_made_on_the_users_page_are_logged(admin):
    page = Client()
    page.force_login(admin)
    page.post("/users/", {"username": "night-lead", "role": "operator"})
    newcomer = type(admin).objects.get(username="night-lead")
    page.post(f"/users/{newcomer.pk}/role/", {"role": "engineer"})
    page.post(f"/users/{newcomer.pk}/active/", {"active": "0"})
    found = [entry for entry in entries(client_for(admin), user=admin.username) if entry["object"] == "night-lead"]
    assert found[-1]["action"] == "create"
    groups = [entry["changes"]["groups"] for entry in found if "groups" in entry["changes"]]
    assert {"operation": "add", "objects": ["engineer"]} in groups
    created = found[-1]["changes"]
    assert created["password"]["after"] == "(hidden)"
    assert any(entry["changes"].get("is_active") == {"before": "True", "after": "False"} for entry in found)
    assert all(entry["actor"] == admin.username for entry in found)


def test_the_log_is_newest_first_paged_and_filtered_by_action_and_time(admin):
    api = client_for(admin)
    product = ProductFactory()
    for index in range(3):
        ImageFactory(product=product, original_name=f"part-{index}.png")
    created = entries(api, product=product.pk, action="create")
    assert [entry["object"].split(" ")[0] for entry in created[:3]] == [f"part-{index}.png" for index in (2, 1, 0)]
    paged = api.get("/api/audit/", {"product": product.pk, "page_size": 2})
    assert paged.data["count"] == 4 and len(paged.data["results"]) == 2 and paged.data["next"]
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert entries(api, product=product.pk, since=later) == []
    assert len(entries(api, product=product.pk, until=later)) == 4
    assert api.get("/api/audit/", {"action": "rename"}).status_code == 400
    assert api.get("/api/audit/", {"since": later, "until": later}).status_code == 400


def test_entries_cannot_be_changed_or_deleted_through_the_app_and_only_admins_read_them(admin, engineer):
    ProductFactory()
    api = client_for(admin)
    entry_id = entries(api)[0]["id"]
    before = LogEntry.objects.count()
    for method in ("post", "put", "patch", "delete"):
        assert getattr(api, method)("/api/audit/", {}, format="json").status_code in (403, 405)
        assert getattr(api, method)(f"/api/audit/{entry_id}/", {}, format="json").status_code in (403, 404, 405)
    assert LogEntry.objects.count() == before
    refused = client_for(engineer).get("/api/audit/")
    assert refused.status_code == 403 and "admin role" in refused.data["detail"]


def test_the_audit_page_shows_the_entries_with_the_same_filters(admin):
    product = ProductFactory(name="Hinge")
    ImageFactory(product=product, original_name="hinge-7.png")
    page = Client()
    page.force_login(admin)
    shown = page.get("/audit/", {"product": product.pk, "action": "create"})
    assert shown.status_code == 200
    assert "hinge-7.png" in shown.content.decode()
    assert page.get("/audit/", {"action": "rename"}).status_code == 400


def test_an_annotation_saved_by_a_reviewer_is_logged_under_its_product():
    from tests.platform.factories import DefectTypeFactory, RegisteredImageFactory
    from tests.platform.test_api_annotations import mask_png, put_annotation

    reviewer = UserFactory(role="reviewer")
    product = ProductFactory()
    image = RegisteredImageFactory(product=product, aligned_size=(64, 48))
    scratch = DefectTypeFactory(product=product, name="scratch")
    saved = put_annotation(client_for(reviewer), product, image, [(scratch.pk, mask_png())], note="left edge")
    assert saved.status_code in (200, 201), saved.data
    entry = only(
        entries(client_for(UserFactory(role="admin")), product=product.pk, action="create"), object_type="annotation"
    )
    assert entry["actor"] == reviewer.username
    assert entry["changes"]["note"] == {"before": "None", "after": "left edge"}
