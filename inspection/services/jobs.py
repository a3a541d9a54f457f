"""The life of a background job: queued, running, and one of succeeded, failed or cancelled.

A worker reports progress and a heartbeat through these functions. If a worker
dies, Celery hands the job's message to another worker (late acknowledgement)
and `job_claim` lets it carry on; if nobody does, `job_reap_stale` marks the
job failed once its heartbeat is old, so no job shows "running" forever.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inspection.errors import Conflict
from inspection.models import Job, Product

logger = logging.getLogger(__name__)

# Services name tasks instead of importing them, so tasks.py may import services.
TASK_NAMES = {
    Job.Kind.REGISTRATION: "inspection.register_images",
    Job.Kind.TRAINING: "inspection.train_model_version",
    Job.Kind.INSPECTION: "inspection.inspect_batch",
    Job.Kind.PIXEL_EVALUATION: "inspection.evaluate_pixels",
    Job.Kind.EXPORT: "inspection.export_model_version",
}


def job_create(*, kind: str, product: Product | None, created_by=None, message: str = "") -> Job:
    """Record a queued job and send it to the workers once the transaction commits."""
    job = Job.objects.create(
        kind=kind,
        product=product,
        created_by=created_by,
        celery_task_id=str(uuid.uuid4()),
        message=message or "Waiting for a worker.",
    )
    transaction.on_commit(lambda: job_dispatch(job=job))
    return job


def job_dispatch(*, job: Job) -> None:
    """Publish the job's message; if the broker is unreachable the job fails visibly."""
    try:
        current_app.send_task(TASK_NAMES[job.kind], args=[job.pk], task_id=job.celery_task_id)
    except Exception as error:  # any broker error: the job must not look queued forever
        logger.exception("could not queue job %s", job.pk)
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.FAILED,
            error=f"The job could not be handed to the workers: {error}",
            finished_at=timezone.now(),
        )


def job_cancel(*, job: Job) -> Job:
    """Cancel a job: a queued one at once, a running one at its next check."""
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            raise Conflict(f"Job {job.pk} has already {job.status}; there is nothing to cancel.")
        if job.status == Job.Status.QUEUED:
            # The worker skips a job that is no longer queued when its message arrives.
            job.status = Job.Status.CANCELLED
            job.finished_at = timezone.now()
            job.message = "Cancelled before it started."
        job.cancel_requested = True
        job.save(update_fields=["status", "finished_at", "message", "cancel_requested"])
    return job


def job_claim(*, job_id: int, worker: str) -> Job | None:
    """Mark a job running for `worker`; None if it should not run (gone, finished, cancelled).

    A job already "running" is claimed again: that is the same message
    redelivered because the worker that had it died.
    """
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if job.cancel_requested:
            _finish(job, Job.Status.CANCELLED, message="Cancelled before it started.")
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            _finish(
                job,
                Job.Status.FAILED,
                error=f"Gave up after {job.attempts} attempts: the worker running it stopped each time "
                "(out of memory or killed?).",
            )
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.worker = worker
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["status", "attempts", "worker", "started_at", "heartbeat_at"])
    return job


def job_report_progress(*, job: Job, progress: int, stage: str = "", message: str = "") -> bool:
    """Store progress and a heartbeat; True means the job should stop (cancelled or reaped)."""
    progress = max(0, min(100, int(progress)))
    updated = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        progress=progress, stage=stage, message=message, heartbeat_at=timezone.now()
    )
    if not updated:
        return True
    return Job.objects.filter(pk=job.pk, cancel_requested=True).exists()


def job_succeed(*, job: Job, message: str = "") -> None:
    _finish(job, Job.Status.SUCCEEDED, message=message, progress=100)


def job_fail(*, job: Job, error: str) -> None:
    _finish(job, Job.Status.FAILED, error=error)


def job_mark_cancelled(*, job: Job, message: str = "Cancelled.") -> None:
    _finish(job, Job.Status.CANCELLED, message=message)


def _finish(job: Job, status: str, *, message: str | None = None, error: str = "", progress: int | None = None):
    # Only an unfinished job changes: a reaped or cancelled job keeps its verdict
    # even if its worker comes back to life and reports late.
    fields = {"status": status, "finished_at": timezone.now(), "error": error}
    if message is not None:
        fields["message"] = message
    if progress is not None:
        fields["progress"] = progress
    Job.objects.filter(pk=job.pk, status__in=Job.ACTIVE_STATUSES).update(**fields)
    try:
        job.refresh_from_db()
    except Job.DoesNotExist:  # its product was deleted meanwhile
        pass


def job_reap_stale(*, now: datetime | None = None) -> int:
    """Fail running jobs whose worker stopped sending heartbeats; returns how many."""
    now = now or timezone.now()
    cutoff = now - settings.JOB_HEARTBEAT_TIMEOUT
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)
    reaped = 0
    for job in stale:
        reaped += Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, heartbeat_at__lt=cutoff).update(
            status=Job.Status.FAILED,
            finished_at=now,
            error=(
                f"The worker running this job stopped reporting (last heartbeat "
                f"{job.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}); it was probably stopped or killed. "
                "Start the job again."
            ),
        )
    if reaped:
        logger.warning("marked %d stale job(s) as failed", reaped)
    return reaped
