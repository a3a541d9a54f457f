"""The product list page: what it shows, and creating a product from it."""

from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Product
from tests.platform.factories import ImageFactory, JobFactory, ProductFactory
from tests.synthetic_images import part_png


def test_the_product_list_needs_a_signed_in_user(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    response = client.post("/", {"name": "Sneaky"})
    assert response.status_code == 302 and not Product.objects.exists()


def test_each_product_shows_its_image_counts_and_latest_job(signed_in):
    product = ProductFactory(name="Zipper cursor")
    ImageFactory.create_batch(3, product=product)
    ImageFactory(product=product, registration_status="failed")
    JobFactory(product=product, status="failed", error="The worker running this job stopped reporting")
    response = signed_in.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Zipper cursor" in html
    assert "<strong>4</strong> images" in html
    assert "1 could not be aligned" in html
    # The latest job's error is shown in words, with a live progress widget.
    assert "The worker running this job stopped reporting" in html
    assert 'data-job-status="failed"' in html
    assert f'href="/products/{product.pk}/images/"' in html


def test_a_product_without_a_model_says_so(signed_in):
    ProductFactory()
    html = signed_in.get("/").content.decode()
    assert "none" in html and "not set" in html


def test_creating_a_product_leads_to_its_dataset_page(signed_in):
    response = signed_in.post("/", {"name": "  Bracket  ", "description": "Stamped steel"})
    product = Product.objects.get()
    assert product.name == "Bracket"
    assert response.status_code == 302 and response.url == f"/products/{product.pk}/images/"
    page = signed_in.get(response.url)
    assert "Product Bracket created" in page.content.decode()


def test_creating_a_product_with_a_reference_image_queues_alignment(signed_in, private_media):
    reference = SimpleUploadedFile("reference.png", part_png(), content_type="image/png")
    response = signed_in.post("/", {"name": "Hinge", "reference_image": reference})
    assert response.status_code == 302
    product = Product.objects.get(name="Hinge")
    assert product.reference_image


def test_a_product_form_error_is_shown_in_words_next_to_the_field(signed_in):
    response = signed_in.post("/", {"name": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "Please correct the fields marked below." in html


def test_a_duplicate_product_name_is_refused_in_the_services_words(signed_in):
    ProductFactory(name="Gasket")
    response = signed_in.post("/", {"name": "Gasket"})
    assert response.status_code == 400
    assert "A product named &#x27;Gasket&#x27; already exists." in response.content.decode()
    assert Product.objects.filter(name="Gasket").count() == 1


def test_a_reference_image_that_is_not_an_image_is_refused_in_words(signed_in):
    not_an_image = SimpleUploadedFile("reference.png", b"hello", content_type="image/png")
    response = signed_in.post("/", {"name": "Clip", "reference_image": not_an_image})
    assert response.status_code == 400
    assert "reference.png:" in response.content.decode()
    assert not Product.objects.filter(name="Clip").exists()


def test_every_form_control_on_the_product_list_has_a_label(signed_in):
    ProductFactory()
    html = signed_in.get("/").content.decode()
    for control_id in ("id_name", "id_description", "id_reference_image"):
        assert f'for="{control_id}"' in html and f'id="{control_id}"' in html
