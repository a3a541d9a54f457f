"""Every API endpoint refuses anonymous requests; token and session sign-in both work."""

import pytest
from rest_framework.test import APIClient

from inspection.models import Image, Job, Product
from tests.platform.factories import ImageFactory, JobFactory, ProductFactory

ENDPOINTS = [
    ("get", "/api/products/"),
    ("post", "/api/products/"),
    ("get", "/api/products/{product}/"),
    ("patch", "/api/products/{product}/"),
    ("delete", "/api/products/{product}/"),
    ("post", "/api/products/{product}/reference-image/"),
    ("post", "/api/products/{product}/registration/"),
    ("get", "/api/products/{product}/images/"),
    ("post", "/api/products/{product}/images/"),
    ("patch", "/api/products/{product}/images/bulk/"),
    ("get", "/api/products/{product}/images/{image}/"),
    ("patch", "/api/products/{product}/images/{image}/"),
    ("delete", "/api/products/{product}/images/{image}/"),
    ("get", "/api/jobs/"),
    ("get", "/api/jobs/{job}/"),
    ("post", "/api/jobs/{job}/cancel/"),
    ("get", "/api/schema/"),
    ("get", "/api/docs/"),
    ("get", "/media/{image_file}"),
]


@pytest.fixture
def existing_objects(db):
    image = ImageFactory()
    job = JobFactory(product=image.product)
    return {"product": image.product.pk, "image": image.pk, "job": job.pk, "image_file": image.file.name}


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_an_anonymous_request_is_refused_and_changes_nothing(anonymous_client, existing_objects, method, path):
    response = getattr(anonymous_client, method)(path.format(**existing_objects))
    assert response.status_code in (401, 403)
    assert Product.objects.count() == 1 and Image.objects.count() == 1
    assert Job.objects.get().status == Job.Status.QUEUED


def test_an_invalid_token_is_refused(existing_objects):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/products/").status_code == 401


def test_a_token_is_issued_for_a_user_name_and_password(anonymous_client, user):
    response = anonymous_client.post(
        "/api/auth/token/", {"username": user.username, "password": "correct horse battery staple"}
    )
    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    assert client.get("/api/products/").status_code == 200


def test_a_signed_in_browser_session_may_use_the_api(client, user):
    client.force_login(user)
    ProductFactory(name="Bracket")
    response = client.get("/api/products/")
    assert response.status_code == 200
    assert [product["name"] for product in response.json()["results"]] == ["Bracket"]


def test_a_signed_in_user_gets_the_openapi_schema_and_the_docs_page(api_client, client, user):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/products/{product_id}/images/" in paths and "/api/jobs/{job_id}/cancel/" in paths
    client.force_login(user)
    assert client.get("/api/docs/").status_code == 200


def test_the_schema_generates_without_warnings(db):
    from django.core.management import call_command

    # --fail-on-warn turns every schema warning (an undocumented view, a
    # guessed type) into an error.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null")
