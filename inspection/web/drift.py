"""Drift actions from the dashboard: check now, and send the recent passes behind a warning to review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from inspection.errors import ServiceError
from inspection.selectors.drift import drift_warning_list
from inspection.selectors.products import product_get
from inspection.services.drift import drift_check, drift_recent_passes_to_review


@login_required
@require_POST
def drift_check_now(request, product_id: int):
    product = product_get(product_id=product_id)
    warning = drift_check(product=product)
    if warning is None:
        messages.success(request, "Checked: the recent passes look like the good evaluation images.")
    else:
        messages.warning(request, f"Checked: drift (population stability index {warning.latest_psi:.2f}).")
    return redirect("dashboard-page", product_id=product.pk)


@login_required
@require_POST
def drift_send_to_review(request, product_id: int, warning_id: int):
    product = product_get(product_id=product_id)
    warning = get_object_or_404(drift_warning_list(product=product), pk=warning_id)
    try:
        added = drift_recent_passes_to_review(warning=warning, requested_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{added} recent pass{'es' if added != 1 else ''} added to the review queue."
            if added
            else "The recent passes are already in the review queue.",
        )
    return redirect("dashboard-page", product_id=product.pk)
