"""Setting the order of the review queue's number keys from the review overview."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from inspection.selectors.annotations import defect_type_get
from inspection.selectors.products import product_get
from inspection.services.review_hotkeys import defect_type_move


@login_required
@require_POST
def defect_type_move_page(request, product_id: int, defect_type_id: int):
    product = product_get(product_id=product_id)
    defect_type = defect_type_get(product=product, defect_type_id=defect_type_id)
    step = -1 if request.POST.get("step") == "-1" else 1
    defect_type_move(defect_type=defect_type, step=step)
    return redirect(reverse("review-page", args=[product.pk]) + "?overview=1#hotkeys-title")
