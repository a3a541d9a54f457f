"""/api/products/: create, list, read, change, delete, and choose the reference image."""

from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.engine.registration.alignment import Registrar
from inspection.models import Image, Job, Product
from tests.platform.factories import ImageFactory, ProductFactory
from tests.synthetic_images import noise_pixels, part_png, png_bytes


def test_a_product_is_created_with_a_name_and_description(api_client, user):
    response = api_client.post(
        "/api/products/", {"name": "Zipper cursor", "description": "Brass, 20 mm"}, format="json"
    )
    assert response.status_code == 201
    product = Product.objects.get(pk=response.data["id"])
    assert (product.name, product.description, product.created_by) == ("Zipper cursor", "Brass, 20 mm", user)
    assert response.data["image_count"] == 0
    # Unset registration settings are stored in full, so they are visible and
    # reproducible; the method and the largest rotation are left to the pictures.
    assert product.registration_settings == {**Registrar().get_config(), "method": "auto", "max_rotation": "auto"}


def test_a_product_can_be_created_with_its_reference_image_in_one_multipart_request(api_client):
    response = api_client.post(
        "/api/products/",
        {"name": "Bracket", "reference_image": SimpleUploadedFile("golden.png", part_png())},
        format="multipart",
    )
    assert response.status_code == 201
    product = Product.objects.get()
    assert product.reference_image and product.reference_checksum
    assert response.data["reference_image"].startswith("http://testserver/media/products/")


def test_a_second_product_with_the_same_name_is_refused_with_409(api_client):
    ProductFactory(name="Bracket")
    response = api_client.post("/api/products/", {"name": "Bracket"}, format="json")
    assert response.status_code == 409
    assert "already exists" in response.data["detail"]
    assert Product.objects.count() == 1


def test_unknown_registration_settings_are_refused(api_client):
    response = api_client.post(
        "/api/products/", {"name": "Bracket", "registration_settings": {"method": "magic"}}, format="json"
    )
    assert response.status_code == 400
    assert "method must be one of" in response.data["detail"]
    response = api_client.post(
        "/api/products/", {"name": "Bracket", "registration_settings": {"speed": 3}}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown registration setting" in response.data["detail"]
    assert not Product.objects.exists()


def test_the_product_list_is_paginated_and_counts_images(api_client):
    product = ProductFactory(name="A")
    ImageFactory.create_batch(3, product=product)
    ProductFactory(name="B")
    response = api_client.get("/api/products/", {"page_size": 1})
    assert response.status_code == 200
    assert response.data["count"] == 2
    assert [(item["name"], item["image_count"]) for item in response.data["results"]] == [("A", 3)]
    assert response.data["next"]


def test_a_product_is_read_changed_and_deleted(api_client):
    product = ProductFactory(name="Old name")
    assert api_client.get(f"/api/products/{product.pk}/").data["name"] == "Old name"
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"name": "New name", "thresholds": {"image": 0.7}}, format="json"
    )
    assert response.status_code == 200
    assert (response.data["name"], response.data["thresholds"]) == ("New name", {"image": 0.7})
    assert api_client.delete(f"/api/products/{product.pk}/").status_code == 204
    assert not Product.objects.exists()
    assert api_client.get(f"/api/products/{product.pk}/").status_code == 404


def test_deleting_a_product_deletes_its_images_jobs_and_files(
    api_client, private_media, django_capture_on_commit_callbacks
):
    image = ImageFactory()
    Job.objects.create(kind=Job.Kind.REGISTRATION, product=image.product)
    stored = Path(private_media) / image.file.name
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/products/{image.product.pk}/").status_code == 204
    assert not Image.objects.exists() and not Job.objects.exists()
    assert not stored.exists()


def test_uploading_a_reference_image_queues_a_registration_job_over_every_image(api_client, user):
    product = ProductFactory()
    images = ImageFactory.create_batch(2, product=product, registration_status=Image.RegistrationStatus.FAILED)
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("golden.png", part_png())},
        format="multipart",
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.data["job"]["id"])
    assert (job.kind, job.status, job.product, job.created_by) == ("registration", "queued", product, user)
    assert job.celery_task_id
    assert {image.registration_status for image in Image.objects.filter(pk__in=[i.pk for i in images])} == {"pending"}
    product.refresh_from_db()
    assert product.registration_revision == 1


def test_one_of_the_products_images_can_become_the_reference(api_client):
    image = ImageFactory()
    response = api_client.post(
        f"/api/products/{image.product.pk}/reference-image/", {"image_id": image.pk}, format="json"
    )
    assert response.status_code == 202
    image.product.refresh_from_db()
    assert image.product.reference_checksum == image.checksum


def test_an_image_of_another_product_cannot_become_the_reference(api_client):
    product, foreign_image = ProductFactory(), ImageFactory()
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/", {"image_id": foreign_image.pk}, format="json"
    )
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_a_reference_image_that_is_not_an_image_is_refused_and_nothing_changes(api_client):
    product = ProductFactory()
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("golden.png", b"this is a text file")},
        format="multipart",
    )
    assert response.status_code == 400
    assert "golden.png: not an image file" in response.data["detail"]
    product.refresh_from_db()
    assert not product.reference_image and not Job.objects.exists()


def test_a_region_of_interest_outside_the_reference_is_refused(api_client):
    product = ProductFactory(registration_settings={"roi": [100, 100, 500, 500]})
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("golden.png", png_bytes(noise_pixels(size=128)))},
        format="multipart",
    )
    assert response.status_code == 400
    assert "does not fit inside the 128x128 reference image" in response.data["detail"]


def test_changing_registration_settings_realigns_every_image(api_client):
    product = ProductFactory()
    ImageFactory(product=product, registration_status=Image.RegistrationStatus.REGISTERED)
    api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("golden.png", part_png())},
        format="multipart",
    )
    Job.objects.update(status=Job.Status.SUCCEEDED)
    Image.objects.update(registration_status=Image.RegistrationStatus.REGISTERED)
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"registration_settings": {"motion": "translation"}}, format="json"
    )
    assert response.status_code == 200
    assert response.data["registration_settings"]["motion"] == "translation"
    assert Job.objects.filter(status=Job.Status.QUEUED).count() == 1
    assert Image.objects.get().registration_status == Image.RegistrationStatus.PENDING


def test_registration_can_be_restarted_for_failed_images(api_client):
    product = ProductFactory()
    api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("golden.png", part_png())},
        format="multipart",
    )
    Job.objects.update(status=Job.Status.SUCCEEDED)
    failed = ImageFactory(product=product, registration_status=Image.RegistrationStatus.FAILED)
    registered = ImageFactory(product=product, registration_status=Image.RegistrationStatus.REGISTERED)
    response = api_client.post(f"/api/products/{product.pk}/registration/", {"images": "failed"}, format="json")
    assert response.status_code == 202
    assert response.data["job"]["status"] == "queued"
    failed.refresh_from_db(), registered.refresh_from_db()
    assert (failed.registration_status, registered.registration_status) == ("pending", "registered")


def test_registration_without_a_reference_image_is_refused_with_409(api_client):
    product = ProductFactory()
    response = api_client.post(f"/api/products/{product.pk}/registration/", {}, format="json")
    assert response.status_code == 409
    assert not Job.objects.exists()


def test_form_data_larger_than_data_upload_max_memory_size_is_refused_with_413(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api_client.post("/api/products/", {"name": "Bracket", "description": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.data["detail"]
    assert not Product.objects.exists()
