"""Reading jobs: the newest of a product, and the job list API in queries that do not grow with the rows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspection.selectors.jobs import job_latest
from tests.platform.factories import JobFactory, ProductFactory, UserFactory


def test_the_newest_job_of_a_product_is_found_of_any_kind_or_of_one(db):
    product = ProductFactory()
    registration = JobFactory(product=product, kind="registration")
    training = JobFactory(product=product, kind="training")
    JobFactory(kind="training")
    assert job_latest(product_id=product.pk) == training
    assert job_latest(product_id=product.pk, kind="registration") == registration
    assert job_latest(product_id=product.pk, kind="inspection") is None


def test_the_job_list_api_costs_the_same_queries_however_many_jobs_there_are(api_client):
    product = ProductFactory()
    JobFactory(product=product, created_by=UserFactory())
    with CaptureQueriesContext(connection) as one:
        api_client.get("/api/jobs/")
    for _ in range(6):
        JobFactory(product=ProductFactory(), created_by=UserFactory())
    with CaptureQueriesContext(connection) as seven:
        response = api_client.get("/api/jobs/")
    assert len(response.data["results"]) == 7 and all(item["created_by"] for item in response.data["results"])
    assert len(seven) == len(one)
