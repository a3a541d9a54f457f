"""The dataset curation page: grid, filters, pagination, bulk actions, uploads and the reference image."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Image, Job
from tests.platform.factories import ImageFactory, ProductFactory
from tests.synthetic_images import distinct_part_pngs, part_png, zip_bytes


@pytest.fixture
def product(db):
    return ProductFactory(name="Zipper cursor")


def grid_ids(html: str) -> list[int]:
    return [int(value) for value in re.findall(r'name="ids" value="(\d+)" id="image-', html)]


def test_the_dataset_page_needs_a_signed_in_user(client, product):
    response = client.get(f"/products/{product.pk}/images/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    for action in ("images/bulk/", "images/upload/", "reference/", "registration/"):
        assert client.post(f"/products/{product.pk}/{action}").status_code == 302


def test_an_unknown_product_is_not_found(signed_in, db):
    assert signed_in.get("/products/999999/images/").status_code == 404


def test_the_grid_shows_each_image_with_its_label_split_and_alignment(signed_in, product):
    aligned = ImageFactory(product=product, registration_status="registered", registration_quality=0.913)
    failed = ImageFactory(
        product=product,
        registration_status="failed",
        registration_failure_reason="too little overlap with the reference",
    )
    defective = ImageFactory(product=product, label="defective", defect_type="scratch", split="test")
    html = signed_in.get(f"/products/{product.pk}/images/").content.decode()
    assert grid_ids(html) == [aligned.pk, failed.pk, defective.pk]
    assert "quality 0.91" in html
    assert "Not aligned:</strong> too little overlap with the reference" in html
    assert 'class="tile tile-failed"' in html
    assert '<span class="badge badge-defect">scratch</span>' in html
    assert 'loading="lazy"' in html
    # The defect types in use are offered while typing.
    assert '<option value="scratch">' in html


def test_filters_narrow_the_grid(signed_in, product):
    normal = ImageFactory(product=product)
    defective = ImageFactory(product=product, label="defective", defect_type="bubble", split="test")
    failed = ImageFactory(product=product, registration_status="failed")
    url = f"/products/{product.pk}/images/"
    assert grid_ids(signed_in.get(url, {"label": "defective"}).content.decode()) == [defective.pk]
    assert grid_ids(signed_in.get(url, {"defect_type": "bubble"}).content.decode()) == [defective.pk]
    assert grid_ids(signed_in.get(url, {"registration_status": "failed"}).content.decode()) == [failed.pk]
    assert grid_ids(signed_in.get(url, {"split": "train", "label": "normal"}).content.decode()) == [
        normal.pk,
        failed.pk,
    ]
    assert "No image matches these filters." in signed_in.get(url, {"defect_type": "dent"}).content.decode()


def test_a_filter_value_that_is_not_understood_is_reported_not_silently_ignored(signed_in, product):
    ImageFactory(product=product)
    html = signed_in.get(f"/products/{product.pk}/images/", {"label": "shiny"}).content.decode()
    assert "Some filters were not understood" in html
    assert "Select a valid choice. shiny is not one of the available choices." in html


def test_large_sets_are_paginated(signed_in, product):
    for picture in distinct_part_pngs(60, size=32):
        ImageFactory(product=product, content=picture)
    url = f"/products/{product.pk}/images/"
    first = signed_in.get(url).content.decode()
    second = signed_in.get(url, {"page": 2}).content.decode()
    assert len(grid_ids(first)) == 48 and len(grid_ids(second)) == 12
    assert "Showing 1–48 of 60" in first and "Showing 49–60 of 60" in second
    assert 'rel="next"' in first
    assert len(grid_ids(signed_in.get(url, {"page_size": 96}).content.decode())) == 60


def test_bulk_label_change_with_a_defect_type(signed_in, product):
    first, second, untouched = ImageFactory.create_batch(3, product=product)
    response = signed_in.post(
        f"/products/{product.pk}/images/bulk/",
        {"action": "defect_type", "ids": [first.pk, second.pk], "defect_type": " scratch "},
        follow=True,
    )
    assert "Updated 2 images." in response.content.decode()
    assert set(Image.objects.filter(defect_type="scratch", label="defective").values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    untouched.refresh_from_db()
    assert untouched.label == "normal"


def test_bulk_split_label_and_exclude(signed_in, product):
    image = ImageFactory(product=product, label="defective", defect_type="bubble")
    url = f"/products/{product.pk}/images/bulk/"
    signed_in.post(url, {"action": "split", "ids": [image.pk], "split": "validation"})
    signed_in.post(url, {"action": "label", "ids": [image.pk], "label": "normal"})
    image.refresh_from_db()
    assert (image.split, image.label, image.defect_type) == ("validation", "normal", "")
    signed_in.post(url, {"action": "exclude", "ids": [image.pk]})
    image.refresh_from_db()
    assert image.split == "excluded"


def test_bulk_action_mistakes_are_explained(signed_in, product):
    image = ImageFactory(product=product)
    other = ImageFactory()
    url = f"/products/{product.pk}/images/bulk/"
    nothing = signed_in.post(url, {"action": "label", "label": "normal"}, follow=True).content.decode()
    assert "Select at least one image first." in nothing
    no_label = signed_in.post(url, {"action": "label", "ids": [image.pk]}, follow=True).content.decode()
    assert "Choose the label to give the selected images." in no_label
    foreign = signed_in.post(url, {"action": "split", "ids": [other.pk], "split": "test"}, follow=True).content.decode()
    assert f"These images do not belong to product {product.pk}: {other.pk}; nothing was changed." in foreign
    other.refresh_from_db()
    assert other.split == "train"


def test_bulk_delete_asks_for_confirmation_first(signed_in, product, private_media):
    keep, gone_one, gone_two = ImageFactory.create_batch(3, product=product)
    url = f"/products/{product.pk}/images/bulk/"
    question = signed_in.post(url, {"action": "delete", "ids": [gone_one.pk, gone_two.pk]})
    assert question.status_code == 200
    assert "Delete 2 images?" in question.content.decode()
    assert Image.objects.count() == 3
    done = signed_in.post(url, {"action": "delete", "ids": [gone_one.pk, gone_two.pk], "confirm": "on"}, follow=True)
    assert "Deleted 2 images." in done.content.decode()
    assert list(Image.objects.values_list("pk", flat=True)) == [keep.pk]


def test_bulk_delete_refuses_images_of_another_product(signed_in, product):
    other = ImageFactory()
    response = signed_in.post(
        f"/products/{product.pk}/images/bulk/", {"action": "delete", "ids": [other.pk], "confirm": "on"}, follow=True
    )
    assert "nothing was deleted" in response.content.decode()
    assert Image.objects.filter(pk=other.pk).exists()


def test_choosing_a_grid_image_as_reference_starts_alignment(signed_in, product, private_media):
    image = ImageFactory(product=product, original_name="good_001.png")
    response = signed_in.post(
        f"/products/{product.pk}/images/bulk/", {"action": "reference", "ids": [image.pk]}, follow=True
    )
    assert "good_001.png is now the reference image" in response.content.decode()
    product.refresh_from_db()
    assert product.reference_checksum == image.checksum
    assert Job.objects.filter(product=product, kind="registration").exists()


def test_only_one_image_can_become_the_reference(signed_in, product):
    first, second = ImageFactory.create_batch(2, product=product)
    response = signed_in.post(
        f"/products/{product.pk}/images/bulk/", {"action": "reference", "ids": [first.pk, second.pk]}, follow=True
    )
    assert "Select exactly one image to use as the reference image." in response.content.decode()


def test_uploading_without_javascript_stores_images_and_names_refused_files(signed_in, product, private_media):
    pictures = distinct_part_pngs(2)
    files = [
        SimpleUploadedFile("a.png", pictures[0], content_type="image/png"),
        SimpleUploadedFile("b.png", pictures[1], content_type="image/png"),
        SimpleUploadedFile("notes.png", b"not an image", content_type="image/png"),
    ]
    response = signed_in.post(
        f"/products/{product.pk}/images/upload/", {"files": files, "label": "normal", "split": "train"}, follow=True
    )
    html = response.content.decode()
    assert "2 stored, 0 already stored, 1 refused, 0 skipped." in html
    assert "notes.png:" in html
    assert Image.objects.filter(product=product).count() == 2


def test_uploading_a_zip_in_mvtec_layout_keeps_its_labels(signed_in, product, private_media):
    good, bad = distinct_part_pngs(2)
    archive = zip_bytes({"set/train/good/000.png": good, "set/test/scratch/000.png": bad})
    signed_in.post(
        f"/products/{product.pk}/images/upload/",
        {"files": [SimpleUploadedFile("set.zip", archive)], "label": "unknown", "split": "train"},
    )
    assert set(Image.objects.values_list("label", "split", "defect_type")) == {
        ("normal", "train", ""),
        ("defective", "test", "scratch"),
    }


def test_an_upload_with_no_files_or_a_bad_choice_is_explained(signed_in, product):
    url = f"/products/{product.pk}/images/upload/"
    empty = signed_in.post(url, {"label": "normal", "split": "train"}, follow=True).content.decode()
    assert "Images or zip archives: This field is required." in empty
    bad = signed_in.post(
        url,
        {
            "files": [SimpleUploadedFile("a.png", part_png())],
            "label": "normal",
            "split": "train",
            "defect_type": "dent",
        },
        follow=True,
    ).content.decode()
    assert "A defect type can only be given together with label=defective." in bad


def test_uploading_a_reference_image_file(signed_in, product, private_media):
    response = signed_in.post(
        f"/products/{product.pk}/reference/", {"file": SimpleUploadedFile("ref.png", part_png())}, follow=True
    )
    assert "Reference image set" in response.content.decode()
    product.refresh_from_db()
    assert product.reference_image
    refused = signed_in.post(
        f"/products/{product.pk}/reference/", {"file": SimpleUploadedFile("ref.png", b"garbage")}, follow=True
    )
    assert "ref.png:" in refused.content.decode()


def test_retrying_alignment_needs_a_reference_image(signed_in, product):
    response = signed_in.post(f"/products/{product.pk}/registration/", {"images": "failed"}, follow=True)
    assert "The product has no reference image yet" in response.content.decode()
    odd = signed_in.post(f"/products/{product.pk}/registration/", {"images": "some"}, follow=True)
    assert "Cannot align &#x27;some&#x27; images again" in odd.content.decode()


def test_every_form_control_on_the_dataset_page_has_a_label(signed_in, product):
    ImageFactory(product=product)
    html = signed_in.get(f"/products/{product.pk}/images/").content.decode()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), f"repeated ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
    for control in controls:
        if 'type="hidden"' in control:
            continue
        control_id = re.search(r'\bid="([^"]+)"', control)
        assert control_id, f"control without id: {control}"
        assert f'for="{control_id.group(1)}"' in html, f"no label for {control}"


def test_a_bulk_action_never_sends_the_browser_to_another_site(signed_in, product):
    image = ImageFactory(product=product)
    response = signed_in.post(
        f"/products/{product.pk}/images/bulk/",
        {"action": "split", "ids": [image.pk], "split": "test", "next": "//evil.example/"},
    )
    assert response.url == f"/products/{product.pk}/images/"


def test_the_page_costs_the_same_few_queries_however_many_images_a_product_has(signed_in, product):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for_first_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = signed_in.get(f"/products/{product.pk}/images/")
        assert response.status_code == 200
        return len(captured)

    pictures = distinct_part_pngs(150, size=16)
    for picture in pictures[:50]:
        ImageFactory(product=product, content=picture)
    small = queries_for_first_page()
    for picture in pictures[50:]:
        ImageFactory(product=product, content=picture)
    assert queries_for_first_page() == small <= 15
