"""The training page's loss chart: a log scale for a loss that falls by orders of magnitude, whole epochs."""

from __future__ import annotations

from playwright.sync_api import expect

from inspection.models import Job, ModelVersion
from tests.browser.conftest import screenshot
from tests.platform.factories import JobFactory, ProductFactory, TrainedVersionFactory

LOSSES = [2.0, 0.4, 0.05, 0.02, 0.011]


def test_the_loss_chart_reads_the_loss_on_a_log_scale_against_whole_epochs(signed_in_page, db):
    product = ProductFactory(name="Washer")
    job = JobFactory(product=product, kind=Job.Kind.TRAINING, status=Job.Status.RUNNING)
    TrainedVersionFactory(
        product=product,
        job=job,
        status=ModelVersion.Status.TRAINING,
        progress={"stage": "cpcae", "epoch": 5, "epochs": 6, "loss": LOSSES[-1], "losses": LOSSES},
    )
    page = signed_in_page
    page.goto(f"/products/{product.pk}/training/")
    chart = page.locator("[data-loss-chart]")
    expect(chart).to_be_visible()
    expect(chart).to_contain_text("loss (log scale)")
    # One reading of the drawn ticks (the running training's partial is swapped in again every second).
    ticks = page.evaluate(
        """() => Array.from(document.querySelectorAll("[data-loss-chart] .axis text"))
            .map((node) => [node.textContent, +node.getAttribute("y")])"""
    )
    numbers = [float(label) for label, _ in ticks]
    # Epoch ticks are whole numbers; the loss ticks are 1, 2 and 5 times powers of ten, spread over decades.
    x_row = max(height for _, height in ticks)
    epochs = [float(label) for label, height in ticks if height == x_row]
    assert epochs and all(value == int(value) for value in epochs)
    assert {0.01, 0.1, 1.0} <= set(numbers)
    # On a log scale equal ratios are equal distances: 0.01 -> 0.1 spans as much height as 0.1 -> 1.
    heights = {label: height for label, height in ticks if height != x_row}
    assert abs((heights["0.01"] - heights["0.1"]) - (heights["0.1"] - heights["1"])) < 1.0
    screenshot(page, "training-loss-log-scale")
