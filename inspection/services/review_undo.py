"""Undoing a reviewer's last verdict: the item goes back to them, the data set image to what it was.

A verdict relabels (or adds) an image of the product's data set. Before it
does, `verdict_undo_state` notes what undoing needs: whether the picture was
already in the data set, and then its label, split and defect type, and which
labelled image the inspection pointed to. Undoing restores those (or deletes
the image the verdict added), and hands the item back to the reviewer,
claimed, to decide again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inspection.errors import Conflict
from inspection.models import Image, Inspection, ReviewItem
from inspection.selectors.review_verdicts import review_item_last_verdict
from inspection.services.images import image_delete


def verdict_undo_state(item: ReviewItem) -> dict:
    """What undoing the verdict about to be given to `item` will need to restore."""
    inspection = item.inspection
    existing = Image.objects.filter(product_id=item.product_id, checksum=inspection.checksum).first()
    state = {"image_existed": existing is not None, "labelled_image": inspection.labelled_image_id}
    if existing is not None:
        state.update(image=existing.pk, label=existing.label, split=existing.split, defect_type=existing.defect_type)
    return state


def review_item_undo(*, item: ReviewItem, user) -> ReviewItem:
    """Undo `item`'s verdict, which must be the user's last one on the product."""
    now = timezone.now()
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update(of=("self",)).select_related("inspection").get(pk=item.pk)
        if item.status != ReviewItem.Status.DECIDED:
            raise Conflict("This part has no verdict to undo.")
        if item.decided_by_id != user.pk:
            raise Conflict("Only the reviewer who gave a verdict can undo it.")
        last = review_item_last_verdict(product=item.product, user=user)
        if last is None or last.pk != item.pk:
            raise Conflict("Only your last verdict on this product can be undone.")
        state = item.undo_state
        image = Image.objects.filter(pk=item.resulting_image_id).first()
        if state.get("image_existed"):
            if image is not None:
                image.label, image.split, image.defect_type = state["label"], state["split"], state["defect_type"]
                image.save(update_fields=["label", "split", "defect_type"])
        elif image is not None:
            image_delete(image=image)
        Inspection.objects.filter(pk=item.inspection_id).update(labelled_image_id=state.get("labelled_image"))
        item.status = ReviewItem.Status.CLAIMED
        item.claimed_by, item.claimed_at = user, now
        item.claim_expires_at = now + settings.REVIEW_CLAIM_TIMEOUT
        item.decision, item.defect_type, item.note = "", "", ""
        item.decided_by, item.decided_at, item.resulting_image = None, None, None
        item.undo_state = {}
        item.save()
    return item
