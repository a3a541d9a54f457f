"""Reads about the review queue."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from inspection.models import Product, ReviewItem
from inspection.errors import InvalidInput

QUEUE_STATES = ("open", "claimed", "decided", "pending", "all")


def review_item_list(*, product: Product, state: str = "pending") -> QuerySet[ReviewItem]:
    """The product's review items, most doubtful first.

    `state`: "pending" (default: not decided yet, claimed or not), "open"
    (available to take now: unclaimed or claim expired), "claimed" (held by
    someone, claim still valid), "decided", or "all". Decided items are listed
    newest decision first.
    """
    if state not in QUEUE_STATES:
        raise InvalidInput(f"state must be one of {', '.join(QUEUE_STATES)}, not {state!r}.")
    now = timezone.now()
    items = ReviewItem.objects.filter(product=product).select_related(
        "inspection", "inspection__version", "inspection__nearest_image", "inspection__created_by",
        "claimed_by", "decided_by",
    )
    if state == "pending":
        items = items.exclude(status=ReviewItem.Status.DECIDED)
    elif state == "open":
        items = items.filter(Q(status=ReviewItem.Status.OPEN)
                             | Q(status=ReviewItem.Status.CLAIMED, claim_expires_at__lte=now))
    elif state == "claimed":
        items = items.filter(status=ReviewItem.Status.CLAIMED, claim_expires_at__gt=now)
    elif state == "decided":
        return items.filter(status=ReviewItem.Status.DECIDED).order_by("-decided_at", "-id")
    return items.order_by("doubt", "id")


def review_item_get(*, product: Product, item_id: int) -> ReviewItem:
    return get_object_or_404(
        ReviewItem.objects.select_related("inspection", "claimed_by", "decided_by"), product=product, pk=item_id
    )
