"""Live progress in a real browser: a running job's partial follows the job without reloading the page,
stops asking once the job has ended, and its end refreshes the parts of the page that depend on it."""

from __future__ import annotations

import re

from django.core.files.base import ContentFile
from playwright.sync_api import expect

from inspection.models import Image, Job
from tests.platform.factories import ImageFactory, JobFactory, ProductFactory


def test_a_running_jobs_progress_follows_the_job_without_reloading_and_stops_asking_when_done(
    signed_in_page, private_media
):
    page = signed_in_page
    product = ProductFactory(name="Hinge")
    ImageFactory.create_batch(2, product=product, registration_status=Image.RegistrationStatus.REGISTERED)
    job = JobFactory(
        product=product,
        kind=Job.Kind.REGISTRATION,
        status=Job.Status.RUNNING,
        progress=10,
        stage="aligning",
        message="1 of 3 images",
    )
    asked = []
    page.on("request", lambda request: asked.append(request.url) if f"/live/jobs/{job.pk}/" in request.url else None)

    page.goto(f"/products/{product.pk}/images/")
    # A mark on this document: a reload would lose it.
    page.evaluate("window.sameDocument = true")
    widget = page.locator("#alignment-summary [data-job]")
    expect(widget.locator("[data-job-percent]")).to_have_text("10 %")
    expect(page.locator(".grid-summary")).to_contain_text("of 2 images")

    Job.objects.filter(pk=job.pk).update(progress=60, message="2 of 3 images")
    expect(widget.locator("[data-job-percent]")).to_have_text("60 %")
    expect(widget.locator("[data-job-text]")).to_have_text("Aligning: 2 of 3 images")

    # The job ends with one more image in the set: the grid and the counts follow without a reload.
    ImageFactory(product=product, registration_status=Image.RegistrationStatus.FAILED, original_name="blurred.png")
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=100, message="3 images aligned.")
    expect(widget).to_have_attribute("data-job-status", "succeeded")
    expect(widget.locator("[data-job-percent]")).to_have_text("100 %")
    expect(widget.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator(".grid-summary")).to_contain_text("of 3 images")
    expect(page.locator("#dataset-head-counts")).to_contain_text("1 could not be aligned")
    expect(page.locator("#alignment-counts")).to_contain_text(re.compile(r"Could not be aligned\s*1"))
    assert page.evaluate("window.sameDocument") is True

    polls = len(asked)
    assert polls >= 2, asked
    page.wait_for_timeout(3000)
    assert len(asked) == polls, f"still asking after the job ended: {asked[polls:]}"
    expect(widget).to_have_attribute("data-job-status", "succeeded")


def test_the_annotation_editor_opens_by_itself_once_its_images_alignment_job_ends(signed_in_page, private_media):
    page = signed_in_page
    image = ImageFactory(registration_status=Image.RegistrationStatus.PENDING)
    job = JobFactory(product=image.product, kind=Job.Kind.REGISTRATION, status=Job.Status.RUNNING, progress=50)
    page.goto(f"/products/{image.product_id}/images/{image.pk}/annotate/")
    waiting = page.locator("[data-wait-for-alignment] [data-job]")
    expect(waiting).to_have_attribute("data-job-status", "running")
    expect(page.locator("[data-annotator]")).to_have_count(0)

    image.file.open("rb")
    image.aligned_file.save("aligned.png", ContentFile(image.file.read()), save=False)
    image.registration_status = Image.RegistrationStatus.REGISTERED
    image.save()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=100)
    # The job partial's "job-finished" event reloads the page, which now opens the editor.
    expect(page.locator("[data-annotator]")).to_have_attribute("data-state", "ready")


def test_export_shows_the_jobs_progress_then_a_download_link_without_reloading(
    signed_in_page, celery_worker, private_media
):
    from tests.platform.loop_data import ready_product, trained_version

    page = signed_in_page
    product = ready_product(train=8, test_good=3, test_defective=3)
    version = trained_version(product)
    page.goto(f"/products/{product.pk}/versions/{version.pk}/")
    page.evaluate("window.sameDocument = true")
    page.locator("#export-form").get_by_role("button", name="Export").click()
    widget = page.locator("#model-export [data-job]")
    expect(widget).to_have_attribute("data-job-status", re.compile("queued|running|succeeded"))
    job = Job.objects.get(kind=Job.Kind.EXPORT, product=product)
    assert widget.get_attribute("data-job-id") == str(job.pk)

    # The session's worker builds the archive; the page follows the job, then offers it.
    link = page.locator("#model-export").get_by_role("link", name="Download the archive")
    expect(link).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(f"-v{version.number}-variation.zip")
