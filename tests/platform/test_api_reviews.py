"""The review queue through the API: ordering, claims, expiry, decisions that become labelled images."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from inspection.models import Image, ModelVersionImage, ReviewItem
from inspection.services.inspections import inspection_run
from inspection.services.thresholds import threshold_set
from tests.platform.factories import UserFactory
from tests.platform.fixtures import client_for
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, good_pixels, noise_pixels, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(user):
    product = ready_product(train=10, test_good=4, test_defective=4)
    activated_version(product, user=user)
    return product


def inspected(product, name, pixels):
    return inspection_run(product=product, file=SimpleUploadedFile(name, png_bytes(pixels)))


def queue_url(product, suffix=""):
    return f"/api/products/{product.pk}/review-items/{suffix}"


def test_the_queue_holds_doubtful_and_rejected_parts_most_doubtful_first(api_client, product):
    far = inspected(product, "big-defect.png", defective_pixels(11))
    unaligned = inspected(product, "noise.png", noise_pixels(size=96))
    passed = inspected(product, "good.png", good_pixels(400))
    assert (far.decision, unaligned.decision, passed.decision) == ("reject", "review", "pass")
    listing = api_client.get(queue_url(product))
    assert listing.status_code == 200
    assert [entry["inspection"]["id"] for entry in listing.data["results"]] == [unaligned.pk, far.pk]
    first = listing.data["results"][0]
    assert first["doubt"] == 0.0 and first["inspection"]["decision"] == "review"
    assert api_client.get(queue_url(product), {"state": "later"}).status_code == 400


def test_a_claimed_item_cannot_be_taken_or_decided_by_another_reviewer_until_the_claim_expires(
    api_client, product, user
):
    item = inspected(product, "bad.png", defective_pixels(12)).review_item
    claimed = api_client.post(queue_url(product, f"{item.pk}/claim/"))
    assert claimed.status_code == 200 and claimed.data["claimed_by"] == user.username
    other = client_for(UserFactory())
    refused = other.post(queue_url(product, f"{item.pk}/claim/"))
    assert refused.status_code == 409 and f"claimed by {user.username}" in refused.data["detail"]
    assert (
        other.post(queue_url(product, f"{item.pk}/decide/"), {"decision": "normal"}, format="json").status_code == 409
    )
    assert other.post(queue_url(product, "next/")).status_code == 204  # nothing else is open
    ReviewItem.objects.filter(pk=item.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    assert other.post(queue_url(product, "next/")).data["id"] == item.pk


def test_claiming_the_next_item_gives_two_reviewers_different_items(api_client, product):
    first = inspected(product, "bad1.png", defective_pixels(13)).review_item
    second = inspected(product, "bad2.png", defective_pixels(14)).review_item
    taken = {
        api_client.post(queue_url(product, "next/")).data["id"],
        client_for(UserFactory()).post(queue_url(product, "next/")).data["id"],
    }
    assert taken == {first.pk, second.pk}
    assert api_client.get(queue_url(product), {"state": "open"}).data["count"] == 0
    assert api_client.get(queue_url(product), {"state": "claimed"}).data["count"] == 2


def test_confirming_a_defect_adds_a_labelled_test_image_keeping_who_decided(api_client, product, user):
    inspection = inspected(product, "bad.png", defective_pixels(15))
    url = queue_url(product, f"{inspection.review_item.pk}/decide/")
    missing_type = api_client.post(url, {"decision": "defective"}, format="json")
    assert missing_type.status_code == 400 and "defect type" in missing_type.data["detail"]
    decided = api_client.post(url, {"decision": "defective", "defect_type": "scratch", "note": "deep"}, format="json")
    assert decided.status_code == 200, decided.data
    assert (decided.data["status"], decided.data["decided_by"], decided.data["decision"]) == (
        "decided",
        user.username,
        "defective",
    )
    image = Image.objects.get(pk=decided.data["resulting_image"])
    assert (image.label, image.split, image.defect_type, image.checksum) == (
        "defective",
        "test",
        "scratch",
        inspection.checksum,
    )
    # Aligned with the same reference the model used: ready for the next training without a registration job.
    assert image.registration_status == "registered" and image.aligned_file
    assert decided.data["inspection"]["labelled_image"] == image.pk
    again = api_client.post(url, {"decision": "normal"}, format="json")
    assert again.status_code == 409 and "already decided" in again.data["detail"]


def test_marking_a_part_normal_puts_it_in_the_training_split_or_the_test_split(api_client, product):
    for add_to_training, split in ((True, "train"), (False, "test")):
        inspection = inspected(product, f"doubt-{split}.png", defective_pixels(16 + add_to_training))
        decided = api_client.post(
            queue_url(product, f"{inspection.review_item.pk}/decide/"),
            {"decision": "normal", "add_to_training": add_to_training},
            format="json",
        )
        image = Image.objects.get(pk=decided.data["resulting_image"])
        assert (image.label, image.split, image.defect_type) == ("normal", split, "")


def test_deciding_on_a_picture_already_in_the_data_set_relabels_that_image(api_client, product):
    # An operating point that sends every part to review, so a known good picture lands in the queue.
    threshold_set(
        product=product, version=product.active_version, band_lower=0.0, band_upper=1e9, reason="everything to review"
    )
    existing = Image.objects.filter(product=product, label="normal", split="train").first()
    with existing.file.open("rb") as handle:
        inspection = inspection_run(product=product, file=SimpleUploadedFile("again.png", handle.read()))
    assert inspection.decision == "review"
    decided = api_client.post(
        queue_url(product, f"{inspection.review_item.pk}/decide/"),
        {"decision": "defective", "defect_type": "blob"},
        format="json",
    )
    assert decided.data["resulting_image"] == existing.pk
    existing.refresh_from_db()
    assert (existing.label, existing.split, existing.defect_type) == ("defective", "test", "blob")
    assert Image.objects.filter(product=product, checksum=existing.checksum).count() == 1


def test_a_released_claim_returns_the_item_to_the_queue(api_client, product):
    item = inspected(product, "bad.png", defective_pixels(18)).review_item
    api_client.post(queue_url(product, f"{item.pk}/claim/"))
    released = api_client.post(queue_url(product, f"{item.pk}/release/"))
    assert released.status_code == 200 and released.data["status"] == "open"
    assert api_client.post(queue_url(product, f"{item.pk}/release/")).status_code == 409


def test_review_and_model_endpoints_refuse_anonymous_requests(anonymous_client, product):
    item = inspected(product, "bad.png", defective_pixels(19)).review_item
    version = product.active_version
    for method, path in [
        ("get", queue_url(product)),
        ("post", queue_url(product, "next/")),
        ("post", queue_url(product, f"{item.pk}/claim/")),
        ("post", queue_url(product, f"{item.pk}/decide/")),
        ("get", f"/api/products/{product.pk}/model-versions/"),
        ("post", f"/api/products/{product.pk}/model-versions/"),
        ("post", f"/api/products/{product.pk}/retrain/"),
        ("get", f"/api/products/{product.pk}/thresholds/"),
        ("post", f"/api/products/{product.pk}/model-versions/{version.pk}/activate/"),
        ("get", f"/api/products/{product.pk}/model-versions/{version.pk}/operating-point/"),
        ("get", f"/api/products/{product.pk}/inspections/"),
        ("post", f"/api/products/{product.pk}/inspections/"),
    ]:
        assert getattr(anonymous_client, method)(path).status_code in (401, 403), path
    assert ReviewItem.objects.get(pk=item.pk).status == "open"
    assert ModelVersionImage.objects.filter(version=version).exists()
