"""Failure cases of training and batch inspection in real `celery -A config worker` processes.

A worker killed mid-training, cancelling a running training, a damaged model
bundle, simultaneous training requests, and two workers sharing the jobs.
Data is committed (transactional_db) so the worker processes see it.
"""

import os
import re
import signal
import threading
import time
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from inspection.models import EvaluationScore, Image, Inspection, Job, ModelVersion
from inspection.services.model_versions import model_version_create
from tests.platform.fixtures import start_worker, wait_for_job
from tests.platform.loop_data import TINY_CPCAE, activated_version, ready_product
from tests.platform.test_registration_in_a_real_worker import product_with_images, set_reference, worker_pid
from tests.synthetic_images import good_pixels, png_bytes

pytestmark = pytest.mark.usefixtures("transactional_db")

# Long enough to be interrupted: each epoch of these tiny settings takes about a second.
LONG_TRAINING = {**TINY_CPCAE, "epochs": 60}


def epoch_of(version) -> int:
    version.refresh_from_db()
    return version.progress.get("epoch") or 0


def wait_until(condition, *, worker, timeout=120, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached after {timeout}s\n{worker.log_tail()}")
        time.sleep(0.1)


def test_a_worker_killed_mid_training_hands_the_job_on_and_the_active_version_stays(celery_worker, api_client, user):
    product = ready_product(train=12, test_good=2, test_defective=2)
    previous = activated_version(product, user=user)
    version = model_version_create(product=product, method="cpcae-knn", params=LONG_TRAINING)
    wait_until(lambda: epoch_of(version) >= 1, worker=celery_worker, what="first epoch")
    running = Job.objects.get(pk=version.job_id)
    os.kill(worker_pid(running), signal.SIGKILL)

    # The message goes back to the queue and a fresh worker process trains again from the snapshot.
    wait_until(
        lambda: Job.objects.get(pk=version.job_id).attempts == 2 and epoch_of(version) >= 1,
        worker=celery_worker,
        what="training restarted",
    )
    restarted = Job.objects.get(pk=version.job_id)
    assert restarted.status == "running" and worker_pid(restarted) != worker_pid(running)
    version.refresh_from_db()
    assert (version.status, version.bundle.name) == ("training", "")
    product.refresh_from_db()
    assert product.active_version_id == previous.pk

    # Stop it; nothing of it is usable and the previous version still inspects.
    assert api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/cancel/").status_code == 202
    assert wait_for_job(version.job_id, worker=celery_worker).status == "cancelled"
    version.refresh_from_db()
    assert (version.status, version.bundle.name, version.is_usable) == ("cancelled", "", False)
    inspected = api_client.post(
        f"/api/products/{product.pk}/inspections/",
        {"file": SimpleUploadedFile("good.png", png_bytes(good_pixels(800)))},
        format="multipart",
    )
    assert (inspected.status_code, inspected.data["version"]) == (201, previous.pk)


def test_cancelling_a_running_training_stops_it_within_one_epoch_and_keeps_nothing(
    celery_worker, api_client, private_media
):
    product = ready_product(train=12, test_good=2, test_defective=2)
    response = api_client.post(
        f"/api/products/{product.pk}/model-versions/", {"method": "cpcae-knn", "params": LONG_TRAINING}, format="json"
    )
    assert response.status_code == 202
    version = ModelVersion.objects.get(pk=response.data["id"])
    wait_until(lambda: epoch_of(version) >= 2, worker=celery_worker, what="second epoch")
    live = api_client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/").data
    assert live["status"] == "training" and live["progress"]["stage"] == "training the autoencoder"
    assert live["progress"]["epochs"] == 60 and live["progress"]["loss"] is not None and live["job"]["progress"] > 5
    cancelled_at_epoch = epoch_of(version)
    assert api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/cancel/").status_code == 202
    job = wait_for_job(version.job_id, worker=celery_worker, timeout=60)
    assert job.status == "cancelled" and "no model was kept" in job.message
    version.refresh_from_db()
    assert version.status == "cancelled" and version.progress["epoch"] <= cancelled_at_epoch + 1
    assert not version.bundle and not EvaluationScore.objects.filter(version=version).exists()
    assert not list((private_media / f"products/{product.pk}").glob("models/*"))
    refused = api_client.post(f"/api/products/{product.pk}/model-versions/{version.pk}/activate/", {}, format="json")
    assert refused.status_code == 409


def test_a_damaged_bundle_fails_a_batch_inspection_job_clearly_and_flags_the_version(
    celery_worker, api_client, private_media, user
):
    product = ready_product(train=8, test_good=2, test_defective=2)
    version = activated_version(product, user=user)
    (private_media / version.bundle.name).write_bytes(b"\x00" * 100)
    files = [SimpleUploadedFile(f"part{index}.png", png_bytes(good_pixels(810 + index))) for index in range(2)]
    response = api_client.post(f"/api/products/{product.pk}/inspections/", {"files": files}, format="multipart")
    assert response.status_code == 202
    job = wait_for_job(response.data["job"]["id"], worker=celery_worker)
    assert job.status == "failed" and "checksum mismatch" in job.error and "flagged as damaged" in job.error
    assert set(Inspection.objects.filter(job=job).values_list("status", "decision")) == {("failed", "")}
    assert "cannot be used" in Inspection.objects.filter(job=job).first().reason
    version.refresh_from_db()
    assert version.flagged_damaged and version.bundle.name in version.damage_reason


def test_simultaneous_training_requests_for_one_product_run_one_at_a_time(celery_worker, user):
    product = ready_product(train=6, test_good=2, test_defective=2)
    token = Token.objects.get_or_create(user=user)[0].key
    barrier = threading.Barrier(2)
    responses = []

    def request_training():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        barrier.wait()
        try:
            responses.append(
                client.post(f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=request_training) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(response.status_code for response in responses) == [202, 409]
    accepted = next(response for response in responses if response.status_code == 202)
    refused = next(response for response in responses if response.status_code == 409)
    # Whether the worker has already picked version 1 up depends on timing.
    assert re.search(r"Version 1 of this product is still (queued|training)", refused.data["detail"])
    assert ModelVersion.objects.filter(product=product).count() == 1
    assert wait_for_job(accepted.data["job"]["id"], worker=celery_worker).status == "succeeded"
    # Once it is done, the next training is accepted.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    later = client.post(f"/api/products/{product.pk}/model-versions/", {"method": "variation"}, format="json")
    assert (later.status_code, later.data["number"]) == (202, 2)
    assert wait_for_job(later.data["job"]["id"], worker=celery_worker).status == "succeeded"


@pytest.fixture
def second_worker(celery_worker, platform_runtime, django_db_blocker):
    """Another worker process on the same broker, database and media folder."""
    worker = start_worker(platform_runtime, django_db_blocker, name=f"second-{uuid.uuid4().hex[:6]}")
    yield worker
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()


def test_two_worker_processes_on_one_broker_share_the_jobs(celery_worker, second_worker):
    # Jobs long enough (about a second each) that the idle worker polls the
    # broker while the busy one still works: the folder broker polls every 0.2 s.
    jobs = [set_reference(product_with_images(80, size=256), size=256) for _ in range(2)]
    finished = [wait_for_job(job.pk, worker=celery_worker, timeout=180) for job in jobs]
    assert [job.status for job in finished] == ["succeeded", "succeeded"]
    # Each worker runs one job at a time, so overlapping jobs ran in different workers.
    first, second = sorted(finished, key=lambda job: job.started_at)
    assert second.started_at < first.finished_at, "the jobs ran one after the other"
    assert Image.objects.filter(registration_status="registered").count() == 160
