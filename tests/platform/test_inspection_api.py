"""Operating points, activation and synchronous inspection through the API, in this process.

The model is trained in this process with the fast "variation" method (no
TensorFlow); the paper's method runs in the end-to-end test with a real worker.
"""

import cv2
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Inspection, ModelVersion, ReviewItem, ThresholdSetting
from inspection.services.bundles import bundle_forget
from inspection.services.training import model_version_create
from tests.platform.factories import noise_pixels, png_bytes
from tests.platform.loop_data import defective_pixels, gap_threshold, good_pixels, ready_product, trained_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ready_product(train=10, test_good=4, test_defective=4)


@pytest.fixture
def version(product):
    return trained_version(product)


def upload(name, pixels):
    return SimpleUploadedFile(name, png_bytes(pixels), content_type="image/png")


def inspect(api_client, product, name, pixels):
    return api_client.post(f"/api/products/{product.pk}/inspections/", {"file": upload(name, pixels)}, format="multipart")


def test_the_operating_point_endpoint_reports_curves_and_the_effect_of_a_proposed_threshold(api_client, product, version):
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/operating-point/"
    plain = api_client.get(url)
    assert plain.status_code == 200
    assert plain.data["evaluated"] is True and plain.data["proposed"] is None
    assert set(plain.data["curves"]) == {"roc", "pr", "histogram"} and plain.data["metrics"]["image_auroc"] == 1.0
    proposed = api_client.get(url, {"threshold": gap_threshold(version)}).data["proposed"]
    assert proposed["confusion"] == {"tp": 4, "fp": 0, "tn": 4, "fn": 0}
    assert (proposed["precision"], proposed["recall"], proposed["f1"], proposed["false_call_rate"]) == (1.0, 1.0, 1.0, 0.0)
    # A threshold below every score rejects everything: half the calls are false.
    everything = api_client.get(url, {"threshold": 0}).data["proposed"]
    assert (everything["false_call_rate"], everything["precision"], everything["confusion"]["fp"]) == (1.0, 0.5, 4)
    band = api_client.get(url, {"band_lower": 0, "band_upper": gap_threshold(version)}).data["proposed"]
    assert band["decisions"] == {"normal": {"pass": 0, "review": 4, "reject": 0},
                                 "defective": {"pass": 0, "review": 0, "reject": 4}}
    assert api_client.get(url, {"threshold": "high"}).status_code == 400
    assert api_client.get(url, {"band_lower": 2, "band_upper": 1}).status_code == 400
    scores = api_client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/evaluation/").data
    assert scores["count"] == 8 and scores["results"][0]["label"] == "defective"


def test_threshold_settings_keep_a_history_and_roll_back_as_a_new_setting(api_client, product, version, user):
    url = f"/api/products/{product.pk}/thresholds/"
    first = api_client.post(url, {"version": version.pk, "threshold": 5.0, "reason": "first try"}, format="json")
    assert first.status_code == 201, first.data
    assert (first.data["set_by"], first.data["version_number"], first.data["reason"]) == (user.username, 1, "first try")
    assert first.data["expected"]["confusion"]["tp"] == 4
    second = api_client.post(url, {"version": version.pk, "band_lower": 2.0, "band_upper": 9.0, "reason": "band"},
                             format="json")
    assert second.status_code == 201
    rolled = api_client.post(f"{url}{first.data['id']}/rollback/", {"reason": "band sent too much to review"},
                             format="json")
    assert rolled.status_code == 201
    assert (rolled.data["threshold"], rolled.data["band_lower"], rolled.data["rolled_back_from"]) == (5.0, None, first.data["id"])
    history = api_client.get(url).data["results"]
    assert [entry["id"] for entry in history] == [rolled.data["id"], second.data["id"], first.data["id"]]
    both = api_client.post(url, {"version": version.pk, "threshold": 1, "band_lower": 0, "band_upper": 2}, format="json")
    assert both.status_code == 400 and "not both" in both.data["detail"]
    assert api_client.post(url, {"threshold": 1}, format="json").status_code == 400  # no active version to default to


def test_activation_reports_the_promotion_gate_and_never_lets_two_versions_be_active(api_client, product, version, user):
    api_client.post(f"/api/products/{product.pk}/thresholds/", {"version": version.pk, "threshold": gap_threshold(version),
                                                      "reason": "in the gap"},
                    format="json")
    first = api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", {"reason": "first model"},
                            format="json")
    assert first.status_code == 200, first.data
    assert first.data["gate"]["old_version"] is None and first.data["gate"]["false_call_rate"] == 0.0
    newer = trained_version(product, min_std=0.02)
    activated = api_client.post(f"/api/products/{product.pk}/model-versions/{newer.pk}/activate/", {}, format="json")
    assert activated.status_code == 200, activated.data
    gate = activated.data["gate"]
    # v2 had no operating point: its training's suggestion was recorded, and the gate compares at it.
    assert activated.data["operating_point"]["reason"].startswith("Set on activation")
    assert (gate["old_version"], gate["new_version"], gate["compared_defects"], gate["rejected_by_old"]) == (1, 2, 4, 4)
    assert gate["passed"] is True and gate["missed"] == [] and gate["false_call_rate"] == 0.0
    product.refresh_from_db()
    assert product.active_version_id == newer.pk
    history = api_client.get(f"/api/products/{product.pk}/activations/").data["results"]
    assert [(entry["version_number"], entry["previous_version"]) for entry in history] == [(2, version.pk), (1, None)]
    listed = api_client.get(f"/api/products/{product.pk}/model-versions/").data["results"]
    assert [(entry["number"], entry["is_active"]) for entry in listed] == [(2, True), (1, False)]


def test_the_gate_names_defects_the_new_version_no_longer_rejects(api_client, product, version):
    api_client.post(f"/api/products/{product.pk}/thresholds/", {"version": version.pk, "threshold": gap_threshold(version),
                                                      "reason": "in the gap"},
                    format="json")
    api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", {}, format="json")
    lax = trained_version(product, min_std=0.02)
    highest = max(score.score for score in lax.evaluation_scores.all())
    api_client.post(f"/api/products/{product.pk}/thresholds/", {"version": lax.pk, "threshold": highest + 1, "reason": "lax"}, format="json")
    gate = api_client.post(f"/api/products/{product.pk}/model-versions/{lax.pk}/activate/", {}, format="json").data["gate"]
    assert gate["passed"] is False and len(gate["missed"]) == 4
    assert {entry["decision"] for entry in gate["missed"]} == {"pass"}


def test_a_version_that_was_not_evaluated_is_activated_only_when_forced_with_a_reason(api_client):
    product = ready_product(train=6, test_good=2, test_defective=0)
    version = trained_version(product)
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/activate/"
    refused = api_client.post(url, {}, format="json")
    assert refused.status_code == 409 and "was not evaluated" in refused.data["detail"]
    assert api_client.post(url, {"force": True}, format="json").status_code == 400
    forced = api_client.post(url, {"force": True, "reason": "no defects collected yet"}, format="json")
    assert forced.status_code == 200 and forced.data["forced"] is True
    failed = model_version_create(product=product, method="variation")
    ModelVersion.objects.filter(pk=failed.pk).update(status="failed")
    assert api_client.post(f"/api/products/{product.pk}/model-versions/{failed.pk}/activate/", {}, format="json").status_code == 409


@pytest.fixture
def active(api_client, product, version):
    api_client.post(f"/api/products/{product.pk}/thresholds/", {"version": version.pk, "threshold": gap_threshold(version),
                                                      "reason": "in the gap"},
                    format="json")
    assert api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", {}, format="json").status_code == 200
    return version


def test_a_good_part_passes_and_a_defective_one_is_rejected_into_the_review_queue(api_client, product, active, private_media):
    good = inspect(api_client, product, "good.png", good_pixels(300))
    assert good.status_code == 201, good.data
    assert (good.data["decision"], good.data["status"], good.data["version_number"]) == ("pass", "done", 1)
    assert "below the threshold" in good.data["reason"] and good.data["review_item"] is None
    bad = inspect(api_client, product, "bad.png", defective_pixels(7))
    assert bad.data["decision"] == "reject" and bad.data["score"] > good.data["score"]
    assert bad.data["review_item"]["status"] == "open"
    # The images are served to signed-in users; the map is a 16-bit PNG at the registered size.
    for field in ("source_file", "registered_file", "anomaly_map"):
        assert bad.data[field].startswith("http://testserver/media/"), field
        assert api_client.get(bad.data[field]).status_code == 200
    stored = Inspection.objects.get(pk=bad.data["id"])
    anomaly_map = cv2.imread(str(private_media / stored.anomaly_map.name), cv2.IMREAD_UNCHANGED)
    assert anomaly_map.dtype == np.uint16 and anomaly_map.shape == (96, 96) and anomaly_map.max() == 65535
    assert stored.anomaly_map_scale > 0 and stored.engine_seconds > 0
    assert api_client.get(f"/api/products/{product.pk}/inspections/", {"decision": "reject"}).data["count"] == 1


def test_a_part_that_cannot_be_aligned_goes_to_review_with_the_reason_never_pass(api_client, product, active):
    response = inspect(api_client, product, "noise.png", noise_pixels(size=96))
    assert response.status_code == 201
    assert response.data["decision"] == "review" and response.data["score"] is None
    assert "could not be aligned" in response.data["reason"] and "similarity" in response.data["reason"]
    assert ReviewItem.objects.get(inspection_id=response.data["id"]).doubt == 0.0


def test_an_image_of_another_size_and_channel_count_is_converted_and_resized_before_scoring(api_client, product, active):
    grey = good_pixels(301)
    colour_and_larger = cv2.resize(np.repeat(grey[:, :, None], 3, axis=2), (144, 144), interpolation=cv2.INTER_LINEAR)
    response = inspect(api_client, product, "large-colour.png", colour_and_larger)
    assert response.status_code == 201
    assert response.data["decision"] == "pass", response.data["reason"]
    assert response.data["registration_quality"] > 0.9


def test_band_thresholds_send_scores_between_them_to_review(api_client, product, active):
    api_client.post(f"/api/products/{product.pk}/thresholds/",
                    {"version": active.pk, "band_lower": 0.0, "band_upper": 1e9, "reason": "review everything"},
                    format="json")
    response = inspect(api_client, product, "good.png", good_pixels(302))
    assert response.data["decision"] == "review" and "review band" in response.data["reason"]


def test_inspection_needs_an_active_version_and_an_image(api_client, product, version):
    refused = inspect(api_client, product, "good.png", good_pixels(1))
    assert refused.status_code == 409 and "no active model version" in refused.data["detail"]
    api_client.post(f"/api/products/{product.pk}/thresholds/", {"version": version.pk, "threshold": 1.0, "reason": "test"}, format="json")
    api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", {}, format="json")
    not_image = api_client.post(f"/api/products/{product.pk}/inspections/",
                                {"file": SimpleUploadedFile("notes.txt", b"hello")}, format="multipart")
    assert not_image.status_code == 400 and "not an image" in not_image.data["detail"]
    assert api_client.post(f"/api/products/{product.pk}/inspections/", {}, format="multipart").status_code == 400
    assert not Inspection.objects.exists()


def test_a_damaged_bundle_fails_inspection_clearly_and_flags_the_version(api_client, product, active, private_media):
    assert inspect(api_client, product, "good.png", good_pixels(303)).status_code == 201
    bundle_forget()  # as in a freshly started web process
    (private_media / active.bundle.name).write_bytes(b"not a zip any more")
    damaged_cache = private_media.parent / "model-cache" / f"{active.pk}-{active.bundle_checksum}"
    (damaged_cache / "bundle.json").write_text("{}")
    response = inspect(api_client, product, "good.png", good_pixels(304))
    assert response.status_code == 409
    assert "cannot be used" in response.data["detail"] and "checksum mismatch" in response.data["detail"]
    assert response.data["flagged_damaged"] is True
    active.refresh_from_db()
    assert active.flagged_damaged and "checksum mismatch" in active.damage_reason
    again = inspect(api_client, product, "good.png", good_pixels(305))
    assert again.status_code == 409 and "flagged as damaged" in again.data["detail"]
    assert api_client.post(f"/api/products/{product.pk}/model-versions/{active.pk}/activate/", {}, format="json").status_code == 409


def test_a_damaged_local_copy_is_replaced_from_storage(api_client, product, active, private_media):
    assert inspect(api_client, product, "good.png", good_pixels(306)).status_code == 201
    bundle_forget()
    cached = private_media.parent / "model-cache" / f"{active.pk}-{active.bundle_checksum}"
    (cached / "arrays.npz").write_bytes(b"damaged")
    response = inspect(api_client, product, "good.png", good_pixels(307))
    assert response.status_code == 201 and response.data["decision"] == "pass"
    active.refresh_from_db()
    assert not active.flagged_damaged


def test_the_model_is_loaded_once_per_process(api_client, product, active, monkeypatch):
    from inspection.engine import bundle as engine_bundle

    loads = []
    original = engine_bundle.load_bundle
    monkeypatch.setattr(engine_bundle, "load_bundle", lambda path: loads.append(path) or original(path))
    bundle_forget()
    for index in range(3):
        assert inspect(api_client, product, f"good{index}.png", good_pixels(310 + index)).status_code == 201
    assert len(loads) == 1
    assert ThresholdSetting.objects.count() == 1
