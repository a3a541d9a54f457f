"""/api/jobs/: status and progress of background jobs, and cancelling them."""

import pytest

from inspection.models import Job
from tests.platform.factories import JobFactory, ProductFactory


def test_a_job_shows_its_status_progress_and_stage(api_client, db):
    job = JobFactory(status=Job.Status.RUNNING, progress=40, stage="aligning images", message="Aligned 4 of 10 images.")
    response = api_client.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 200
    assert {key: response.data[key] for key in ("kind", "status", "progress", "stage", "message", "product")} == {
        "kind": "registration",
        "status": "running",
        "progress": 40,
        "stage": "aligning images",
        "message": "Aligned 4 of 10 images.",
        "product": job.product.pk,
    }


def test_a_missing_job_is_not_found(api_client, db):
    assert api_client.get("/api/jobs/12345/").status_code == 404


def test_jobs_are_listed_newest_first_and_filtered_by_product_and_status(api_client, db):
    product = ProductFactory()
    older = JobFactory(product=product, status=Job.Status.SUCCEEDED)
    newer = JobFactory(product=product, status=Job.Status.QUEUED)
    JobFactory(status=Job.Status.QUEUED)
    response = api_client.get("/api/jobs/", {"product": product.pk})
    assert [job["id"] for job in response.data["results"]] == [newer.pk, older.pk]
    queued = api_client.get("/api/jobs/", {"product": product.pk, "status": "queued"})
    assert [job["id"] for job in queued.data["results"]] == [newer.pk]


@pytest.mark.parametrize("query", [{"status": "sleeping"}, {"kind": "magic"}, {"product": "abc"}])
def test_unknown_job_filters_are_refused(api_client, db, query):
    assert api_client.get("/api/jobs/", query).status_code == 400


def test_cancelling_a_queued_job_cancels_it_at_once(api_client, db):
    job = JobFactory(status=Job.Status.QUEUED)
    response = api_client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.status, job.cancel_requested) == ("cancelled", True)
    assert job.finished_at is not None


def test_cancelling_a_running_job_asks_it_to_stop_at_its_next_step(api_client, db):
    job = JobFactory(status=Job.Status.RUNNING)
    response = api_client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 202
    assert (response.data["status"], response.data["cancel_requested"]) == ("running", True)


@pytest.mark.parametrize("status", [Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED])
def test_a_finished_job_cannot_be_cancelled(api_client, db, status):
    job = JobFactory(status=status)
    response = api_client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 409
    assert "nothing to cancel" in response.data["detail"]
    job.refresh_from_db()
    assert job.status == status and not job.cancel_requested
