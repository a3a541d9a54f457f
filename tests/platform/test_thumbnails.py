"""Thumbnails are made once, on upload and on alignment, and go away with their image."""

from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from inspection.models import Image
from inspection.services.images import image_delete
from inspection.services.products import product_set_reference_image
from inspection.services.registration import registration_job_run
from inspection.services.uploads import image_upload
from tests.platform.factories import ProductFactory
from tests.synthetic_images import part_png, png_bytes


def large_png(width=900, height=600) -> bytes:
    rng = np.random.default_rng(0)
    pixels = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    return png_bytes(pixels)


@pytest.fixture
def product(db):
    return ProductFactory(registration_settings={"method": "ecc", "motion": "translation"})


def test_an_uploaded_image_gets_a_small_jpeg_thumbnail_once(api_client, product, private_media):
    response = api_client.post(
        f"/api/products/{product.pk}/images/", {"files": [SimpleUploadedFile("big.png", large_png())]},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 201
    image = Image.objects.get()
    thumbnail = PillowImage.open(Path(private_media) / image.thumbnail.name)
    assert thumbnail.format == "JPEG" and thumbnail.size == (256, 171)
    assert response.data["created"][0]["thumbnail"].endswith(".jpg")


def test_alignment_stores_a_thumbnail_of_the_aligned_copy_and_deleting_the_image_removes_both(
    product, private_media, django_capture_on_commit_callbacks
):
    files = [SimpleUploadedFile(f"part_{index}.png", part_png(shift=(index, 0))) for index in range(2)]
    image_upload(product=product, files=files, uploaded_by=None)
    job = product_set_reference_image(product=product, file=SimpleUploadedFile("reference.png", part_png()))
    registration_job_run(job_id=job.pk, worker="test:1")
    image = Image.objects.filter(registration_status="registered").first()
    assert image is not None and image.aligned_thumbnail
    stored = [Path(private_media) / image.thumbnail.name, Path(private_media) / image.aligned_thumbnail.name]
    assert all(path.is_file() for path in stored)
    assert PillowImage.open(stored[1]).format == "JPEG"

    with django_capture_on_commit_callbacks(execute=True):
        image_delete(image=image)
    assert not any(path.exists() for path in stored)
