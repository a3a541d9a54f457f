"""Pixels a warp brought in from outside the picture: kept as a mask beside each aligned copy, 0 in every map."""

import io
import re

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image as PillowImage

from inspection.engine.methods import create_method
from inspection.lib.mask_png import mask_encode, mask_read
from inspection.models import Image, ModelVersion, ModelVersionImage, ReviewItem
from inspection.services.inspections import inspection_run
from inspection.services.products import product_set_reference_image
from inspection.services.registration import registration_job_run, registration_start
from inspection.services.reviews import review_item_decide
from inspection.services.scoring import evaluation_scores_compute
from tests.platform.factories import ImageFactory, ProductFactory
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import SIZE, good_pixels, noise_pixels, part_pixels, part_png, png_bytes

pytestmark = pytest.mark.django_db


def _map_values(inspection) -> np.ndarray:
    with inspection.anomaly_map.open("rb") as handle:
        levels = np.asarray(PillowImage.open(io.BytesIO(handle.read())), dtype=np.float64)
    return levels / 65535.0 * inspection.anomaly_map_scale


def test_the_registration_job_keeps_where_each_aligned_copy_shows_its_own_pixels(
    private_media, django_capture_on_commit_callbacks
):
    product = ProductFactory(registration_settings={"method": "ecc", "motion": "translation"})
    moved = ImageFactory(product=product, content=part_png(shift=(6, 0)), original_name="moved.png")
    in_place = ImageFactory(product=product, content=part_png(), original_name="in_place.png")
    job = product_set_reference_image(product=product, file=SimpleUploadedFile("reference.png", part_png()))
    registration_job_run(job_id=job.pk, worker="test:1")
    moved.refresh_from_db(), in_place.refresh_from_db()
    assert moved.registration_status == in_place.registration_status == "registered"
    valid = mask_read(moved.aligned_valid_mask)
    assert valid.shape == (128, 128)
    # The part moved 6 px to the right: the reference's last 6 columns have no picture behind them.
    invalid_columns = np.flatnonzero(~valid.all(axis=0))
    assert 5 <= len(invalid_columns) <= 7 and invalid_columns.min() >= 120
    assert not in_place.aligned_valid_mask  # every pixel its own: nothing stored

    # Aligning again (new reference or settings) forgets the mask with the aligned copy.
    stored_name = moved.aligned_valid_mask.name
    with mock_dispatch(), django_capture_on_commit_callbacks(execute=True):
        registration_start(product=product, reset="all")
    moved.refresh_from_db()
    assert not moved.aligned_valid_mask and moved.registration_status == "pending"
    assert not moved.aligned_valid_mask.storage.exists(stored_name)


def mock_dispatch():
    from unittest import mock

    return mock.patch("inspection.services.jobs.job_dispatch")


def test_a_live_inspection_sets_the_map_to_zero_where_the_picture_showed_nothing_of_its_own(private_media, user):
    product = ready_product()
    activated_version(product)
    rng = np.random.default_rng(7)
    moved = np.clip(part_pixels(size=SIZE, shift=(5, 0)) + rng.normal(0, 1, (SIZE, SIZE)), 0, 255).astype(np.uint8)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("moved.png", png_bytes(moved)))
    assert inspection.decision and inspection.score is not None and inspection.registration_quality > 0.5
    valid = mask_read(inspection.registered_valid_mask)
    assert (~valid).any() and valid.mean() > 0.9
    values = _map_values(inspection)
    assert np.all(values[~valid] == 0)
    # The colour scale is the peak of what the map says about the part itself.
    assert inspection.anomaly_map_scale == pytest.approx(float(values[valid].max()), rel=1e-3)

    # Reviewed into the data set, the part keeps where its aligned copy shows its own pixels.
    item, _ = ReviewItem.objects.get_or_create(inspection=inspection, defaults={"product": product})
    decided = review_item_decide(item=item, user=user, decision="normal")
    assert np.array_equal(mask_read(decided.resulting_image.aligned_valid_mask), valid)


def test_a_picture_that_cannot_be_aligned_goes_to_review_with_its_reason_and_no_alignment_quality(
    private_media, signed_in, api_client
):
    product = ready_product()
    activated_version(product)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("sticker.png", png_bytes(noise_pixels())))
    assert inspection.decision == "review" and inspection.score is None
    assert inspection.reason.startswith("The part could not be aligned to the reference image: ")
    # Either aligned with its quality or refused with its reason, never both.
    assert inspection.registration_quality is None and not inspection.registered_file
    page = signed_in.get(reverse("inspection-page", args=[product.pk, inspection.pk])).content.decode()
    shown = re.search(r"<dd data-alignment>(.*?)</dd>", page).group(1)
    assert shown == "Not aligned (see the reason below)"
    assert "could not be aligned" in page
    body = api_client.get(f"/api/products/{product.pk}/inspections/{inspection.pk}/").json()
    assert body["decision"] == "review" and body["registration_quality"] is None and body["score"] is None


def test_evaluation_maps_and_the_normal_map_peaks_ignore_pixels_from_outside_the_picture(private_media):
    product = ProductFactory()
    detector = create_method("variation").fit(
        [good_pixels(index).astype(np.float32)[..., None] / 255 for index in range(8)]
    )
    # A good part whose last columns hold something no good part has, there only because they came from outside.
    pixels = good_pixels(300).astype(np.float32)[..., None] / 255
    pixels[:, -8:] = 1.0
    valid = np.ones((SIZE, SIZE), bool)
    valid[:, -8:] = False
    image = ImageFactory(
        product=product,
        label="normal",
        split="test",
        registration_status=Image.RegistrationStatus.REGISTERED,
        aligned_valid_mask=ContentFile(mask_encode(valid), name="valid.png"),
    )
    version = ModelVersion.objects.create(product=product, number=1, method="variation", status="trained")
    rows = [
        ModelVersionImage.objects.create(
            version=version, image=image, checksum=image.checksum, role="eval", label="normal", position=0
        )
    ]

    def compute(valid_masks):
        return evaluation_scores_compute(
            detector=detector,
            rows=rows,
            images=[pixels],
            valid_masks=valid_masks,
            check=lambda *_: None,
            version=version,
        )

    scores, peaks, collector = compute([mask_read(image.aligned_valid_mask)])
    unmasked_scores, unmasked_peaks, _ = compute([None])
    assert np.all(collector.normal_maps[0][:, -8:] == 0)
    assert peaks[0] < unmasked_peaks[0]
    # The score is the detector's, the same with or without the mask (as a live inspection scores it).
    assert scores == unmasked_scores
