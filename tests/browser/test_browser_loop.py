"""The whole loop in a real browser with a real worker: upload a synthetic set, train, watch the
progress reach 100, move the threshold and see the numbers change, inspect parts, open a flagged
part, mark it normal and see the queue shrink."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from inspection.models import Image, Inspection, ModelVersion, ReviewItem
from inspection.services.products import product_create
from tests.browser.conftest import REPOSITORY, screenshot
from tests.browser.file_drop import drop_files
from tests.platform.loop_data import REGISTRATION
from tests.synthetic_images import defective_png, good_png, mvtec_zip, reference_png


def metric(page, name: str) -> str:
    return page.locator(f'[data-metric="{name}"]').inner_text()


def test_from_upload_to_a_shrinking_review_queue(signed_in_page, celery_worker, private_media):
    page = signed_in_page
    product = product_create(
        name="Bracket",
        description="Synthetic stamped part",
        registration_settings=REGISTRATION,
        reference_image=SimpleUploadedFile("reference.png", reference_png()),
    )

    # 1. Upload a synthetic set (MVTec layout: labels and splits come from the folders).
    page.goto(f"/products/{product.pk}/images/")
    drop_files(
        page,
        "[data-dropzone]",
        [("bracket.zip", mvtec_zip(train=10, test_good=4, test_defective=4), "application/zip")],
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("[data-upload-report]")).to_contain_text("18 stored")
    alignment = page.locator("[data-upload-report] [data-job]")
    expect(alignment).to_have_attribute("data-job-status", "succeeded", timeout=60_000)
    assert Image.objects.filter(product=product, registration_status="registered").count() == 18

    # 2. Train with small settings and watch the progress reach 100 without reloading.
    page.get_by_role("link", name="Training", exact=True).click()
    # The paper's method (the default), small enough to train in seconds.
    expect(page.get_by_label("Method")).to_have_value("cpcae-knn")
    expect(page.get_by_label("Working side (pixels)")).to_be_hidden()
    small = {
        "Epochs": "2",
        "Batch size": "32",
        "Patch size (pixels)": "16",
        "Patch stride (pixels)": "8",
        "Downsize factor": "1",
        "Latent size": "16",
        "Neighbours (k)": "2",
    }
    for label, value in small.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Start training").click()
    widget = page.locator("[data-training]")
    expect(widget).to_be_visible()
    # Epoch and loss appear while it trains; the loss chart grows one point per epoch.
    expect(widget.locator("[data-training-epoch]")).to_have_text(re.compile(r"^[12] of 2$"), timeout=90_000)
    # The epoch shows as soon as it starts, the loss only when it ends.
    expect(widget.locator("[data-training-loss]")).to_have_text(re.compile(r"^\d"), timeout=90_000)
    screenshot(page, "06-training")
    expect(widget.locator("[data-training-percent]")).to_have_text("100 %", timeout=90_000)
    expect(widget.locator("[data-training-state]")).to_have_text("trained")
    expect(widget.locator("[data-training-epoch]")).to_have_text("2 of 2")
    expect(widget.locator("[data-loss-chart]")).to_be_visible()
    expect(widget.locator("[data-loss-chart] circle:not([data-marker])")).to_have_count(2)  # one point per epoch
    expect(page.locator("#version-history")).to_contain_text("image AUROC")
    version = ModelVersion.objects.get(product=product)
    assert (version.status, version.method) == ("trained", "cpcae-knn")
    assert version.params == {
        "epochs": 2,
        "batch_size": 32,
        "patch_size": 16,
        "stride": 8,
        "downsize_factor": 1,
        "latent_dim": 16,
        "n_neighbors": 2,
    }
    screenshot(page, "07-training-finished")

    # 3. Move the threshold slider and see precision, recall and the confusion matrix follow.
    widget.get_by_role("link", name="Open version 1").click()
    expect(page.get_by_role("heading", name=re.compile("Version 1"))).to_be_visible()
    expect(page.locator("#roc-chart [data-marker]")).to_be_visible()
    slider = page.get_by_label("Threshold", exact=True)
    slider.fill("0")
    low = (
        metric(page, "recall"),
        metric(page, "false_call_rate"),
        page.locator('[data-cell="normal-reject"]').inner_text(),
    )
    assert low[0] == "100.0 %", low
    slider.fill("1000")
    high = (
        metric(page, "recall"),
        metric(page, "false_call_rate"),
        page.locator('[data-cell="normal-reject"]').inner_text(),
    )
    assert high != low and high[1] == "0.0 %", (low, high)
    assert page.locator(".evaluation-table .badge-reject").count() == 0
    page.get_by_role("button", name="Max F1").click()
    expect(page.locator("[data-suggest-note]")).to_contain_text("Highest F1")
    assert page.get_by_label("Threshold value").input_value() == repr(
        version.metrics["operating_points"]["max_f1"]["threshold"]
    )
    # A review band: a second handle, and the review column appears.
    page.get_by_label("Decision rule").select_option("band")
    expect(page.get_by_label("T1: review from", exact=True)).to_be_visible()
    expect(page.locator("th[data-band-column]")).to_be_visible()
    page.get_by_role("button", name="Review band for both budgets").click()
    expect(page.locator("[data-suggest-note]")).not_to_be_empty()
    # Max F1 sits right at the mildest defect; a threshold between the classes leaves a margin.
    scores = {
        label: [row.score for row in version.evaluation_scores.filter(label=label)] for label in ("normal", "defective")
    }
    assert max(scores["normal"]) < min(scores["defective"]), scores
    between = f"{(max(scores['normal']) + min(scores['defective'])) / 2:.4g}"
    page.get_by_label("Decision rule").select_option("single")
    page.get_by_label("Threshold value").fill(between)
    expect(page.locator('[data-metric="recall"]')).to_have_text("100.0 %")
    expect(page.locator('[data-metric="false_call_rate"]')).to_have_text("0.0 %")
    page.get_by_label("Reason for this change").fill("Midway between the good parts and the mildest defect")
    screenshot(page, "08-version")
    page.get_by_role("button", name="Save operating point").click()
    expect(page.get_by_role("status").first).to_contain_text("Operating point of version 1 saved")
    expect(page.locator("#history")).to_contain_text("Midway between the good parts and the mildest defect")
    page.get_by_label("Operating point to put in force").select_option("saved")
    page.get_by_label("Reason for activating").fill("First model of the bracket")
    page.get_by_role("button", name="Review activation of version 1").click()
    page.get_by_role("button", name="Confirm: activate version 1").click()
    expect(page.locator("#activation")).to_contain_text("Promotion gate")
    expect(page.locator("#activation")).to_contain_text("This version is the product's active model")

    # 4. Inspect: one part answered at once, then several through a worker.
    page.get_by_role("link", name="Inspect", exact=True).click()
    drop_files(page, "[data-dropzone]", [("part-defective-20.png", defective_png(20), "image/png")])
    page.get_by_role("button", name="Inspect", exact=True).click()
    expect(page.locator("[data-inspect-status]")).to_contain_text("part-defective-20.png: ", timeout=60_000)
    expect(page.locator("[data-results] tr")).to_have_count(1)
    batch = [(f"part-good-{index}.png", good_png(600 + index), "image/png") for index in range(2)]
    batch += [(f"part-defective-{index}.png", defective_png(index), "image/png") for index in (30, 31)]
    drop_files(page, "[data-dropzone]", batch)
    page.get_by_role("button", name="Inspect", exact=True).click()
    job = page.locator("[data-inspect-status] [data-job]")
    expect(job).to_have_attribute("data-job-status", "succeeded", timeout=60_000)
    expect(page.locator("[data-results] tr")).to_have_count(5)
    expect(page.locator("[data-results] .badge-reject").first).to_be_visible()
    assert not Inspection.objects.filter(product=product, status="pending").exists()
    screenshot(page, "09-inspect")

    # 5. Open a flagged part, look at its heatmap, mark it normal, see the queue shrink.
    flagged = ReviewItem.objects.filter(product=product).exclude(status="decided").count()
    assert flagged >= 1, list(Inspection.objects.values_list("original_name", "decision", "score"))
    page.get_by_role("link", name=re.compile("^Review")).click()
    expect(page.locator("[data-queue-counter]")).to_have_text(f"{flagged} part{'s' if flagged != 1 else ''} left")
    screenshot(page, "10-review-queue")
    page.get_by_role("button", name="Review the most doubtful part").click()
    expect(page.get_by_role("heading", name=re.compile("^Review: "))).to_be_visible()
    heatmap = page.locator("[data-heatmap]")
    expect(heatmap).to_have_attribute("data-heatmap-state", "drawn")
    page.get_by_label("Heatmap opacity").fill("90")
    opened = page.get_by_role("heading", name=re.compile("^Review: ")).inner_text().removeprefix("Review: ")
    screenshot(page, "11-review-item")
    page.keyboard.press("n")
    expect(page.get_by_role("status").first).to_contain_text(f"{opened} marked normal", timeout=20_000)
    expect(page.locator("[data-queue-counter]")).to_have_text(
        f"{flagged - 1} part{'s' if flagged - 1 != 1 else ''} left"
    )
    image = Image.objects.get(product=product, original_name=opened)
    assert (image.label, image.split) == ("normal", "train")

    # The inspection detail page of a rejected part.
    rejected = Inspection.objects.filter(product=product, decision="reject").first()
    page.goto(f"/products/{product.pk}/inspections/{rejected.pk}/")
    expect(page.locator("[data-heatmap]")).to_have_attribute("data-heatmap-state", "drawn")
    screenshot(page, "12-inspection")


def test_the_budget_suggestions_in_the_browser_match_the_engine(page, live_server):
    """The page's escape and false-call budget rules are the engine's, on many random score sets."""
    import numpy as np

    from inspection.engine.scoring import thresholds

    page.goto("/accounts/login/")
    page.add_script_tag(path=str(REPOSITORY / "frontend/static/js/operating_point.js"))
    rng = np.random.default_rng(7)
    for trial in range(40):
        normal = rng.normal(0, 1, int(rng.integers(1, 30)))
        defective = rng.normal(rng.uniform(0, 3), 1, int(rng.integers(1, 12)))
        scores = np.round(np.concatenate([normal, defective]), int(rng.integers(1, 4)))  # ties too
        labels = np.r_[np.zeros(normal.size, bool), np.ones(defective.size, bool)]
        min_recall = float(rng.choice([1.0, 0.9, 0.75, 0.5]))
        max_rate = float(rng.choice([0.0, 0.05, 0.1, 0.25, 1.0]))
        browser = page.evaluate(
            """([scores, labels, minRecall, maxRate]) => [
                OperatingPoint.escapeBudgetThreshold(scores, labels, minRecall),
                OperatingPoint.falseCallBudgetThreshold(scores, labels, maxRate),
            ]""",
            [scores.tolist(), labels.tolist(), min_recall, max_rate],
        )
        engine = (
            thresholds.escape_budget_threshold(labels, scores, min_recall).threshold,
            thresholds.false_call_budget_threshold(labels, scores, max_rate).threshold,
        )
        assert browser == list(engine), (trial, min_recall, max_rate)
        outcome = page.evaluate(
            "([scores, labels, t]) => OperatingPoint.outcome(scores, labels, t, null, 0.01)",
            [scores.tolist(), labels.tolist(), float(engine[0])],
        )
        from inspection.engine.scoring.metrics import rates_at

        rates = rates_at(labels, scores, engine[0])
        assert outcome["recall"] == rates["recall"]
        assert outcome["false_call_rate"] == rates["false_call_rate"]
