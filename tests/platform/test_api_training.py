"""Model version endpoints without a worker, and the whole loop on a storage that is not a folder."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile

from config.env import env_json_object
from inspection.models import Image, Job, ModelVersion
from inspection.services.training import training_job_run
from tests.platform.loop_data import TINY_CPCAE, gap_threshold, ready_product
from tests.synthetic_images import defective_pixels, good_pixels, png_bytes

pytestmark = pytest.mark.django_db


def test_requesting_a_training_returns_the_queued_version_with_its_job(api_client, user):
    product = ready_product(train=4, test_good=1, test_defective=1)
    response = api_client.post(f"/api/products/{product.pk}/model-versions/", {"params": TINY_CPCAE}, format="json")
    assert response.status_code == 202, response.data
    data = response.data
    assert (data["number"], data["method"], data["status"], data["is_active"]) == (1, "cpcae-knn", "queued", False)
    assert (data["job"]["kind"], data["job"]["status"], data["created_by"]) == ("training", "queued", user.username)
    assert (data["train_count"], data["eval_count"], data["params"]) == (4, 2, TINY_CPCAE)
    listed = api_client.get(f"/api/products/{product.pk}/model-versions/").data
    assert listed["count"] == 1 and listed["results"][0]["id"] == data["id"]
    assert api_client.get(f"/api/products/{product.pk}/model-versions/", {"status": "queued"}).data["count"] == 1
    assert api_client.get(f"/api/products/{product.pk}/model-versions/", {"status": "busy"}).status_code == 400
    assert api_client.get("/api/jobs/", {"kind": "training"}).data["count"] == 1


def test_a_second_request_while_training_is_refused_with_409_and_the_reason(api_client):
    product = ready_product(train=3, test_good=0, test_defective=0)
    first = api_client.post(f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json")
    second = api_client.post(f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json")
    assert second.status_code == 409
    assert second.data["detail"].startswith("Version 1 of this product is still queued")
    assert second.data["running_version"] == first.data["id"]
    assert api_client.post(f"/api/products/{product.pk}/retrain/").status_code == 409


def test_bad_training_requests_are_refused_with_what_is_wrong(api_client):
    product = ready_product(train=3, test_good=0, test_defective=0)
    url = f"/api/products/{product.pk}/model-versions/"
    assert api_client.post(url, {"method": "magic"}, format="json").status_code == 400
    unknown = api_client.post(url, {"method": "variation", "params": {"epochs": 3}}, format="json")
    assert unknown.status_code == 400 and "takes no parameter(s) epochs" in unknown.data["detail"]
    assert api_client.post(url, {"params": [1, 2]}, format="json").status_code == 400
    assert not ModelVersion.objects.exists()


def test_the_former_method_name_nn_is_accepted_and_every_version_shows_nearest_image(api_client):
    product = ready_product(train=3, test_good=0, test_defective=0)
    url = f"/api/products/{product.pk}/model-versions/"
    response = api_client.post(url, {"method": "nn", "params": {"working_side": 48}}, format="json")
    assert response.status_code == 202, response.data
    assert response.data["method"] == "nearest-image"
    assert ModelVersion.objects.get().method == "nearest-image"
    ModelVersion.objects.update(method="nn")  # as saved before the rename
    version = api_client.get(f"{url}{response.data['id']}/").data
    assert version["method"] == "nearest-image"


def test_cancelling_a_queued_training_through_the_api(api_client):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = api_client.post(
        f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json"
    ).data
    cancelled = api_client.post(f"/api/products/{product.pk}/model-versions/{version['id']}/cancel/")
    assert cancelled.status_code == 202 and cancelled.data["status"] == "cancelled"
    assert Job.objects.get(pk=version["job"]["id"]).status == "cancelled"
    again = api_client.post(f"/api/products/{product.pk}/model-versions/{version['id']}/cancel/")
    assert again.status_code == 409


def test_the_media_storage_backend_and_its_options_come_from_the_environment():
    assert env_json_object("MEDIA_STORAGE_OPTIONS", {}, environ={}) == {}
    assert env_json_object(
        "MEDIA_STORAGE_OPTIONS", {}, environ={"MEDIA_STORAGE_OPTIONS": '{"bucket_name": "parts"}'}
    ) == {"bucket_name": "parts"}
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE_OPTIONS is not valid JSON"):
        env_json_object("MEDIA_STORAGE_OPTIONS", {}, environ={"MEDIA_STORAGE_OPTIONS": "{bucket"})
    with pytest.raises(ImproperlyConfigured, match="must be a JSON object"):
        env_json_object("MEDIA_STORAGE_OPTIONS", {}, environ={"MEDIA_STORAGE_OPTIONS": "[1]"})


def test_the_loop_reads_and_writes_only_through_django_storage(api_client, settings, tmp_path):
    """With an in-memory storage (like S3: no local paths) training, inspection and review still work."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    settings.MEDIA_ROOT = str(tmp_path / "unused")
    product = ready_product(train=8, test_good=2, test_defective=2)
    version = api_client.post(
        f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json"
    ).data
    training_job_run(job_id=version["job"]["id"], worker="here:1")
    trained = ModelVersion.objects.get(pk=version["id"])
    assert trained.status == "trained", trained.error
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": trained.pk, "threshold": gap_threshold(trained), "reason": "in the gap"},
        format="json",
    )
    assert (
        api_client.post(
            f"/api/products/{product.pk}/model-versions/{trained.pk}/activate/",
            {"operating_point": "saved", "reason": "first model"},
            format="json",
        ).status_code
        == 200
    )
    good = api_client.post(
        f"/api/products/{product.pk}/inspections/",
        {"file": SimpleUploadedFile("g.png", png_bytes(good_pixels(900)))},
        format="multipart",
    )
    bad = api_client.post(
        f"/api/products/{product.pk}/inspections/",
        {"file": SimpleUploadedFile("b.png", png_bytes(defective_pixels(21)))},
        format="multipart",
    )
    assert (good.data["decision"], bad.data["decision"]) == ("pass", "reject")
    item = bad.data["review_item"]["id"]
    decided = api_client.post(
        f"/api/products/{product.pk}/review-items/{item}/decide/",
        {"decision": "defective", "defect_type": "blob"},
        format="json",
    )
    assert decided.status_code == 200
    image = Image.objects.get(pk=decided.data["resulting_image"])
    assert image.aligned_file.storage.exists(image.aligned_file.name)
    assert not (tmp_path / "unused").exists()


def test_deleting_a_product_removes_its_model_bundles_and_inspection_files(
    api_client, private_media, django_capture_on_commit_callbacks
):
    from tests.platform.loop_data import activated_version

    product = ready_product(train=6, test_good=2, test_defective=2)
    version = activated_version(product)
    inspected = api_client.post(
        f"/api/products/{product.pk}/inspections/",
        {"file": SimpleUploadedFile("b.png", png_bytes(defective_pixels(22)))},
        format="multipart",
    )
    stored = [version.bundle.name] + [
        inspected.data[field].split("/media/", 1)[1] for field in ("source_file", "registered_file", "anomaly_map")
    ]
    assert all((private_media / name).is_file() for name in stored)
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/products/{product.pk}/").status_code == 204
    assert not any((private_media / name).exists() for name in stored)
    assert not ModelVersion.objects.exists()
