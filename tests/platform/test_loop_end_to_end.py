"""The whole loop through the API with a real worker, the real broker and database.

Create a product, import a small synthetic set, train the paper's method
(tiny settings) on the worker, evaluate, set a threshold, activate, inspect a
good and a defective part, find the defective one in the review queue,
confirm it, retrain on the data set as it now stands, activate again.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import ModelVersionImage
from tests.platform.fixtures import wait_for_job
from tests.platform.loop_data import REGISTRATION, TINY_CPCAE
from tests.synthetic_images import defective_pixels, good_pixels, mvtec_zip, png_bytes, reference_png

pytestmark = pytest.mark.usefixtures("transactional_db")


def wait_for_version(api_client, product_id, version_id, worker, timeout=300):
    response = api_client.get(f"/api/products/{product_id}/model-versions/{version_id}/")
    wait_for_job(response.data["job"]["id"], worker=worker, timeout=timeout)
    return api_client.get(f"/api/products/{product_id}/model-versions/{version_id}/").data


def inspect_now(api_client, product_id, name, pixels):
    response = api_client.post(
        f"/api/products/{product_id}/inspections/",
        {"file": SimpleUploadedFile(name, png_bytes(pixels))},
        format="multipart",
    )
    assert response.status_code == 201, response.data
    return response.data


def test_train_evaluate_activate_inspect_review_and_retrain(celery_worker, api_client, private_media):
    started = time.monotonic()
    # A product with its reference image, then a small MVTec-layout set.
    product = api_client.post(
        "/api/products/", {"name": "Cursor", "registration_settings": REGISTRATION}, format="json"
    ).data
    url = f"/api/products/{product['id']}"
    reference = api_client.post(
        f"{url}/reference-image/", {"file": SimpleUploadedFile("ref.png", reference_png())}, format="multipart"
    )
    assert reference.status_code == 202
    upload = api_client.post(
        f"{url}/images/",
        {"files": [SimpleUploadedFile("set.zip", mvtec_zip(train=12, test_good=4, test_defective=4))]},
        format="multipart",
    )
    assert upload.status_code == 201 and upload.data["created_count"] == 20
    assert wait_for_job(upload.data["job"]["id"], worker=celery_worker).status == "succeeded"

    # Train the paper's method on the worker; progress shows stage, epoch and loss.
    requested = api_client.post(f"{url}/model-versions/", {"method": "cpcae-knn", "params": TINY_CPCAE}, format="json")
    assert requested.status_code == 202, requested.data
    assert (
        requested.data["number"],
        requested.data["status"],
        requested.data["train_count"],
        requested.data["eval_count"],
    ) == (1, "queued", 12, 8)
    first = wait_for_version(api_client, product["id"], requested.data["id"], celery_worker)
    assert first["status"] == "trained", (first["error"], celery_worker.log_tail())
    assert first["job"]["status"] == "succeeded" and first["job"]["worker"] != ""
    assert (first["progress"]["epochs"], len(first["progress"]["losses"])) == (2, 2)
    assert first["metrics"]["image_auroc"] == 1.0 and first["evaluated"] is True
    assert first["train_seconds"] > 0 and first["engine_version"] and first["bundle_checksum"]

    # Evaluate: the stored scores, the curves and a proposed threshold between the classes.
    scores = api_client.get(f"{url}/model-versions/{first['id']}/evaluation/").data["results"]
    normal = max(entry["score"] for entry in scores if entry["label"] == "normal")
    defective = min(entry["score"] for entry in scores if entry["label"] == "defective")
    threshold = (normal + defective) / 2
    point = api_client.get(f"{url}/model-versions/{first['id']}/operating-point/", {"threshold": threshold}).data
    assert point["proposed"]["confusion"] == {"tp": 4, "fp": 0, "tn": 4, "fn": 0}
    assert set(point["curves"]) == {"roc", "pr", "histogram"}
    setting = api_client.post(
        f"{url}/thresholds/",
        {"version": first["id"], "threshold": threshold, "reason": "between the classes"},
        format="json",
    )
    assert setting.status_code == 201
    activation = api_client.post(
        f"{url}/model-versions/{first['id']}/activate/",
        {"reason": "first model", "operating_point": "saved"},
        format="json",
    )
    assert activation.status_code == 200 and activation.data["gate"]["false_call_rate"] == 0.0

    # Inspect a good and a defective part (synchronous path, this process).
    good = inspect_now(api_client, product["id"], "good.png", good_pixels(700))
    bad = inspect_now(api_client, product["id"], "bad.png", defective_pixels(27))
    assert good["decision"] == "pass", good["reason"]
    assert bad["decision"] == "reject", bad["reason"]
    for field in ("registered_file", "anomaly_map", "reconstruction_file", "nearest_image_file"):
        assert bad[field] and api_client.get(bad[field]).status_code == 200, field
    assert bad["nearest_image"] is not None

    # Several parts go through a job on the worker.
    batch = api_client.post(
        f"{url}/inspections/",
        {
            "files": [
                SimpleUploadedFile("g.png", png_bytes(good_pixels(701))),
                SimpleUploadedFile("b.png", png_bytes(defective_pixels(29))),
            ]
        },
        format="multipart",
    )
    assert batch.status_code == 202 and [entry["status"] for entry in batch.data["inspections"]] == [
        "pending",
        "pending",
    ]
    assert wait_for_job(batch.data["job"]["id"], worker=celery_worker, timeout=120).status == "succeeded"
    decided = api_client.get(f"{url}/inspections/", {"job": batch.data["job"]["id"]}).data["results"]
    assert sorted((entry["original_name"], entry["decision"]) for entry in decided) == [
        ("b.png", "reject"),
        ("g.png", "pass"),
    ]

    # The defective part waits in the review queue; a reviewer claims and confirms it.
    queue = api_client.get(f"{url}/review-items/").data["results"]
    assert bad["id"] in [entry["inspection"]["id"] for entry in queue]
    item = next(entry for entry in queue if entry["inspection"]["id"] == bad["id"])
    assert api_client.post(f"{url}/review-items/{item['id']}/claim/").status_code == 200
    verdict = api_client.post(
        f"{url}/review-items/{item['id']}/decide/", {"decision": "defective", "defect_type": "scratch"}, format="json"
    )
    assert verdict.status_code == 200 and verdict.data["status"] == "decided"
    labelled = verdict.data["resulting_image"]

    # Retrain in one call on the data set as it now stands: the confirmed defect is evaluated on.
    retrain = api_client.post(f"{url}/retrain/")
    assert retrain.status_code == 202 and (retrain.data["method"], retrain.data["params"]) == ("cpcae-knn", TINY_CPCAE)
    assert retrain.data["eval_count"] == 9
    assert ModelVersionImage.objects.filter(version_id=retrain.data["id"], image_id=labelled, role="eval").exists()
    second = wait_for_version(api_client, product["id"], retrain.data["id"], celery_worker)
    assert second["status"] == "trained", second["error"]
    promoted = api_client.post(
        f"{url}/model-versions/{second['id']}/activate/",
        {"reason": "retrained", "operating_point": "max-f1"},
        format="json",
    )
    assert promoted.status_code == 200
    gate = promoted.data["gate"]
    assert (gate["old_version"], gate["new_version"], gate["compared_defects"]) == (1, 2, 4)
    assert gate["passed"] is True, gate
    assert api_client.get(url + "/").data["active_version"] == second["id"]
    print(f"end-to-end loop: {time.monotonic() - started:.1f} s")
