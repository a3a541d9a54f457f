"""Training page: start a model version, follow its progress live, cancel it, and the history."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from inspection.errors import ServiceError
from inspection.models import ModelVersion
from inspection.selectors.images import image_training_counts
from inspection.selectors.model_versions import model_version_get, model_version_list
from inspection.selectors.products import product_get
from inspection.services.model_versions import (
    DEFAULT_METHOD,
    model_version_cancel,
    model_version_create,
    model_version_retrain,
)
from inspection.web.common import product_page_context, safe_next
from inspection.web.partials import HISTORY_VERSIONS
from inspection.web.training_forms import TrainingForm


@login_required
@require_http_methods(["GET", "POST"])
def training_page(request, product_id: int):
    product = product_get(product_id=product_id)
    form = TrainingForm(request.POST or None, initial={"method": DEFAULT_METHOD})
    if request.method == "POST" and form.is_valid():
        try:
            version = model_version_create(
                product=product, method=form.cleaned_data["method"], params=form.params(), created_by=request.user
            )
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Version {version.number} is queued for training.")
            return redirect("training-page", product_id=product.pk)
    versions = list(model_version_list(product=product)[:HISTORY_VERSIONS])
    context = {
        **product_page_context(product, "training"),
        "form": form,
        "versions": versions,
        "running": [version for version in versions if version.status in ModelVersion.ACTIVE_STATUSES],
        "data_set": _data_set_counts(product),
    }
    return render(request, "training.html", context, status=400 if form.errors else 200)


def _data_set_counts(product) -> dict:
    """How many images a training would use now, and why others would not be used."""
    return {**image_training_counts(product=product), "has_reference": bool(product.reference_image)}


@login_required
@require_POST
def training_cancel(request, product_id: int, version_id: int):
    """Cancel without JavaScript (with it, the progress partial posts to partials.training_live_cancel and stays)."""
    product = product_get(product_id=product_id)
    try:
        version = model_version_cancel(version=model_version_get(product=product, version_id=version_id))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Cancelling version {version.number}.")
    return redirect("training-page", product_id=product.pk)


@login_required
@require_POST
def retrain(request, product_id: int):
    """Train a new version on the corrected data set, with the active version's method and parameters."""
    product = product_get(product_id=product_id)
    try:
        version = model_version_retrain(product=product, created_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(safe_next(request, reverse("training-page", args=[product.pk])))
    messages.success(
        request, f"Version {version.number} is queued: {version.method} on {version.train_count} training images."
    )
    return redirect("training-page", product_id=product.pk)
