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
from inspection.services.model_versions import model_version_create
from tests.platform.loop_data import gap_threshold, ready_product, trained_version
from tests.synthetic_images import defective_pixels, good_pixels, noise_pixels, png_bytes

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
    return api_client.post(
        f"/api/products/{product.pk}/inspections/", {"file": upload(name, pixels)}, format="multipart"
    )


def test_the_operating_point_endpoint_reports_curves_and_the_effect_of_a_proposed_threshold(
    api_client, product, version
):
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/operating-point/"
    plain = api_client.get(url)
    assert plain.status_code == 200
    assert plain.data["evaluated"] is True and plain.data["proposed"] is None
    assert set(plain.data["curves"]) == {"roc", "pr", "histogram"} and plain.data["metrics"]["image_auroc"] == 1.0
    proposed = api_client.get(url, {"threshold": gap_threshold(version)}).data["proposed"]
    assert proposed["confusion"] == {"tp": 4, "fp": 0, "tn": 4, "fn": 0}
    assert (proposed["precision"], proposed["recall"], proposed["f1"], proposed["false_call_rate"]) == (
        1.0,
        1.0,
        1.0,
        0.0,
    )
    # A threshold below every score rejects everything: half the calls are false.
    everything = api_client.get(url, {"threshold": 0}).data["proposed"]
    assert (everything["false_call_rate"], everything["precision"], everything["confusion"]["fp"]) == (1.0, 0.5, 4)
    band = api_client.get(url, {"band_lower": 0, "band_upper": gap_threshold(version)}).data["proposed"]
    assert band["decisions"] == {
        "normal": {"pass": 0, "review": 4, "reject": 0},
        "defective": {"pass": 0, "review": 0, "reject": 4},
    }
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
    second = api_client.post(
        url, {"version": version.pk, "band_lower": 2.0, "band_upper": 9.0, "reason": "band"}, format="json"
    )
    assert second.status_code == 201
    rolled = api_client.post(
        f"{url}{first.data['id']}/rollback/", {"reason": "band sent too much to review"}, format="json"
    )
    assert rolled.status_code == 201
    assert (rolled.data["threshold"], rolled.data["band_lower"], rolled.data["rolled_back_from"]) == (
        5.0,
        None,
        first.data["id"],
    )
    history = api_client.get(url).data["results"]
    assert [entry["id"] for entry in history] == [rolled.data["id"], second.data["id"], first.data["id"]]
    both = api_client.post(
        url, {"version": version.pk, "threshold": 1, "band_lower": 0, "band_upper": 2}, format="json"
    )
    assert both.status_code == 400 and "not both" in both.data["detail"]
    assert api_client.post(url, {"threshold": 1}, format="json").status_code == 400  # no active version to default to


def activate(api_client, product, version, **body):
    return api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", body, format="json")


def test_activation_reports_the_promotion_gate_and_never_lets_two_versions_be_active(
    api_client, product, version, user
):
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": gap_threshold(version), "reason": "in the gap"},
        format="json",
    )
    first = activate(api_client, product, version, operating_point="saved", reason="first model")
    assert first.status_code == 200, first.data
    assert first.data["gate"]["old_version"] is None and first.data["gate"]["false_call_rate"] == 0.0
    assert first.data["operating_point"]["reason"] == "in the gap" and first.data["replaced_operating_point"] is None
    newer = trained_version(product, min_std=0.02)
    activated = activate(api_client, product, newer, operating_point="max-f1", reason="retrained")
    assert activated.status_code == 200, activated.data
    gate = activated.data["gate"]
    assert (
        activated.data["operating_point"]["reason"]
        == "retrained (set on activation: max-f1, max-F1 on the evaluation images)"
    )
    assert activated.data["replaced_operating_point"]["reason"] == "in the gap"
    assert (gate["old_version"], gate["new_version"], gate["compared_defects"], gate["rejected_by_old"]) == (1, 2, 4, 4)
    assert gate["passed"] is True and gate["missed"] == [] and gate["false_call_rate"] == 0.0
    product.refresh_from_db()
    assert product.active_version_id == newer.pk
    history = api_client.get(f"/api/products/{product.pk}/activations/").data["results"]
    assert [(entry["version_number"], entry["previous_version"]) for entry in history] == [(2, version.pk), (1, None)]
    listed = api_client.get(f"/api/products/{product.pk}/model-versions/").data["results"]
    assert [(entry["number"], entry["is_active"]) for entry in listed] == [(2, True), (1, False)]


def test_activating_without_an_operating_point_or_a_reason_lists_the_choices_and_changes_nothing(
    api_client, product, version
):
    for body in ({}, {"reason": "go"}, {"operating_point": "max-f1"}, {"operating_point": "max-f1", "reason": "  "}):
        refused = activate(api_client, product, version, **body)
        assert refused.status_code == 400, body
        choices = refused.data["choices"]
        assert choices["saved"] is None
        assert {"max-f1", "escape-budget", "false-call-budget"} <= set(choices["rules"])
        best = choices["rules"]["max-f1"]
        assert best["confusion"] == {"tp": 4, "fp": 0, "tn": 4, "fn": 0} and best["margin"]["to_normal"] > 0
    assert "operating_point and reason" in activate(api_client, product, version).data["detail"]
    unknown = activate(api_client, product, version, operating_point="lucky", reason="go")
    assert unknown.status_code == 400 and "not one of saved, max-f1" in unknown.data["detail"]
    no_saved = activate(api_client, product, version, operating_point="saved", reason="go")
    assert no_saved.status_code == 400 and "no saved operating point" in no_saved.data["detail"]
    negative = activate(api_client, product, version, operating_point={"threshold": -2}, reason="go")
    assert negative.status_code == 400 and "never negative" in negative.data["detail"]
    product.refresh_from_db()
    assert product.active_version is None and not ThresholdSetting.objects.filter(product=product).exists()


def test_activating_a_second_version_keeps_the_engineers_setting_and_records_who_replaced_it_and_why(
    api_client, product, version, user
):
    saved = api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": 233.0, "reason": "line 2 false calls"},
        format="json",
    )
    assert activate(api_client, product, version, operating_point="saved", reason="first model").status_code == 200
    newer = trained_version(product, min_std=0.02)
    explicit = activate(
        api_client, product, newer, operating_point={"threshold": gap_threshold(newer)}, reason="new lighting"
    )
    assert explicit.status_code == 200
    assert explicit.data["replaced_operating_point"]["id"] == saved.data["id"]
    assert explicit.data["activated_by"] == user.username and explicit.data["reason"] == "new lighting"
    kept = ThresholdSetting.objects.get(pk=saved.data["id"])
    assert (kept.threshold, kept.reason, kept.set_by) == (233.0, "line 2 false calls", user)
    # Going back to version 1 with its saved point puts 233 back in force, recorded as a new activation.
    back = activate(api_client, product, version, operating_point="saved", reason="new version too lax")
    assert back.data["operating_point"]["threshold"] == 233.0
    assert back.data["replaced_operating_point"]["version"] == newer.pk
    # A rule chosen on activation for a version with a saved point is a new setting that names what it replaces.
    again = activate(api_client, product, version, operating_point={"rule": "max-f1"}, reason="use the suggestion")
    assert again.data["operating_point"]["replaces"] == saved.data["id"]
    history = api_client.get(f"/api/products/{product.pk}/thresholds/", {"version": version.pk}).data["results"]
    assert [entry["threshold"] for entry in history][-1] == 233.0 and len(history) == 2


def test_the_gate_names_defects_the_new_version_no_longer_rejects(api_client, product, version):
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": gap_threshold(version), "reason": "in the gap"},
        format="json",
    )
    activate(api_client, product, version, operating_point="saved", reason="first")
    lax = trained_version(product, min_std=0.02)
    highest = max(score.score for score in lax.evaluation_scores.all())
    gate = activate(api_client, product, lax, operating_point={"threshold": highest + 1}, reason="lax").data["gate"]
    assert gate["passed"] is False and len(gate["missed"]) == 4
    assert {entry["decision"] for entry in gate["missed"]} == {"pass"}


def test_a_version_that_was_not_evaluated_is_activated_only_when_forced_with_a_reason(api_client):
    product = ready_product(train=6, test_good=2, test_defective=0)
    version = trained_version(product)
    refused = activate(api_client, product, version, operating_point="false-call-budget", reason="go")
    assert refused.status_code == 409 and "was not evaluated" in refused.data["detail"]
    assert activate(api_client, product, version, force=True, operating_point="false-call-budget").status_code == 400
    forced = activate(
        api_client, product, version, force=True, operating_point="false-call-budget", reason="no defects collected yet"
    )
    assert forced.status_code == 200 and forced.data["forced"] is True
    failed = model_version_create(product=product, method="variation")
    ModelVersion.objects.filter(pk=failed.pk).update(status="failed")
    assert activate(api_client, product, failed, operating_point="saved", reason="go").status_code == 409


@pytest.fixture
def active(api_client, product, version):
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": gap_threshold(version), "reason": "in the gap"},
        format="json",
    )
    assert activate(api_client, product, version, operating_point="saved", reason="first").status_code == 200
    return version


def test_a_good_part_passes_and_a_defective_one_is_rejected_into_the_review_queue(
    api_client, product, active, private_media
):
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


def test_an_image_of_another_size_and_channel_count_is_converted_and_resized_before_scoring(
    api_client, product, active
):
    grey = good_pixels(301)
    colour_and_larger = cv2.resize(np.repeat(grey[:, :, None], 3, axis=2), (144, 144), interpolation=cv2.INTER_LINEAR)
    response = inspect(api_client, product, "large-colour.png", colour_and_larger)
    assert response.status_code == 201
    assert response.data["decision"] == "pass", response.data["reason"]
    assert response.data["registration_quality"] > 0.9


def test_band_thresholds_send_scores_between_them_to_review(api_client, product, active):
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": active.pk, "band_lower": 0.0, "band_upper": 1e9, "reason": "review everything"},
        format="json",
    )
    response = inspect(api_client, product, "good.png", good_pixels(302))
    assert response.data["decision"] == "review" and "review band" in response.data["reason"]


def test_inspection_needs_an_active_version_and_an_image(api_client, product, version):
    refused = inspect(api_client, product, "good.png", good_pixels(1))
    assert refused.status_code == 409 and "no active model version" in refused.data["detail"]
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": 1.0, "reason": "test"},
        format="json",
    )
    activate(api_client, product, version, operating_point="saved", reason="first")
    not_image = api_client.post(
        f"/api/products/{product.pk}/inspections/",
        {"file": SimpleUploadedFile("notes.txt", b"hello")},
        format="multipart",
    )
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
    assert (
        api_client.post(
            f"/api/products/{product.pk}/model-versions/{active.pk}/activate/", {}, format="json"
        ).status_code
        == 409
    )


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


def test_the_same_picture_inspected_again_within_the_hour_links_to_the_first_review_item(api_client, product, active):
    first = inspect(api_client, product, "bad.png", defective_pixels(40))
    again = inspect(api_client, product, "bad-again.png", defective_pixels(40))
    assert first.data["decision"] == again.data["decision"] == "reject"
    assert again.data["score"] == first.data["score"]
    assert again.data["repeat_of"] == first.data["id"]
    assert again.data["review_item"]["id"] == first.data["review_item"]["id"]
    assert ReviewItem.objects.filter(product=product).count() == 1
    other = inspect(api_client, product, "other.png", defective_pixels(41))
    assert other.data["repeat_of"] is None and ReviewItem.objects.filter(product=product).count() == 2


def test_a_picture_inspected_more_than_an_hour_ago_or_with_another_version_opens_a_new_review_item(
    api_client, product, active
):
    from datetime import timedelta

    from django.utils import timezone

    first = inspect(api_client, product, "bad.png", defective_pixels(42))
    Inspection.objects.filter(pk=first.data["id"]).update(inspected_at=timezone.now() - timedelta(minutes=61))
    later = inspect(api_client, product, "bad.png", defective_pixels(42))
    assert later.data["repeat_of"] is None and later.data["review_item"]["id"] != first.data["review_item"]["id"]
    newer = trained_version(product, min_std=0.02)
    activate(api_client, product, newer, operating_point={"threshold": gap_threshold(newer)}, reason="second")
    other_version = inspect(api_client, product, "bad.png", defective_pixels(42))
    assert other_version.data["repeat_of"] is None
    assert ReviewItem.objects.filter(product=product).count() == 3
