"""Job life cycle services: dispatch, claim, progress, finish, and reaping jobs whose worker died."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from inspection import tasks
from inspection.models import Job
from inspection.services.jobs import (
    job_claim,
    job_create,
    job_fail,
    job_reap_stale,
    job_report_progress,
    job_succeed,
)
from tests.platform.factories import JobFactory, ProductFactory


@pytest.fixture
def sent_tasks(monkeypatch):
    sent = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, **options: sent.append((name, options)))
    return sent


def test_a_new_job_is_sent_to_the_workers_only_when_its_transaction_commits(
    db, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_create(kind=Job.Kind.REGISTRATION, product=ProductFactory())
        assert sent_tasks == []
    assert len(callbacks) == 1
    assert sent_tasks == [("inspection.register_images", {"args": [job.pk], "task_id": job.celery_task_id})]
    assert job.status == Job.Status.QUEUED


def test_a_job_that_cannot_reach_the_broker_fails_visibly(db, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(kind=Job.Kind.REGISTRATION, product=ProductFactory())
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "could not be handed to the workers: Connection refused" in job.error


def test_claiming_a_queued_job_marks_it_running_for_that_worker(db):
    job = job_claim(job_id=JobFactory().pk, worker="host:123")
    assert (job.status, job.attempts, job.worker) == ("running", 1, "host:123")
    assert job.started_at and job.heartbeat_at


def test_a_redelivered_running_job_is_claimed_again_and_counts_the_attempt(db):
    job = JobFactory(status=Job.Status.RUNNING, attempts=1, worker="dead:1")
    claimed = job_claim(job_id=job.pk, worker="alive:2")
    assert (claimed.status, claimed.attempts, claimed.worker) == ("running", 2, "alive:2")


def test_a_job_whose_worker_died_too_often_is_given_up(db, settings):
    settings.JOB_MAX_ATTEMPTS = 3
    job = JobFactory(status=Job.Status.RUNNING, attempts=3)
    assert job_claim(job_id=job.pk, worker="host:1") is None
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "Gave up after 3 attempts" in job.error


@pytest.mark.parametrize("status", [Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED])
def test_a_finished_job_is_not_claimed(db, status):
    job = JobFactory(status=status)
    assert job_claim(job_id=job.pk, worker="host:1") is None
    job.refresh_from_db()
    assert job.status == status


def test_a_job_cancelled_while_queued_is_skipped_by_the_worker(db):
    job = JobFactory(status=Job.Status.QUEUED, cancel_requested=True)
    assert job_claim(job_id=job.pk, worker="host:1") is None
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("cancelled", 0)


def test_a_deleted_job_is_not_claimed(db):
    assert job_claim(job_id=987654, worker="host:1") is None


def test_progress_reports_store_progress_and_a_fresh_heartbeat(db):
    job = job_claim(job_id=JobFactory().pk, worker="host:1")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert job_report_progress(job=job, progress=130, stage="aligning images", message="Aligned 3 of 4.") is False
    job.refresh_from_db()
    assert (job.progress, job.stage, job.message) == (100, "aligning images", "Aligned 3 of 4.")
    assert timezone.now() - job.heartbeat_at < timedelta(seconds=5)


def test_a_progress_report_tells_the_worker_to_stop_after_a_cancel_request(db):
    job = job_claim(job_id=JobFactory().pk, worker="host:1")
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    assert job_report_progress(job=job, progress=10) is True


def test_the_reaper_fails_running_jobs_with_a_stale_heartbeat_and_only_those(db, settings):
    settings.JOB_HEARTBEAT_TIMEOUT = timedelta(minutes=5)
    now = timezone.now()
    stale = JobFactory(status=Job.Status.RUNNING, heartbeat_at=now - timedelta(minutes=6))
    fresh = JobFactory(status=Job.Status.RUNNING, heartbeat_at=now - timedelta(minutes=1))
    queued = JobFactory(status=Job.Status.QUEUED)
    assert job_reap_stale(now=now) == 1
    stale.refresh_from_db(), fresh.refresh_from_db(), queued.refresh_from_db()
    assert stale.status == Job.Status.FAILED
    assert "stopped reporting" in stale.error and stale.finished_at == now
    assert (fresh.status, queued.status) == ("running", "queued")


def test_a_reaped_job_keeps_its_verdict_when_its_worker_reports_late(db):
    job = job_claim(job_id=JobFactory().pk, worker="host:1")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    job_reap_stale()
    assert job_report_progress(job=job, progress=50) is True
    job_succeed(job=job, message="done")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED


def test_a_failed_job_records_the_error(db):
    job = job_claim(job_id=JobFactory().pk, worker="host:1")
    job_fail(job=job, error="The reference image cannot be used")
    assert (job.status, job.error) == ("failed", "The reference image cannot be used")
    assert job.finished_at is not None


def test_the_periodic_task_and_worker_start_both_run_the_reaper(db):
    old = timezone.now() - timedelta(days=1)
    JobFactory(status=Job.Status.RUNNING, heartbeat_at=old)
    second = JobFactory(status=Job.Status.RUNNING, heartbeat_at=old)
    Job.objects.filter(pk=second.pk).update(status=Job.Status.QUEUED)
    assert tasks.reap_stale_jobs() == 1
    Job.objects.filter(pk=second.pk).update(status=Job.Status.RUNNING)
    tasks.reap_when_a_worker_starts(sender=None)
    assert set(Job.objects.values_list("status", flat=True)) == {"failed"}
