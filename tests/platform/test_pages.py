"""The minimal server-rendered pages and the health check."""

from tests.platform.factories import ProductFactory


def test_the_product_list_page_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_the_login_page_signs_a_user_in(client, user):
    assert b"Sign in" in client.get("/accounts/login/").content
    response = client.post("/accounts/login/", {"username": user.username, "password": "correct horse battery staple"})
    assert response.status_code == 302 and response.url == "/"


def test_a_signed_in_user_sees_the_products_with_their_image_counts(client, user):
    ProductFactory(name="Zipper cursor")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Zipper cursor" in response.content


def test_the_health_check_answers_without_signing_in(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
