"""The registration a product's good pictures choose, stored as its report and served by the API."""

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from inspection.models import Image, Job, Product
from inspection.services.products import product_set_reference_image
from inspection.services.registration import (
    registration_effective_settings,
    registration_job_run,
    registration_settings_check,
)
from tests.platform.factories import ImageFactory, ProductFactory
from tests.synthetic_images import noise_pixels, part_png, png_bytes, radial_part


def _aligned_product(settings, *, pictures=8, extra=()):
    product = ProductFactory(registration_settings=settings)
    for index in range(pictures):
        ImageFactory(product=product, content=part_png(shift=(index % 4 - 2, 1 - index % 3)))
    for content, label in extra:
        ImageFactory(product=product, content=content, label=label, split=Image.Split.TEST)
    job = product_set_reference_image(product=product, file=SimpleUploadedFile("reference.png", part_png()))
    registration_job_run(job_id=job.pk, worker="test:1")
    product.refresh_from_db()
    return product


def test_the_job_chooses_the_registration_on_the_good_training_pictures_and_stores_the_report(db, private_media):
    product = _aligned_product({}, extra=[(png_bytes(noise_pixels()), Image.Label.UNKNOWN)])
    report = product.registration_report
    assert report["mode"] == "auto" and report["revision"] == product.registration_revision
    assert [figure["method"] for figure in report["candidates"]] == ["none", "ecc", "orb+ecc"]
    assert report["chosen"] in ("none", "ecc", "orb+ecc") and report["why"]
    assert report["training_pictures"] == 8 and report["refused"] == []
    assert len(report["rotations"]) == len(report["shifts"]) == 8
    assert "calibrated on 8 good training pictures" in report["min_quality_source"]
    # Every picture is aligned with what was chosen; the noise picture is refused, with its reason and no quality.
    assert registration_effective_settings(product=product) == {
        key: value for key, value in report["settings"].items() if key != "reference_shape"
    }
    assert Image.objects.filter(product=product, registration_status="registered").count() == 8
    noise = Image.objects.get(product=product, label=Image.Label.UNKNOWN)
    assert noise.registration_status == "failed" and noise.registration_quality is None
    assert "something else entirely" in noise.registration_failure_reason


def test_a_fixed_method_is_kept_and_only_its_limits_are_calibrated(db, private_media):
    product = _aligned_product({"method": "ecc", "motion": "translation"})
    report = product.registration_report
    assert (report["mode"], report["chosen"]) == ("fixed", "ecc")
    assert [figure["method"] for figure in report["candidates"]] == ["ecc"]
    assert report["settings"]["min_quality"] != "auto"


def test_the_api_serves_the_report_the_refused_pictures_and_a_suggested_region(api_client, db, private_media):
    product = _aligned_product({}, extra=[(png_bytes(noise_pixels()), Image.Label.UNKNOWN)])
    response = api_client.get(f"/api/products/{product.pk}/registration/")
    assert response.status_code == 200
    body = response.json()
    assert body["report_is_current"] and body["report"]["chosen"] == product.registration_report["chosen"]
    assert body["counts"] == {"pending": 0, "registered": 8, "failed": 1}
    assert [row["reason"][:18] for row in body["refused_pictures"]] == ["too different from"]
    assert body["reference_size"] == [128, 128]
    # A textured plate filling the frame: no plain background to tell a part from, so the whole frame.
    assert body["suggested_roi"] == [0, 0, 128, 128]


def test_the_registration_report_needs_a_signed_in_user(anonymous_client, db):
    product = ProductFactory()
    assert anonymous_client.get(f"/api/products/{product.pk}/registration/").status_code in (401, 403)


def test_a_region_of_interest_outside_the_reference_is_refused_with_400_and_nothing_changes(
    api_client, db, private_media
):
    product = _aligned_product({})
    before = (product.registration_settings, product.registration_revision, product.registration_report)
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"registration_settings": {"roi": [100, 100, 64, 64]}}, format="json"
    )
    assert response.status_code == 400 and "does not fit inside the 128x128 reference" in response.json()["detail"]
    product.refresh_from_db()
    assert (product.registration_settings, product.registration_revision, product.registration_report) == before
    assert set(Image.objects.filter(product=product).values_list("registration_status", flat=True)) == {"registered"}


def test_an_unknown_registration_method_is_refused_with_the_choices(api_client, db):
    product = ProductFactory()
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"registration_settings": {"method": "magic"}}, format="json"
    )
    assert response.status_code == 400 and "auto" in response.json()["detail"]
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"registration_settings": {"max_rotation": 500}}, format="json"
    )
    assert response.status_code == 400 and "max_rotation" in response.json()["detail"]
    assert Product.objects.get(pk=product.pk).registration_settings == product.registration_settings


def test_without_a_saved_region_the_report_and_the_api_say_the_region_in_force_is_only_suggested(
    api_client, db, private_media
):
    product = _caps_product((96, 96))
    region = product.registration_report["region"]
    assert region["source"] == "suggested" and region["why"] and not region["whole_frame"]
    assert registration_effective_settings(product=product)["roi"] == region["roi"]
    aligned = Image.objects.filter(product=product, registration_status="registered").first()
    with aligned.aligned_file.open("rb") as handle:
        assert PillowImage.open(handle).size == tuple(region["roi"][2:])
    body = api_client.get(f"/api/products/{product.pk}/registration/").json()
    assert body["region"] == {**region, "confirmed": False}

    # Saved (here: the whole frame, a choice like any other), it is confirmed; the next alignment uses it.
    response = api_client.patch(
        f"/api/products/{product.pk}/", {"registration_settings": {"roi": [0, 0, 192, 192]}}, format="json"
    )
    assert response.status_code == 200
    body = api_client.get(f"/api/products/{product.pk}/registration/").json()
    assert body["region"]["source"] == "saved" and body["region"]["confirmed"]
    assert body["region"]["roi"] == [0, 0, 192, 192]


def test_accepting_the_suggested_region_in_force_saves_it_without_aligning_any_image_again(
    api_client, db, private_media
):
    product = _caps_product((96, 96), settings=registration_settings_check(registration_settings={}))
    region = product.registration_report["region"]
    assert region["source"] == "suggested"
    aligned_before = dict(Image.objects.filter(product=product).values_list("pk", "aligned_file"))
    jobs_before = Job.objects.filter(product=product).count()

    settings = {**product.registration_settings, "roi": region["roi"]}
    response = api_client.patch(f"/api/products/{product.pk}/", {"registration_settings": settings}, format="json")
    assert response.status_code == 200
    assert response.json()["registration_revision"] == product.registration_revision
    product.refresh_from_db()
    assert product.registration_settings["roi"] == region["roi"] and product.registration_report_is_current
    assert dict(Image.objects.filter(product=product).values_list("pk", "aligned_file")) == aligned_before
    assert Job.objects.filter(product=product).count() == jobs_before
    body = api_client.get(f"/api/products/{product.pk}/registration/").json()
    assert body["region"]["source"] == "saved" and body["region"]["confirmed"]
    assert body["region"]["roi"] == region["roi"] and body["revision"] == product.registration_revision

    # Any other region, or another setting beside it, aligns every image again.
    moved = {**settings, "roi": [region["roi"][0] + 1, *region["roi"][1:]]}
    response = api_client.patch(f"/api/products/{product.pk}/", {"registration_settings": moved}, format="json")
    assert response.json()["registration_revision"] == product.registration_revision + 1
    assert Job.objects.filter(product=product).count() == jobs_before + 1


def _caps_product(reference_centre, *, settings=None):
    product = ProductFactory(registration_settings=settings or {})
    rng = np.random.default_rng(0)
    for index in range(8):
        centre = (96 + rng.uniform(-3, 3), 96 + rng.uniform(-3, 3))
        ImageFactory(product=product, content=_png(radial_part(seed=index + 1, centre=centre)))
    job = product_set_reference_image(
        product=product, file=SimpleUploadedFile("reference.png", _png(radial_part(seed=0, centre=reference_centre)))
    )
    registration_job_run(job_id=job.pk, worker="test:1")
    product.refresh_from_db()
    return product


def _png(pixels):
    return png_bytes((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8))


def test_a_new_reference_brings_a_new_suggestion_when_no_region_was_saved(db, private_media):
    product = _caps_product((96, 96))
    before = product.registration_report["region"]
    assert before["source"] == "suggested" and not before["whole_frame"]
    # The cap sits 14 px further right on the new reference: the region follows it.
    job = product_set_reference_image(
        product=product, file=SimpleUploadedFile("reference.png", _png(radial_part(seed=0, centre=(110, 96))))
    )
    registration_job_run(job_id=job.pk, worker="test:1")
    product.refresh_from_db()
    after = product.registration_report["region"]
    assert after["source"] == "suggested" and abs(after["roi"][0] - before["roi"][0] - 14) <= 2
    assert after["roi"][1:] == before["roi"][1:] or abs(after["roi"][1] - before["roi"][1]) <= 2


def test_images_aligned_before_regions_were_suggested_keep_the_whole_frame_until_aligned_again(
    api_client, db, private_media
):
    product = _caps_product((96, 96))
    # As a report made before regions were suggested: no region, the whole frame in its settings.
    report = {**product.registration_report, "settings": {**product.registration_report["settings"], "roi": None}}
    report.pop("region")
    Product.objects.filter(pk=product.pk).update(registration_report=report)
    product.refresh_from_db()
    assert registration_effective_settings(product=product)["roi"] is None
    region = api_client.get(f"/api/products/{product.pk}/registration/").json()["region"]
    assert region["source"] == "whole frame" and "next alignment" in region["why"] and not region["confirmed"]
