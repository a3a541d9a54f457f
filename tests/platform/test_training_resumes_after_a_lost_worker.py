"""A training whose worker is killed (SIGKILL) resumes in another worker process from its last epoch checkpoint.

Real `celery -A config worker` processes; data is committed (transactional_db)
so the workers see it. The resumed model is compared with one trained
without interruption on the same images and settings.
"""

import os
import signal

import pytest

from inspection.models import Job
from inspection.services.model_versions import model_version_create
from tests.platform.fixtures import wait_for_job
from tests.platform.loop_data import TINY_CPCAE, ready_product, trained_version
from tests.platform.test_registration_in_a_real_worker import worker_pid
from tests.platform.test_training_in_a_real_worker import epoch_of, wait_until

pytestmark = pytest.mark.usefixtures("transactional_db")

# About a second an epoch with these tiny settings: long enough to be killed in the middle.
RESUMABLE = {**TINY_CPCAE, "epochs": 8}


def checkpoint_files(private_media, version):
    return sorted((private_media / f"products/{version.product_id}/checkpoints/{version.pk}").glob("epoch-*.npz"))


def test_a_training_whose_worker_is_killed_resumes_from_its_last_checkpoint_and_ends_with_the_same_model(
    celery_worker, private_media
):
    product = ready_product(train=12, test_good=2, test_defective=2)
    version = model_version_create(product=product, method="cpcae-knn", params=RESUMABLE)
    wait_until(lambda: epoch_of(version) >= 4, worker=celery_worker, what="fourth epoch")
    assert checkpoint_files(private_media, version), "no checkpoint after three epochs"
    running = Job.objects.get(pk=version.job_id)
    os.kill(worker_pid(running), signal.SIGKILL)

    def resumed():
        version.refresh_from_db()
        return "resumed" in version.progress

    wait_until(resumed, worker=celery_worker, timeout=180, what="resumed training")
    resumed_at = int(version.progress["resumed"].split()[3])
    assert version.progress["resumed"] == f"Resumed at epoch {resumed_at} after the worker was lost."
    assert resumed_at >= 3
    job = wait_for_job(version.job_id, worker=celery_worker, timeout=300)
    assert (job.status, job.attempts) == ("succeeded", 2), job.error
    assert worker_pid(job) != worker_pid(running)
    version.refresh_from_db()
    assert version.status == "trained"
    assert len(version.metrics["loss_history"]) == RESUMABLE["epochs"]
    assert checkpoint_files(private_media, version) == []  # removed once the training ended

    uninterrupted = trained_version(product, method="cpcae-knn", **RESUMABLE)
    assert version.metrics["loss_history"] == pytest.approx(uninterrupted.metrics["loss_history"], rel=1e-3)
    assert version.metrics["image_auroc"] == uninterrupted.metrics["image_auroc"]
    ours = {row.checksum: row.score for row in version.evaluation_scores.all()}
    theirs = {row.checksum: row.score for row in uninterrupted.evaluation_scores.all()}
    assert ours == pytest.approx(theirs, rel=1e-3)
