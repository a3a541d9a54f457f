"""Registration jobs run by a real `celery -A config worker` process on the real broker.

The worker is started once per session (see conftest.celery_worker) against
this session's test database: SQLite file or PostgreSQL, and the filesystem
broker or Redis, whichever the environment selects. Tests here commit their
data (transactional_db) so the worker process can see it.
"""

import os
import signal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from inspection.models import Image, Job
from inspection.services.jobs import job_cancel
from inspection.services.products import product_set_reference_image
from tests.platform.factories import ImageFactory, ProductFactory
from tests.platform.fixtures import wait_for_job
from tests.synthetic_images import noise_pixels, part_pixels, part_png, png_bytes

pytestmark = pytest.mark.usefixtures("transactional_db")

SETTINGS = {"method": "ecc", "motion": "translation"}


def product_with_images(count: int, *, size: int = 128):
    product = ProductFactory(registration_settings=SETTINGS)
    for index in range(count):
        # Small shifts: the engine refuses an image that leaves more than 5% of the
        # reference's area uncovered, and these pictures should all align.
        shift = (index % 5 - 2, index // 5 % 5 - 2)
        pixels = part_pixels(size=size, shift=shift)
        pixels[0, 0] = index  # keeps pictures with equal shifts distinct
        ImageFactory(product=product, content=png_bytes(pixels))
    return product


def set_reference(product, size: int = 128) -> Job:
    return product_set_reference_image(product=product, file=SimpleUploadedFile("reference.png", part_png(size=size)))


def worker_pid(job: Job) -> int:
    return int(job.worker.rsplit(":", 1)[1])


def test_setting_a_reference_image_through_the_api_has_a_real_worker_align_every_image(
    celery_worker, api_client, private_media
):
    product = product_with_images(5)
    noise = ImageFactory(product=product, content=png_bytes(noise_pixels()))
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("reference.png", part_png())},
        format="multipart",
    )
    assert response.status_code == 202
    job = wait_for_job(response.data["job"]["id"], worker=celery_worker)
    assert (job.status, job.progress, job.attempts) == ("succeeded", 100, 1), job.error
    assert worker_pid(job) != os.getpid()
    statuses = dict(Image.objects.values_list("pk", "registration_status"))
    assert statuses.pop(noise.pk) == "failed"
    assert set(statuses.values()) == {"registered"}
    assert all(
        (private_media / name).is_file()
        for name in Image.objects.exclude(aligned_file="").values_list("aligned_file", flat=True)
    )
    assert api_client.get(f"/api/jobs/{job.pk}/").data["status"] == "succeeded"


def test_a_worker_process_killed_in_the_middle_of_a_job_hands_it_on_and_the_job_completes(celery_worker):
    product = product_with_images(30, size=256)
    job = set_reference(product, size=256)
    running = wait_for_job(
        job.pk, worker=celery_worker, until=lambda job: job.status == "running" and job.progress >= 5
    )
    os.kill(worker_pid(running), signal.SIGKILL)
    finished = wait_for_job(job.pk, worker=celery_worker, timeout=120)
    assert finished.attempts == 2, f"the job was not interrupted (attempts={finished.attempts}); make it longer"
    assert finished.status == "succeeded", finished.error
    assert worker_pid(finished) != worker_pid(running)
    assert not Image.objects.filter(registration_status="pending").exists()


def test_cancelling_a_running_job_through_the_api_stops_the_worker_between_images(celery_worker, api_client):
    product = product_with_images(30, size=256)
    job = set_reference(product, size=256)
    wait_for_job(job.pk, worker=celery_worker, until=lambda job: job.status == "running" and job.progress >= 5)
    response = api_client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 202
    finished = wait_for_job(job.pk, worker=celery_worker)
    assert finished.status == "cancelled"
    assert finished.message.startswith("Cancelled after aligning")
    assert Image.objects.filter(registration_status="pending").exists()


def test_a_job_cancelled_before_a_worker_takes_it_is_skipped(celery_worker):
    skipped_product = product_with_images(2)
    with transaction.atomic():
        skipped = set_reference(skipped_product)
        job_cancel(job=skipped)
    # The worker takes messages in order: once the next job is done, the
    # cancelled one's message has been handled too.
    later = set_reference(product_with_images(1))
    assert wait_for_job(later.pk, worker=celery_worker).status == "succeeded"
    skipped.refresh_from_db()
    assert (skipped.status, skipped.attempts) == ("cancelled", 0)
    assert set(Image.objects.filter(product=skipped_product).values_list("registration_status", flat=True)) == {
        "pending"
    }
