"""The job skeleton every background job runs in: claim, work, heartbeat, failure, cancellation, crash."""

import pytest

from config.celery import app as celery_app
from inspection import tasks  # noqa: F401  (registers the job tasks with Celery)
from inspection.models import Job
from inspection.services.job_runner import (
    JobCancelled,
    JobFailed,
    job_heartbeat,
    job_run,
)
from inspection.services.jobs import TASK_NAMES, job_succeed
from tests.platform.factories import JobFactory


class Recorder:
    """Hooks and work that write down what the runner asked of them, in order."""

    def __init__(self):
        self.calls = []

    def not_claimed(self, job_id):
        self.calls.append(("not claimed", job_id))

    def failing(self, job, error):
        self.calls.append(("failing", job.status, error))

    def cancelling(self, job):
        self.calls.append(("cancelling", job.status))

    def run(self, job_id, work):
        job_run(
            job_id=job_id,
            worker="test:1",
            name="test",
            work=work,
            when_not_claimed=self.not_claimed,
            when_failing=self.failing,
            when_cancelling=self.cancelling,
        )


def test_the_work_runs_on_the_job_claimed_for_the_worker_and_ends_it(db):
    job = JobFactory()
    seen = []

    def work(claimed):
        seen.append((claimed.pk, claimed.status, claimed.worker, claimed.attempts))
        job_succeed(job=claimed, message="Done.")

    recorder = Recorder()
    recorder.run(job.pk, work)
    job.refresh_from_db()
    assert seen == [(job.pk, "running", "test:1", 1)]
    assert (job.status, job.progress, job.message) == ("succeeded", 100, "Done.")
    assert recorder.calls == []


def test_a_job_cancelled_while_queued_never_runs_its_work_and_says_so_to_its_hook(db):
    job = JobFactory(cancel_requested=True)
    recorder = Recorder()
    recorder.run(job.pk, lambda claimed: pytest.fail("the work of a cancelled job ran"))
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert recorder.calls == [("not claimed", job.pk)]


def test_a_job_whose_worker_died_too_often_is_given_up_without_running_its_work(db, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = JobFactory(status=Job.Status.RUNNING, attempts=2)
    recorder = Recorder()
    recorder.run(job.pk, lambda claimed: pytest.fail("the work of a given-up job ran"))
    job.refresh_from_db()
    assert job.status == "failed" and "Gave up after 2 attempts" in job.error
    assert recorder.calls == [("not claimed", job.pk)]


def test_a_job_that_no_longer_exists_is_skipped(db):
    recorder = Recorder()
    recorder.run(987654, lambda claimed: pytest.fail("the work of a deleted job ran"))
    assert recorder.calls == [("not claimed", 987654)]


def test_work_that_raises_job_failed_fails_the_job_with_its_reason_after_the_hook(db):
    job = JobFactory()

    def work(claimed):
        raise JobFailed("The product has no reference image.")

    recorder = Recorder()
    recorder.run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "The product has no reference image.")
    assert recorder.calls == [("failing", "running", "The product has no reference image.")]


def test_a_crash_fails_the_job_as_unexpected_and_is_raised_again_for_the_worker_log(db):
    job = JobFactory()

    def work(claimed):
        raise ZeroDivisionError("division by zero")

    recorder = Recorder()
    with pytest.raises(ZeroDivisionError):
        recorder.run(job.pk, work)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "Unexpected error: ZeroDivisionError('division by zero')"
    assert recorder.calls == [("failing", "running", job.error)]


def test_work_that_raises_job_cancelled_ends_the_job_cancelled_with_its_message(db):
    job = JobFactory()

    def work(claimed):
        raise JobCancelled("Cancelled after 3 of 5 images.")

    recorder = Recorder()
    recorder.run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.message, job.error) == ("cancelled", "Cancelled after 3 of 5 images.", "")
    assert recorder.calls == [("cancelling", "running")]


def test_the_heartbeat_stores_progress_and_carries_on_while_nobody_cancels(db):
    job = JobFactory()

    def work(claimed):
        job_heartbeat(job=claimed, progress=40, stage="testing", message="2 of 5.", cancelled_message="unused")
        job.refresh_from_db()
        assert (job.progress, job.stage, job.message) == (40, "testing", "2 of 5.")
        job_succeed(job=claimed)

    Recorder().run(job.pk, work)
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_the_heartbeat_stops_the_work_once_a_cancel_is_requested(db):
    job = JobFactory()
    reached = []

    def work(claimed):
        Job.objects.filter(pk=claimed.pk).update(cancel_requested=True)
        job_heartbeat(
            job=claimed,
            progress=60,
            stage="testing",
            message="3 of 5.",
            cancelled_message="Cancelled after 3 of 5 images.",
        )
        reached.append("after the heartbeat")

    recorder = Recorder()
    recorder.run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.message) == ("cancelled", "Cancelled after 3 of 5 images.")
    assert reached == [] and recorder.calls == [("cancelling", "running")]


def test_a_job_reaped_while_working_keeps_its_failure_when_the_heartbeat_stops_it(db):
    job = JobFactory()

    def work(claimed):
        Job.objects.filter(pk=claimed.pk).update(status=Job.Status.FAILED, error="The worker stopped reporting.")
        job_heartbeat(job=claimed, progress=10, stage="testing", message="", cancelled_message="Cancelled.")

    Recorder().run(job.pk, work)
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "The worker stopped reporting.")


def test_every_kind_of_job_has_a_task_that_acknowledges_only_when_done_and_returns_if_its_worker_dies():
    assert set(TASK_NAMES) == set(Job.Kind.values)
    for name in TASK_NAMES.values():
        task = celery_app.tasks[name]
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True), name
