"""Undoing the last verdict: the item comes back to its reviewer and the data set image to what it was."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.errors import Conflict
from inspection.models import Image, ReviewItem
from inspection.services.inspections import inspection_run
from inspection.services.review_undo import review_item_undo
from inspection.services.reviews import review_item_decide
from tests.platform.factories import UserFactory
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(user, private_media):
    product = ready_product(train=10, test_good=4, test_defective=4)
    activated_version(product, user=user)
    return product


def queued(product, name, seed):
    inspection = inspection_run(product=product, file=SimpleUploadedFile(name, png_bytes(defective_pixels(seed))))
    return inspection.review_item


def test_undoing_a_verdict_that_added_an_image_removes_it_and_gives_the_item_back(product, user):
    item = queued(product, "bad.png", 21)
    images_before = Image.objects.filter(product=product).count()
    decided = review_item_decide(item=item, user=user, decision="normal")
    assert Image.objects.filter(product=product).count() == images_before + 1
    undone = review_item_undo(item=decided, user=user)
    assert undone.status == ReviewItem.Status.CLAIMED and undone.claimed_by == user
    assert undone.decision == "" and undone.resulting_image is None and undone.decided_at is None
    assert Image.objects.filter(product=product).count() == images_before
    undone.inspection.refresh_from_db()
    assert undone.inspection.labelled_image is None
    # Decided again, differently.
    again = review_item_decide(item=undone, user=user, decision="defective", defect_type="scratch")
    assert again.resulting_image.label == "defective"


def test_undoing_a_verdict_on_a_picture_already_in_the_data_set_restores_its_label_and_split(product, user):
    item = queued(product, "bad.png", 22)
    image = review_item_decide(item=item, user=user, decision="defective", defect_type="dent").resulting_image
    # The same picture inspected again, and its second verdict relabels the same image.
    Image.objects.filter(pk=image.pk).update(label="defective", split="test", defect_type="dent")
    second = ReviewItem.objects.create(
        product=product,
        inspection=item.inspection.__class__.objects.create(
            product=product,
            version=item.inspection.version,
            status="done",
            decision="review",
            score=1.0,
            original_name="bad-again.png",
            checksum=item.inspection.checksum,
            source_file=item.inspection.source_file.name,
        ),
    )
    relabelled = review_item_decide(item=second, user=user, decision="normal").resulting_image
    assert relabelled.pk == image.pk and (relabelled.label, relabelled.split) == ("normal", "train")
    review_item_undo(item=second, user=user)
    image.refresh_from_db()
    assert (image.label, image.split, image.defect_type) == ("defective", "test", "dent")


def test_only_the_reviewers_own_last_verdict_can_be_undone(product, user):
    first = review_item_decide(item=queued(product, "one.png", 23), user=user, decision="normal")
    second = review_item_decide(item=queued(product, "two.png", 24), user=user, decision="normal")
    with pytest.raises(Conflict, match="Only your last verdict"):
        review_item_undo(item=first, user=user)
    with pytest.raises(Conflict, match="Only the reviewer who gave a verdict"):
        review_item_undo(item=second, user=UserFactory())
    review_item_undo(item=second, user=user)
    with pytest.raises(Conflict, match="no verdict to undo"):
        review_item_undo(item=ReviewItem.objects.get(pk=second.pk), user=user)


def test_the_undo_endpoint_and_page_action(api_client, client, product, user):
    item = queued(product, "bad.png", 25)
    review_item_decide(item=item, user=user, decision="normal")
    response = api_client.post(f"/api/products/{product.pk}/review-items/{item.pk}/undo/")
    assert response.status_code == 200 and response.data["status"] == "claimed"
    assert api_client.post(f"/api/products/{product.pk}/review-items/{item.pk}/undo/").status_code == 409
    review_item_decide(item=ReviewItem.objects.get(pk=item.pk), user=user, decision="normal")
    client.force_login(user)
    page = client.get(f"/products/{product.pk}/review/?overview=1").content.decode()
    assert "Undo my last verdict" in page and "bad.png: normal" in page
    response = client.post(f"/products/{product.pk}/review/undo/")
    assert response.status_code == 302 and response.url == f"/products/{product.pk}/review/{item.pk}/"
    assert ReviewItem.objects.get(pk=item.pk).status == ReviewItem.Status.CLAIMED
