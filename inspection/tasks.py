"""Celery tasks: thin entry points that take ids and call a service.

All tasks acknowledge their message only when done and are safe to run again
(see services.registration), so a message redelivered after a worker died
does the remaining work instead of repeating or losing it.
"""

from __future__ import annotations

import logging
import os
import socket
from functools import partial

from celery import shared_task
from celery.signals import worker_ready

from inspection.services.drift import drift_check_all
from inspection.services.inspection_counts import inspection_counts_roll_up_all
from inspection.services.inspections import inspection_job_run
from inspection.services.jobs import job_reap_stale
from inspection.services.model_exports import model_export_job_run
from inspection.services.model_versions import model_version_settle_orphans
from inspection.services.pixel_evaluation import pixel_evaluation_job_run
from inspection.services.registration import registration_job_run
from inspection.services.training import training_job_run

logger = logging.getLogger(__name__)


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# A job's message is acknowledged only when its work is done, and handed to
# another worker if this one dies meanwhile (see services.job_runner).
job_task = partial(shared_task, acks_late=True, reject_on_worker_lost=True)


@job_task(name="inspection.register_images")
def register_images(job_id: int) -> None:
    registration_job_run(job_id=job_id, worker=_worker_name())


# Heavy jobs (routed to the "engine" queue in settings): TensorFlow is
# imported in the worker process that runs them, never at import time here.
@job_task(name="inspection.train_model_version")
def train_model_version(job_id: int) -> None:
    training_job_run(job_id=job_id, worker=_worker_name())


@job_task(name="inspection.inspect_batch")
def inspect_batch(job_id: int) -> None:
    inspection_job_run(job_id=job_id, worker=_worker_name())


@job_task(name="inspection.evaluate_pixels")
def evaluate_pixels(job_id: int) -> None:
    pixel_evaluation_job_run(job_id=job_id, worker=_worker_name())


@job_task(name="inspection.export_model_version")
def export_model_version(job_id: int) -> None:
    model_export_job_run(job_id=job_id, worker=_worker_name())


@shared_task(name="inspection.reap_stale_jobs")
def reap_stale_jobs() -> int:
    reaped = job_reap_stale()
    # A training whose job was just failed must not stay "training".
    model_version_settle_orphans()
    return reaped


@worker_ready.connect
def reap_when_a_worker_starts(**_) -> None:
    # A worker that starts after a crash finds its old jobs "running" with an
    # old heartbeat; without a scheduler running, this is when they get reaped.
    try:
        job_reap_stale()
        model_version_settle_orphans()
    except Exception:  # e.g. migrations not applied yet: the worker must still start
        logger.exception("could not check for stale jobs at worker start")


@shared_task(name="inspection.check_drift")
def check_drift() -> int:
    """Periodic (DRIFT_CHECK_INTERVAL): record which products' recent passes drifted."""
    return drift_check_all()


@shared_task(name="inspection.roll_up_inspection_counts")
def roll_up_inspection_counts() -> int:
    """Periodic: count settled quarter hours of inspections for the dashboard."""
    return inspection_counts_roll_up_all()
