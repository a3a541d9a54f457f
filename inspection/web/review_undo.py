"""Undoing the reviewer's last verdict from the review pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from inspection.errors import ServiceError
from inspection.selectors.products import product_get
from inspection.selectors.review_verdicts import review_item_last_verdict
from inspection.services.review_undo import review_item_undo


@login_required
@require_POST
def review_undo(request, product_id: int):
    product = product_get(product_id=product_id)
    item = review_item_last_verdict(product=product, user=request.user)
    if item is None:
        messages.info(request, "You have no verdict on this product to undo.")
        return redirect(reverse("review-page", args=[product.pk]) + "?overview=1")
    try:
        item = review_item_undo(item=item, user=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(reverse("review-page", args=[product.pk]) + "?overview=1")
    messages.success(
        request, f"Verdict on {item.inspection.original_name} undone: its image is as it was; decide again."
    )
    return redirect("review-item", product_id=product.pk, item_id=item.pk)
