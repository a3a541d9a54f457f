"""Model version, comparison, inspection and review pages, on versions trained in this process
(the fast "variation" method: no TensorFlow, no worker)."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Image, Inspection, ModelVersion, ReviewItem, ThresholdSetting
from inspection.services.inspections import inspection_run
from inspection.services.model_versions import model_version_create
from inspection.services.thresholds import model_version_activate
from inspection.services.training import training_job_run
from tests.platform.loop_data import gap_threshold, ready_product
from tests.platform.test_pages_training import assert_every_control_is_labelled
from tests.synthetic_images import defective_png, good_png


def train(product, **params) -> ModelVersion:
    version = model_version_create(product=product, method="variation", params=params)
    training_job_run(job_id=version.job_id, worker="test")
    version.refresh_from_db()
    assert version.status == "trained", version.error
    return version


@pytest.fixture
def trained(db):
    product = ready_product(train=8, test_good=4, test_defective=4)
    return product, train(product)


def page_data(html: str) -> dict:
    return json.loads(
        re.search(r'<script id="version-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )


def inspect(product, png: bytes, name: str) -> Inspection:
    product.refresh_from_db()  # activation changed the product's row
    return inspection_run(product=product, file=SimpleUploadedFile(name, png))


# --- Model version page ------------------------------------------------------------


def test_the_version_page_shows_metrics_curves_and_the_scores_behind_the_slider(signed_in, trained):
    product, version = trained
    response = signed_in.get(f"/products/{product.pk}/versions/{version.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Version 1" in html and "Image AUROC" in html
    data = page_data(html)
    assert len(data["scores"]) == 8 and sorted(label for _, label in data["scores"]) == [0] * 4 + [1] * 4
    assert set(data["curves"]) >= {"roc", "pr", "histogram"}
    assert data["points"]["max_f1"]["threshold"] is not None
    # The slider starts at the threshold training suggested.
    assert f'value="{version.metrics["suggested"]["threshold"]}"' in html
    for chart in ("roc-chart", "pr-chart", "histogram-chart"):
        assert f'id="{chart}" role="img"' in html
    assert html.count("data-row ") == 8
    assert_every_control_is_labelled(html)


def test_saving_a_threshold_needs_a_reason_and_is_kept_in_the_history(signed_in, trained, user):
    product, version = trained
    url = f"/products/{product.pk}/versions/{version.pk}/threshold/"
    refused = signed_in.post(url, {"mode": "single", "threshold": "0.5", "reason": ""})
    assert refused.status_code == 400
    assert "Say why the operating point changes; the history keeps it." in refused.content.decode()
    assert not ThresholdSetting.objects.exists()

    saved = signed_in.post(
        url, {"mode": "single", "threshold": "0.5", "reason": "Fewer false calls on line 2"}, follow=True
    )
    html = saved.content.decode()
    assert "Operating point of version 1 saved: reject from 0.5." in html
    assert "Fewer false calls on line 2" in html
    setting = ThresholdSetting.objects.get()
    assert (setting.threshold, setting.set_by, setting.reason) == (0.5, user, "Fewer false calls on line 2")
    assert setting.expected["recall"] is not None


def test_a_review_band_needs_t1_below_t2(signed_in, trained):
    product, version = trained
    url = f"/products/{product.pk}/versions/{version.pk}/threshold/"
    response = signed_in.post(url, {"mode": "band", "band_lower": "0.6", "band_upper": "0.4", "reason": "try"})
    assert response.status_code == 400
    assert "T2 must be above T1" in response.content.decode()
    signed_in.post(
        url, {"mode": "band", "band_lower": "0.4", "band_upper": "0.6", "reason": "band for the night shift"}
    )
    setting = ThresholdSetting.objects.get()
    assert (setting.threshold, setting.band_lower, setting.band_upper) == (None, 0.4, 0.6)


def test_going_back_to_an_earlier_operating_point(signed_in, trained):
    product, version = trained
    url = f"/products/{product.pk}/versions/{version.pk}/threshold/"
    signed_in.post(url, {"mode": "single", "threshold": "0.3", "reason": "first"})
    signed_in.post(url, {"mode": "single", "threshold": "0.7", "reason": "second"})
    first = ThresholdSetting.objects.get(reason="first")
    response = signed_in.post(
        f"/products/{product.pk}/versions/{version.pk}/threshold/{first.pk}/rollback/",
        {"reason": "second was too lax"},
        follow=True,
    )
    assert "Operating point restored: reject from 0.3." in response.content.decode()
    latest = ThresholdSetting.objects.order_by("-id").first()
    assert (latest.threshold, latest.rolled_back_from, latest.reason) == (0.3, first, "second was too lax")


def activate_on_the_page(client, product, version, **fields):
    """The activation dialog: the first post shows the proposal, the second confirms it."""
    url = f"/products/{product.pk}/versions/{version.pk}/activate/"
    proposal = client.post(url, fields)
    assert proposal.status_code == 200 and "Confirm: activate version" in proposal.content.decode(), (
        proposal.content.decode()
    )
    return proposal, client.post(url, {**fields, "confirmed": "True"}, follow=True)


def test_activating_shows_the_proposed_point_then_the_promotion_gate_report(signed_in, trained):
    product, first = trained
    dialog = signed_in.post(
        f"/products/{product.pk}/versions/{first.pk}/activate/", {"operating_point": "max-f1", "reason": "first model"}
    ).content.decode()
    assert "Activate version 1 at this operating point?" in dialog and "Recall (95 % bootstrap)" in dialog
    assert "Margin to nearest defective / normal score" in dialog
    product.refresh_from_db()
    assert product.active_version is None  # nothing happens before the confirmation
    _, response = activate_on_the_page(signed_in, product, first, operating_point="max-f1", reason="first model")
    html = response.content.decode()
    assert "Version 1 is now active" in html
    assert "Promotion gate" in html and "No previously active version" in html
    second = train(product)
    _, response = activate_on_the_page(
        signed_in,
        product,
        second,
        operating_point="threshold",
        threshold=str(gap_threshold(second)),
        reason="retrained",
    )
    html = signed_in.get(f"/products/{product.pk}/versions/{second.pk}/").content.decode()
    assert "Promotion gate against version 1" in html
    assert "defective images compared" in html
    product.refresh_from_db()
    assert product.active_version == second
    assert ThresholdSetting.objects.get(version=second).reason == "retrained (set on activation)"


def test_the_activation_dialog_needs_an_operating_point_and_a_reason(signed_in, trained):
    product, version = trained
    url = f"/products/{product.pk}/versions/{version.pk}/activate/"
    no_reason = signed_in.post(url, {"operating_point": "max-f1", "confirmed": "True"})
    assert no_reason.status_code == 400 and "Say why this version goes into use" in no_reason.content.decode()
    no_point = signed_in.post(url, {"reason": "first", "confirmed": "True"})
    assert no_point.status_code == 400
    no_threshold = signed_in.post(url, {"operating_point": "threshold", "reason": "first"})
    assert "Type the threshold" in no_threshold.content.decode()
    product.refresh_from_db()
    assert product.active_version is None


def test_a_version_that_was_not_evaluated_needs_a_reason_to_be_activated(signed_in, db):
    product = ready_product(train=4, test_good=2, test_defective=0)
    version = train(product)
    assert not version.evaluated
    html = signed_in.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert "This version was not evaluated" in html
    assert "Activate although it was not evaluated" in html
    url = f"/products/{product.pk}/versions/{version.pk}/activate/"
    refused = signed_in.post(url, {"operating_point": "false-call-budget", "reason": "try"})
    assert refused.status_code == 400 and "was not evaluated" in refused.content.decode()
    no_reason = signed_in.post(url, {"operating_point": "false-call-budget", "force": "on"})
    assert "Say why this version goes into use" in no_reason.content.decode()
    activate_on_the_page(
        signed_in, product, version, operating_point="false-call-budget", force="on", reason="pilot run"
    )
    product.refresh_from_db()
    assert product.active_version == version


def test_a_version_still_training_shows_its_live_progress_instead_of_curves(signed_in, db):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_create(product=product, method="variation")
    html = signed_in.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert "data-training " in html and "Operating point" not in html


def test_comparing_two_versions_on_the_same_images(signed_in, trained):
    product, first = trained
    second = train(product, min_std=0.2)
    signed_in.post(
        f"/products/{product.pk}/versions/{first.pk}/threshold/", {"mode": "single", "threshold": "0", "reason": "all"}
    )
    response = signed_in.get(f"/products/{product.pk}/versions/compare/", {"a": first.pk, "b": second.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Shared evaluation images" in html
    data = json.loads(
        re.search(r'<script id="compare-data" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert len(data["a"]["scores"]) == len(data["b"]["scores"]) == 8
    # Version 2 has no operating point yet: the page says so instead of inventing decisions.
    assert "No operating point saved for this version yet" in html
    assert "Decisions can be compared once both versions have an operating point." in html
    assert_every_control_is_labelled(html)
    # Version 1 rejects everything, version 2 passes everything: all eight shared images differ.
    signed_in.post(
        f"/products/{product.pk}/versions/{second.pk}/threshold/",
        {"mode": "single", "threshold": "1e12", "reason": "none"},
    )
    html = signed_in.get(f"/products/{product.pk}/versions/compare/", {"a": first.pk, "b": second.pk}).content.decode()
    assert "<strong>8</strong> of 8 shared images get a different decision" in html
    assert html.count('class="row-differs"') == 8
    odd = signed_in.get(f"/products/{product.pk}/versions/compare/", {"a": "x", "b": "99999"}).content.decode()
    assert "&#x27;x&#x27; is not a version id" in odd and "99999 is not a trained version" in odd


# --- Inspect and inspection detail ---------------------------------------------------


def test_the_inspect_page_says_what_is_missing_before_parts_can_be_inspected(signed_in, trained):
    product, version = trained
    html = signed_in.get(f"/products/{product.pk}/inspect/").content.decode()
    assert "has no active model yet" in html
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    html = signed_in.get(f"/products/{product.pk}/inspect/").content.decode()
    assert "has no active model yet" not in html and "No part inspected yet." in html
    assert_every_control_is_labelled(html)


def test_inspecting_one_image_without_javascript_opens_its_result(signed_in, trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    response = signed_in.post(
        f"/products/{product.pk}/inspect/", {"files": [SimpleUploadedFile("part-7.png", defective_png(7))]}, follow=True
    )
    html = response.content.decode()
    inspection = Inspection.objects.get()
    assert response.redirect_chain[-1][0] == f"/products/{product.pk}/inspections/{inspection.pk}/"
    assert inspection.decision == "reject"
    assert 'class="decision decision-reject"' in html
    assert "data-heatmap" in html and inspection.anomaly_map.url in html
    # The colour scale is fixed from the first part, at the good evaluation images' map peak.
    assert "Fixed scale of version 1" in html
    assert "Where the model sees a defect" in html
    assert_every_control_is_labelled(html)


def test_an_image_that_cannot_be_inspected_is_refused_in_words(signed_in, trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    response = signed_in.post(
        f"/products/{product.pk}/inspect/", {"files": [SimpleUploadedFile("notes.png", b"not a picture")]}, follow=True
    )
    assert "notes.png: not an image file" in response.content.decode()
    assert not Inspection.objects.exists()


def heat_scale_of(html):
    start = float(re.search(r'data-start="([^"]+)"', html).group(1))
    end = float(re.search(r'data-end="([^"]+)"', html).group(1))
    return start, end


def test_the_heatmap_scale_is_fixed_from_the_first_part_at_the_good_evaluation_images_peak(signed_in, trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    good = inspect(product, good_png(300), "good.png")
    rejected = inspect(product, defective_png(3), "bad.png")
    html = signed_in.get(f"/products/{product.pk}/inspections/{rejected.pk}/").content.decode()
    assert "Fixed scale of version 1" in html and "good evaluation images" in html
    start, end = heat_scale_of(html)
    version.refresh_from_db()
    assert start == pytest.approx(1.5 * version.metrics["normal_map_peak"]) and end == pytest.approx(3 * start)
    # A good part stays below the start of the colour scale; the rejected part rises far above it.
    assert good.anomaly_map_scale < start < rejected.anomaly_map_scale


def test_a_version_without_a_recorded_peak_fixes_its_scale_once_it_has_passed_enough_parts(signed_in, trained):
    product, version = trained
    version.metrics = {key: value for key, value in version.metrics.items() if key != "normal_map_peak"}
    version.save(update_fields=["metrics"])
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    first = inspect(product, good_png(299), "first.png")
    html = signed_in.get(f"/products/{product.pk}/inspections/{first.pk}/").content.decode()
    assert "Relative to this part" in html
    for index in range(5):
        assert inspect(product, good_png(300 + index), f"good-{index}.png").decision == "pass"
    rejected = inspect(product, defective_png(3), "bad.png")
    html = signed_in.get(f"/products/{product.pk}/inspections/{rejected.pk}/").content.decode()
    assert "Fixed scale of version 1" in html
    start, end = heat_scale_of(html)
    passed = sorted(Inspection.objects.filter(decision="pass").values_list("anomaly_map_scale", flat=True))
    assert len(passed) == 6
    assert start == pytest.approx(1.5 * (passed[2] + passed[3]) / 2) and end == pytest.approx(3 * start)
    assert max(passed) < start < rejected.anomaly_map_scale


def test_several_images_without_javascript_start_a_batch_job(signed_in, trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    files = [SimpleUploadedFile(f"p{index}.png", good_png(400 + index)) for index in range(2)]
    response = signed_in.post(f"/products/{product.pk}/inspect/", {"files": files}, follow=True)
    assert "2 images are being inspected" in response.content.decode()
    assert Inspection.objects.filter(status="pending").count() == 2


# --- Review queue -----------------------------------------------------------------------


@pytest.fixture
def flagged(trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    items = [inspect(product, defective_png(index), f"flagged-{index}.png") for index in (7, 50)]
    assert all(item.decision == "reject" for item in items)
    return product


def test_the_queue_counts_what_is_left_and_hands_out_the_most_doubtful_part(signed_in, flagged):
    product = flagged
    html = signed_in.get(f"/products/{product.pk}/review/").content.decode()
    assert "2 parts left" in html
    most_doubtful = ReviewItem.objects.order_by("doubt", "id").first()
    response = signed_in.post(f"/products/{product.pk}/review/next/")
    assert response.url == f"/products/{product.pk}/review/{most_doubtful.pk}/"
    page = signed_in.get(response.url).content.decode()
    assert "Mark normal" in page and "Confirm defect" in page and "data-heatmap" in page
    assert "2 parts left" in page
    assert_every_control_is_labelled(page)
    # Coming back to the queue leads to the part one holds.
    assert signed_in.get(f"/products/{product.pk}/review/").url == response.url


def test_marking_a_part_normal_relabels_it_and_moves_on(signed_in, flagged):
    product = flagged
    item = ReviewItem.objects.order_by("doubt", "id").first()
    signed_in.post(f"/products/{product.pk}/review/next/")
    response = signed_in.post(f"/products/{product.pk}/review/{item.pk}/decide/", {"decision": "normal"}, follow=True)
    html = response.content.decode()
    assert f"{item.inspection.original_name} marked normal" in html
    assert "1 part left" in html
    image = Image.objects.get(checksum=item.inspection.checksum)
    assert (image.label, image.split) == ("normal", "train")
    other = ReviewItem.objects.exclude(pk=item.pk).get()
    assert response.redirect_chain[-1][0] == f"/products/{product.pk}/review/{other.pk}/"


def test_confirming_a_defect_needs_its_type(signed_in, flagged):
    product = flagged
    item = ReviewItem.objects.order_by("doubt", "id").first()
    url = f"/products/{product.pk}/review/{item.pk}/decide/"
    refused = signed_in.post(url, {"decision": "defective", "defect_type": ""})
    assert refused.status_code == 400
    assert "Choose or type the defect type to confirm a defect." in refused.content.decode()
    signed_in.post(url, {"decision": "defective", "defect_type": "scratch"})
    image = Image.objects.get(checksum=item.inspection.checksum)
    assert (image.label, image.defect_type, image.split) == ("defective", "scratch", "test")


def test_the_last_verdict_empties_the_queue(signed_in, flagged):
    product = flagged
    for item in ReviewItem.objects.order_by("doubt", "id"):
        response = signed_in.post(
            f"/products/{product.pk}/review/{item.pk}/decide/", {"decision": "normal"}, follow=True
        )
    html = response.content.decode()
    assert "That was the last part in the queue." in html
    assert "0 parts left" in html


def test_retraining_with_corrections_queues_a_version_like_the_active_one(signed_in, flagged):
    product = flagged
    response = signed_in.post(
        f"/products/{product.pk}/retrain/", {"next": f"/products/{product.pk}/review/"}, follow=True
    )
    assert "Version 2 is queued: variation" in response.content.decode()
    assert ModelVersion.objects.get(number=2).method == "variation"
    again = signed_in.post(
        f"/products/{product.pk}/retrain/", {"next": f"/products/{product.pk}/review/?overview=1"}, follow=True
    )
    assert "still queued" in again.content.decode()


def test_the_inspection_page_of_a_repeated_picture_says_it_shares_the_first_review_item(signed_in, trained):
    product, version = trained
    model_version_activate(version=version, operating_point="max-f1", reason="first model")
    first = inspect(product, defective_png(60), "bad.png")
    again = inspect(product, defective_png(60), "bad.png")
    assert again.repeat_of == first and again.shared_review_item == first.review_item
    html = signed_in.get(f"/products/{product.pk}/inspections/{again.pk}/").content.decode()
    assert "this inspection shares its review item" in html
    assert f"/products/{product.pk}/review/{first.review_item.pk}/" in html
