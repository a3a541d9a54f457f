"""Reads about verdicts given in the review queue."""

from __future__ import annotations

from inspection.models import Product, ReviewItem


def review_item_last_verdict(*, product: Product, user) -> ReviewItem | None:
    """The item this user decided last on this product, if its verdict can still be undone."""
    item = (
        ReviewItem.objects.filter(product=product, decided_by=user, status=ReviewItem.Status.DECIDED)
        .select_related("inspection")
        .order_by("-decided_at", "-id")
        .first()
    )
    return item if item is not None and item.undo_state else None
