"""/api/products/{id}/images/: list with filters and pages, relabel one or many, delete."""

from pathlib import Path

import pytest

from inspection.models import Image
from tests.platform.factories import ImageFactory, ProductFactory


@pytest.fixture
def product(db):
    return ProductFactory()


def test_images_are_listed_page_by_page(api_client, product):
    ImageFactory.create_batch(5, product=product)
    ImageFactory()  # another product's image is not listed
    first = api_client.get(f"/api/products/{product.pk}/images/", {"page_size": 2})
    assert first.status_code == 200
    assert (first.data["count"], len(first.data["results"])) == (5, 2)
    last = api_client.get(f"/api/products/{product.pk}/images/", {"page_size": 2, "page": 3})
    assert len(last.data["results"]) == 1 and last.data["next"] is None
    assert last.data["results"][0]["file"].startswith("http://testserver/media/products/")


def test_images_are_filtered_by_label_split_and_registration_status(api_client, product):
    wanted = ImageFactory(
        product=product, label="defective", defect_type="scratch", split="test", registration_status="failed"
    )
    ImageFactory(
        product=product, label="defective", defect_type="scratch", split="test", registration_status="registered"
    )
    ImageFactory(product=product, label="normal", split="test", registration_status="failed")
    ImageFactory(product=product, label="defective", defect_type="dent", split="train", registration_status="failed")
    response = api_client.get(
        f"/api/products/{product.pk}/images/",
        {"label": "defective", "split": "test", "registration_status": "failed"},
    )
    assert [image["id"] for image in response.data["results"]] == [wanted.pk]
    by_defect = api_client.get(f"/api/products/{product.pk}/images/", {"defect_type": "dent"})
    assert by_defect.data["count"] == 1


def test_an_unknown_filter_value_is_refused_instead_of_matching_nothing(api_client, product):
    response = api_client.get(f"/api/products/{product.pk}/images/", {"label": "great"})
    assert response.status_code == 400
    assert "label must be one of normal, defective, unknown" in response.data["detail"]


def test_images_of_a_missing_product_are_not_found(api_client, db):
    assert api_client.get("/api/products/999/images/").status_code == 404


def test_one_image_is_read_and_relabelled(api_client, product):
    image = ImageFactory(product=product, label="unknown")
    assert api_client.get(f"/api/products/{product.pk}/images/{image.pk}/").data["original_name"] == image.original_name
    response = api_client.patch(
        f"/api/products/{product.pk}/images/{image.pk}/",
        {"label": "defective", "defect_type": "scratch", "split": "test"},
        format="json",
    )
    assert response.status_code == 200
    image.refresh_from_db()
    assert (image.label, image.defect_type, image.split) == ("defective", "scratch", "test")


def test_relabelling_a_defective_image_as_normal_drops_its_defect_type(api_client, product):
    image = ImageFactory(product=product, label="defective", defect_type="scratch")
    api_client.patch(f"/api/products/{product.pk}/images/{image.pk}/", {"label": "normal"}, format="json")
    image.refresh_from_db()
    assert (image.label, image.defect_type) == ("normal", "")


def test_a_defect_type_on_a_normal_image_is_refused(api_client, product):
    image = ImageFactory(product=product, label="normal")
    response = api_client.patch(
        f"/api/products/{product.pk}/images/{image.pk}/", {"defect_type": "scratch"}, format="json"
    )
    assert response.status_code == 400
    image.refresh_from_db()
    assert image.defect_type == ""


def test_an_invalid_label_is_refused(api_client, product):
    image = ImageFactory(product=product)
    response = api_client.patch(f"/api/products/{product.pk}/images/{image.pk}/", {"label": "perfect"}, format="json")
    assert response.status_code == 400
    assert "label" in response.data


def test_an_image_is_reached_only_through_its_own_product(api_client, product):
    foreign = ImageFactory()
    assert api_client.get(f"/api/products/{product.pk}/images/{foreign.pk}/").status_code == 404
    assert api_client.delete(f"/api/products/{product.pk}/images/{foreign.pk}/").status_code == 404
    assert Image.objects.filter(pk=foreign.pk).exists()


def test_many_images_are_relabelled_in_one_request(api_client, product):
    images = ImageFactory.create_batch(3, product=product, split="train")
    untouched = ImageFactory(product=product, split="train")
    response = api_client.patch(
        f"/api/products/{product.pk}/images/bulk/",
        {"ids": [image.pk for image in images], "split": "excluded"},
        format="json",
    )
    assert response.status_code == 200 and response.data == {"updated": 3}
    assert set(Image.objects.filter(split="excluded").values_list("pk", flat=True)) == {image.pk for image in images}
    untouched.refresh_from_db()
    assert untouched.split == "train"


def test_a_bulk_change_naming_another_products_image_changes_nothing(api_client, product):
    mine, foreign = ImageFactory(product=product), ImageFactory()
    response = api_client.patch(
        f"/api/products/{product.pk}/images/bulk/", {"ids": [mine.pk, foreign.pk], "label": "defective"}, format="json"
    )
    assert response.status_code == 400
    assert f"do not belong to product {product.pk}: {foreign.pk}" in response.data["detail"]
    mine.refresh_from_db()
    assert mine.label == "normal"


def test_a_bulk_change_without_ids_or_without_changes_is_refused(api_client, product):
    image = ImageFactory(product=product)
    assert (
        api_client.patch(
            f"/api/products/{product.pk}/images/bulk/", {"ids": [], "label": "normal"}, format="json"
        ).status_code
        == 400
    )
    response = api_client.patch(f"/api/products/{product.pk}/images/bulk/", {"ids": [image.pk]}, format="json")
    assert response.status_code == 400
    assert "Nothing to change" in response.data["detail"]


def test_deleting_an_image_removes_its_files(api_client, product, private_media, django_capture_on_commit_callbacks):
    image = ImageFactory(product=product)
    stored = Path(private_media) / image.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.delete(f"/api/products/{product.pk}/images/{image.pk}/").status_code == 204
    assert not Image.objects.exists()
    assert not stored.exists()


def test_a_signed_in_user_can_download_a_stored_image_file(api_client, product, private_media):
    image = ImageFactory(product=product)
    response = api_client.get(f"/media/{image.file.name}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (Path(private_media) / image.file.name).read_bytes()
    assert api_client.get("/media/../../etc/passwd").status_code == 404
