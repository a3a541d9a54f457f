"""Reads about the review queue."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from inspection.errors import InvalidInput
from inspection.models import Product, ReviewItem

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
        "inspection",
        "inspection__version",
        "inspection__nearest_image",
        "inspection__created_by",
        "claimed_by",
        "decided_by",
    )
    if state == "pending":
        items = items.exclude(status=ReviewItem.Status.DECIDED)
    elif state == "open":
        items = items.filter(
            Q(status=ReviewItem.Status.OPEN) | Q(status=ReviewItem.Status.CLAIMED, claim_expires_at__lte=now)
        )
    elif state == "claimed":
        items = items.filter(status=ReviewItem.Status.CLAIMED, claim_expires_at__gt=now)
    elif state == "decided":
        return items.filter(status=ReviewItem.Status.DECIDED).order_by("-decided_at", "-id")
    return items.order_by("doubt", "id")


def review_pending_count(*, product: Product) -> int:
    """How many of the product's review items wait for a decision."""
    return ReviewItem.objects.filter(product=product).exclude(status=ReviewItem.Status.DECIDED).count()


def review_queue_counts(*, product: Product, user) -> dict[str, int]:
    """{pending: items not decided yet, held_by_others: those of them someone other than `user` holds now}."""
    held_by_others = Q(status=ReviewItem.Status.CLAIMED, claim_expires_at__gt=timezone.now()) & ~Q(claimed_by=user)
    return (
        ReviewItem.objects.filter(product=product)
        .exclude(status=ReviewItem.Status.DECIDED)
        .aggregate(pending=Count("id"), held_by_others=Count("id", filter=held_by_others))
    )


def review_item_held_by(*, product: Product, user) -> ReviewItem | None:
    """The product's review item `user` holds now (claimed, claim not expired), if any."""
    return review_item_list(product=product, state="claimed").filter(claimed_by=user).first()


def review_item_get(*, product: Product, item_id: int) -> ReviewItem:
    return get_object_or_404(
        ReviewItem.objects.select_related("inspection", "claimed_by", "decided_by"), product=product, pk=item_id
    )
