"""The skeleton every background job runs in: claim, work, heartbeat, and end failed or cancelled.

A job's service supplies only its work (a function of the claimed job) and,
where the job owns other rows, what to do with them when the job ends
without finishing its work. The work may stop the job from anywhere by
raising JobFailed (an expected failure, with its reason) or JobCancelled; an
unexpected exception fails the job and is raised again so that the worker
logs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from inspection.models import Job
from inspection.services.jobs import (
    job_claim,
    job_fail,
    job_mark_cancelled,
    job_report_progress,
)

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """The job cannot do its work; `error` says why and becomes the job's error."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


class JobCancelled(Exception):
    """The job stops early because it was cancelled (or taken away); `message` says how far it got."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def job_run(
    *,
    job_id: int,
    worker: str,
    name: str,
    work: Callable[[Job], None],
    when_not_claimed: Callable[[int], None] | None = None,
    when_failing: Callable[[Job, str], None] | None = None,
    when_cancelling: Callable[[Job], None] | None = None,
) -> None:
    """Claim job `job_id` for `worker` and run `work(job)` on it.

    `work` ends the job itself when it succeeds (job_succeed). The hooks let a
    job settle what it owns: `when_not_claimed(job_id)` if the job is not to
    run (cancelled while queued, given up, finished), `when_failing(job, error)`
    before the job is failed (JobFailed or a crash) and `when_cancelling(job)`
    before it is marked cancelled.
    """
    job = job_claim(job_id=job_id, worker=worker)
    if job is None:
        if when_not_claimed is not None:
            when_not_claimed(job_id)
        return
    try:
        work(job)
    except JobCancelled as stop:
        if when_cancelling is not None:
            when_cancelling(job)
        job_mark_cancelled(job=job, message=stop.message)
    except JobFailed as failure:
        _fail(job, failure.error, when_failing)
    except Exception as error:
        logger.exception("%s job %s crashed", name, job.pk)
        _fail(job, f"Unexpected error: {error!r}", when_failing)
        raise


def job_heartbeat(*, job: Job, progress: int, stage: str, message: str, cancelled_message: str) -> None:
    """Report progress; raise JobCancelled(`cancelled_message`) if the job should stop."""
    if job_report_progress(job=job, progress=progress, stage=stage, message=message):
        raise JobCancelled(cancelled_message)


def _fail(job: Job, error: str, when_failing: Callable[[Job, str], None] | None) -> None:
    if when_failing is not None:
        when_failing(job, error)
    job_fail(job=job, error=error)
