"""A part marked normal joins the training images aligned; the reviewer is told when it cannot yet or may not."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import Image
from inspection.services.inspections import inspection_run
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, noise_pixels, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(user, private_media):
    product = ready_product(train=10, test_good=4, test_defective=4, name="Hook")
    activated_version(product, user=user)
    return product


def decide_normal(client, product, inspection) -> str:
    response = client.post(
        f"/products/{product.pk}/review/{inspection.review_item.pk}/decide/", {"decision": "normal"}, follow=True
    )
    return " ".join(response.content.decode().split())


def test_an_aligned_part_marked_normal_joins_the_training_images_at_once(client, user, product):
    client.force_login(user)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("odd.png", png_bytes(defective_pixels(61))))
    page = decide_normal(client, product, inspection)
    assert "odd.png marked normal; it joins the training images as a good part." in page
    image = Image.objects.get(product=product, checksum=inspection.checksum)
    assert (image.split, image.registration_status) == ("train", "registered")


def test_the_reviewer_is_told_when_a_part_that_could_not_be_aligned_is_marked_normal(client, user, product):
    client.force_login(user)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("noise.png", png_bytes(noise_pixels(size=96))))
    assert inspection.decision == "review" and not inspection.registered_file
    page = decide_normal(client, product, inspection)
    assert "noise.png marked normal, but it could not be aligned to the reference when inspected" in page
    assert "training leaves it out" in page
    image = Image.objects.get(product=product, checksum=inspection.checksum)
    assert image.registration_status != "registered"
