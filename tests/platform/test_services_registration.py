"""The registration job's body, run in this process: alignment results, failures, cancel, resume."""

import os
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from inspection import tasks
from inspection.models import Image, Job, Product
from inspection.services import registration
from inspection.services.products import product_set_reference_image
from inspection.services.registration import registration_job_run, registration_start
from tests.platform.factories import ImageFactory, ProductFactory
from tests.synthetic_images import noise_pixels, part_pixels, part_png, png_bytes


@pytest.fixture
def product(db):
    return ProductFactory(registration_settings={"method": "ecc", "motion": "translation"})


def with_reference(product, **settings) -> Job:
    return product_set_reference_image(
        product=product, file=SimpleUploadedFile("reference.png", part_png()), **settings
    )


def shifted_images(product, count: int) -> list[Image]:
    return [ImageFactory(product=product, content=part_png(shift=(index + 1, -index))) for index in range(count)]


def test_shifted_pictures_of_the_part_are_aligned_and_stored_as_aligned_copies(product, private_media):
    images = shifted_images(product, 3)
    job = with_reference(product)
    registration_job_run(job_id=job.pk, worker="test:1")
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == ("succeeded", 100, "3 images aligned, 0 could not be aligned.")
    for image in images:
        image.refresh_from_db()
        assert image.registration_status == "registered"
        assert image.registration_quality > 0.9
        aligned = PillowImage.open(Path(private_media) / image.aligned_file.name)
        assert aligned.size == (128, 128)


def test_an_image_that_cannot_be_aligned_is_kept_and_marked_failed_with_the_reason(product):
    noise = ImageFactory(product=product, content=png_bytes(noise_pixels()))
    good = shifted_images(product, 1)[0]
    job = with_reference(product)
    registration_job_run(job_id=job.pk, worker="test:1")
    noise.refresh_from_db(), good.refresh_from_db()
    assert noise.registration_status == "failed"
    assert "too different from the reference" in noise.registration_failure_reason
    assert not noise.aligned_file
    assert good.registration_status == "registered"
    job.refresh_from_db()
    assert (job.status, job.message) == ("succeeded", "1 images aligned, 1 could not be aligned.")


def test_an_image_whose_stored_file_disappeared_is_marked_failed(product, private_media):
    image = shifted_images(product, 1)[0]
    (Path(private_media) / image.file.name).unlink()
    job = with_reference(product)
    registration_job_run(job_id=job.pk, worker="test:1")
    image.refresh_from_db()
    assert image.registration_status == "failed"
    assert "stored file cannot be read" in image.registration_failure_reason


def test_the_aligned_copy_is_cropped_to_the_region_of_interest(db):
    product = ProductFactory(registration_settings={"method": "ecc", "motion": "translation", "roi": [10, 20, 64, 48]})
    image = shifted_images(product, 1)[0]
    registration_job_run(job_id=with_reference(product).pk, worker="test:1")
    image.refresh_from_db()
    assert PillowImage.open(image.aligned_file.path).size == (64, 48)


def test_a_cancel_request_stops_the_job_between_two_images(product, monkeypatch):
    shifted_images(product, 4)
    job = with_reference(product)
    register_one = registration._register_one

    def register_then_cancel(image, registrar, revision):
        register_one(image, registrar, revision)
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    monkeypatch.setattr(registration, "_register_one", register_then_cancel)
    registration_job_run(job_id=job.pk, worker="test:1")
    job.refresh_from_db()
    assert (job.status, job.message) == ("cancelled", "Cancelled after aligning 1 images.")
    assert list(Image.objects.order_by("pk").values_list("registration_status", flat=True)) == [
        "registered", "pending", "pending", "pending"
    ]  # fmt: skip


def test_a_new_reference_during_a_job_stops_it_without_writing_stale_results(product, monkeypatch):
    shifted_images(product, 3)
    job = with_reference(product)
    register_one = registration._register_one

    def new_reference_arrives_meanwhile(image, registrar, revision):
        Product.objects.filter(pk=product.pk).update(registration_revision=revision + 1)
        register_one(image, registrar, revision)

    monkeypatch.setattr(registration, "_register_one", new_reference_arrives_meanwhile)
    registration_job_run(job_id=job.pk, worker="test:1")
    job.refresh_from_db()
    assert job.status == "cancelled" and "reference image or registration settings changed" in job.message
    assert set(Image.objects.values_list("registration_status", flat=True)) == {"pending"}


def test_a_redelivered_job_continues_with_the_images_still_pending(product):
    images = shifted_images(product, 3)
    job = with_reference(product)
    Image.objects.filter(pk=images[0].pk).update(registration_status="registered", registration_quality=0.99)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, attempts=1, progress=33)
    registration_job_run(job_id=job.pk, worker="test:2")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker) == ("succeeded", 2, "test:2")
    assert Image.objects.get(pk=images[0].pk).registration_quality == 0.99  # not redone
    assert set(Image.objects.values_list("registration_status", flat=True)) == {"registered"}


def test_a_job_for_a_product_without_reference_fails_with_the_reason(product):
    job = Job.objects.create(kind=Job.Kind.REGISTRATION, product=product)
    registration_job_run(job_id=job.pk, worker="test:1")
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "The product has no reference image to align to.")


def test_the_celery_task_takes_a_job_id_and_runs_the_service(product):
    image = shifted_images(product, 1)[0]
    job = with_reference(product)
    tasks.register_images(job.pk)
    job.refresh_from_db(), image.refresh_from_db()
    assert (job.status, image.registration_status) == ("succeeded", "registered")
    assert job.worker.endswith(f":{os.getpid()}")


def test_new_images_join_a_job_that_has_not_started_instead_of_queueing_another(product):
    job = with_reference(product)
    assert registration_start(product=product) == job
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    assert registration_start(product=product) != job
    assert Job.objects.count() == 2


def test_a_new_reference_cancels_the_queued_job_and_queues_a_fresh_one(product):
    first = with_reference(product)
    upside_down = png_bytes(np.flipud(part_pixels()))
    second = product_set_reference_image(product=product, file=SimpleUploadedFile("better.png", upside_down))
    first.refresh_from_db()
    assert (first.status, second.status) == ("cancelled", "queued")
    product.refresh_from_db()
    assert product.registration_revision == 2
