"""The review queue: people confirm or correct doubtful and rejected inspections.

A reviewer claims an item (or the most doubtful open one) before deciding,
so that two reviewers do not work on the same part; a claim lapses after
REVIEW_CLAIM_TIMEOUT and the item is then open to anyone. Deciding an item
that is open, or claimed by oneself, also works in one step.

A decision turns the inspected part into a labelled image of the product:
"defective" (with a defect type) goes to the test split, where the next
training evaluates on it; "normal" goes to the train split (or to test with
add_to_training=false). When the product's data set already holds the same
picture (same SHA-256), that image is relabelled instead. The aligned copy is
taken from the inspection when the product's reference is still the one the
model was trained with; otherwise the image is aligned by a registration job.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inspection.errors import Conflict, InvalidInput
from inspection.models import Image, Inspection, Product, ReviewItem
from inspection.services.images import image_update
from inspection.services.registration import registration_start
from inspection.services.review_undo import verdict_undo_state


def _available(now):
    return Q(status=ReviewItem.Status.OPEN) | Q(status=ReviewItem.Status.CLAIMED, claim_expires_at__lte=now)


def review_item_claim(*, item: ReviewItem, user) -> ReviewItem:
    """Reserve the item for `user` until the claim expires; Conflict if someone else holds it."""
    now = timezone.now()
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        _check_can_take(item, user, now)
        _claim(item, user, now)
    return item


def review_item_claim_next(*, product: Product, user) -> ReviewItem | None:
    """Claim the most doubtful item nobody holds (None when the queue is empty)."""
    now = timezone.now()
    with transaction.atomic():
        candidates = ReviewItem.objects.filter(_available(now), product=product).order_by("doubt", "id")
        # Two reviewers asking at once get different items (PostgreSQL skips the locked row).
        item = candidates.select_for_update(skip_locked=True).first()
        if item is None:
            return None
        _claim(item, user, now)
    return item


def review_item_release(*, item: ReviewItem, user) -> ReviewItem:
    """Give a claimed item back to the queue."""
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().get(pk=item.pk)
        if item.status != ReviewItem.Status.CLAIMED or item.claimed_by_id != user.pk:
            raise Conflict("You do not hold a claim on this review item.")
        item.status = ReviewItem.Status.OPEN
        item.claimed_by, item.claimed_at, item.claim_expires_at = None, None, None
        item.save(update_fields=["status", "claimed_by", "claimed_at", "claim_expires_at"])
    return item


def review_item_decide(
    *, item: ReviewItem, user, decision: str, defect_type: str = "", note: str = "", add_to_training: bool = True
) -> ReviewItem:
    """Record the verdict and make the part a labelled image of the product's data set."""
    if decision not in ReviewItem.Verdict.values:
        raise InvalidInput(f"decision must be one of {', '.join(ReviewItem.Verdict.values)}, not {decision!r}.")
    defect_type = (defect_type or "").strip()
    if decision == ReviewItem.Verdict.DEFECTIVE and not defect_type:
        raise InvalidInput('Confirming a defect needs its defect type (for example "scratch").')
    if decision == ReviewItem.Verdict.NORMAL and defect_type:
        raise InvalidInput("A part marked normal has no defect type.")
    now = timezone.now()
    with transaction.atomic():
        item = (
            ReviewItem.objects.select_for_update(of=("self",))
            .select_related("inspection", "inspection__version")
            .get(pk=item.pk)
        )
        _check_can_take(item, user, now)
        undo_state = verdict_undo_state(item)
        image = _labelled_image(item.inspection, decision, defect_type, add_to_training, user)
        item.status = ReviewItem.Status.DECIDED
        item.decision, item.defect_type, item.note = decision, defect_type, (note or "").strip()
        item.decided_by, item.decided_at, item.resulting_image = user, now, image
        item.undo_state = undo_state
        item.claimed_by = item.claimed_by or user
        item.claimed_at = item.claimed_at or now
        item.save()
        Inspection.objects.filter(pk=item.inspection_id).update(labelled_image=image)
    return item


def _check_can_take(item: ReviewItem, user, now) -> None:
    if item.status == ReviewItem.Status.DECIDED:
        who = item.decided_by.get_username() if item.decided_by else "someone"
        raise Conflict(f"This item was already decided ({item.decision}) by {who}.")
    if (
        item.status == ReviewItem.Status.CLAIMED
        and item.claimed_by_id != user.pk
        and item.claim_expires_at
        and item.claim_expires_at > now
    ):
        who = item.claimed_by.get_username() if item.claimed_by else "another reviewer"
        raise Conflict(
            f"This item is claimed by {who} until {item.claim_expires_at:%H:%M:%S %Z}.",
            details={"claimed_by": who, "claim_expires_at": item.claim_expires_at.isoformat()},
        )


def _claim(item: ReviewItem, user, now) -> None:
    item.status = ReviewItem.Status.CLAIMED
    item.claimed_by, item.claimed_at = user, now
    item.claim_expires_at = now + settings.REVIEW_CLAIM_TIMEOUT
    item.save(update_fields=["status", "claimed_by", "claimed_at", "claim_expires_at"])


def _labelled_image(inspection: Inspection, decision: str, defect_type: str, add_to_training: bool, user) -> Image:
    label = Image.Label.DEFECTIVE if decision == ReviewItem.Verdict.DEFECTIVE else Image.Label.NORMAL
    split = Image.Split.TRAIN if label == Image.Label.NORMAL and add_to_training else Image.Split.TEST
    product = Product.objects.get(pk=inspection.product_id)
    existing = Image.objects.filter(product=product, checksum=inspection.checksum).first()
    if existing is not None:
        changes = {"label": label, "split": split, "defect_type": defect_type if label == Image.Label.DEFECTIVE else ""}
        return image_update(image=existing, data=changes)
    from inspection.services.uploads import image_bytes_check

    with inspection.source_file.open("rb") as handle:
        data = handle.read()
    checked = image_bytes_check(data=data, name=inspection.original_name)
    image = Image(
        product=product,
        original_name=inspection.original_name,
        checksum=inspection.checksum,
        width=checked.width,
        height=checked.height,
        label=label,
        split=split,
        defect_type=defect_type if label == Image.Label.DEFECTIVE else "",
        uploaded_by=user,
    )
    image.file.save(f"{inspection.checksum}{checked.extension}", ContentFile(data), save=False)
    version = inspection.version
    same_alignment = (
        inspection.registered_file
        and version is not None
        and version.registration_revision == product.registration_revision
        and version.reference_checksum == product.reference_checksum
    )
    if same_alignment:
        with inspection.registered_file.open("rb") as handle:
            aligned = handle.read()
        image.aligned_file.save(f"{uuid.uuid4().hex[:8]}-{inspection.pk}.png", ContentFile(aligned), save=False)
        if inspection.registered_valid_mask:
            with inspection.registered_valid_mask.open("rb") as handle:
                valid_png = handle.read()
            image.aligned_valid_mask.save(
                f"{uuid.uuid4().hex[:8]}-{inspection.pk}-valid.png", ContentFile(valid_png), save=False
            )
        image.registration_status = Image.RegistrationStatus.REGISTERED
        image.registration_quality = inspection.registration_quality
    image.save()
    if not same_alignment:
        registration_start(product=product, started_by=user)
    return image
