"""Inspect page (upload parts, see results) and the inspection detail page (images, heatmap, decision)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from inspection.models import Inspection, ReviewItem
from inspection.selectors.inspections import inspection_get, inspection_list
from inspection.selectors.model_versions import threshold_current
from inspection.selectors.products import product_get
from inspection.services.errors import ServiceError
from inspection.services.inspections import inspection_batch_start, inspection_run
from inspection.web.common import describe_setting, form_error_words, product_page_context
from inspection.web.forms import InspectForm

# The colour scale of anomaly maps is calibrated on this many recent passed parts of the same version.
CALIBRATION_PARTS = 200
MIN_CALIBRATION_PARTS = 5
CALIBRATION_QUANTILE = 0.95


def heat_scale(inspection: Inspection) -> dict:
    """A fixed colour scale for the anomaly map, so that good parts do not glow.

    The scale starts at the map level that 95 % of the parts this version
    passed stay below (their highest map value); below it nothing is coloured,
    and full colour is reached at twice that level. The same scale holds for
    every part inspected by the version. Until enough parts were passed, the
    map is shown relative to its own highest value, and the page says so.
    """
    scale = inspection.anomaly_map_scale or 0.0
    levels = []
    if inspection.version_id:
        levels = sorted(
            value
            for value in inspection_list(product=inspection.product, decision=Inspection.Decision.PASS)
            .filter(version_id=inspection.version_id, anomaly_map_scale__isnull=False)
            .values_list("anomaly_map_scale", flat=True)[:CALIBRATION_PARTS]
        )
    if len(levels) >= MIN_CALIBRATION_PARTS:
        start = levels[min(len(levels) - 1, int(CALIBRATION_QUANTILE * len(levels)))]
        if start > 0:
            return {
                "fixed": True,
                "start": start,
                "end": 2 * start,
                "note": f"Fixed scale of version {inspection.version.number}: no colour below the level that 95 % "
                f"of {len(levels)} passed parts stay under.",
            }
    return {
        "fixed": False,
        "start": scale * 0.5,
        "end": scale,
        "note": "Relative to this part's own highest value: the version has not passed enough parts yet "
        "for a fixed scale, so even a good part shows colour here.",
    }


def _review_item(inspection: Inspection):
    try:
        return inspection.review_item
    except ReviewItem.DoesNotExist:
        return None


def inspection_context(inspection: Inspection) -> dict:
    """What the inspection detail partial shows (also used by the review page)."""
    return {
        "inspection": inspection,
        "heat": heat_scale(inspection) if inspection.anomaly_map else None,
        "setting_description": describe_setting(inspection.threshold_setting),
        "review_item": _review_item(inspection),
    }


@login_required
@require_GET
def inspection_page(request, product_id: int, inspection_id: int):
    product = product_get(product_id=product_id)
    inspection = inspection_get(product=product, inspection_id=inspection_id)
    return render(
        request, "inspection.html", {**product_page_context(product, "inspect"), **inspection_context(inspection)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def inspect_page(request, product_id: int):
    """Upload parts and see their results; with JavaScript the page talks to the API and stays put."""
    product = product_get(product_id=product_id)
    form = InspectForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        files = request.FILES.getlist("files")
        if not form.is_valid():
            for error in form_error_words(form):
                messages.error(request, error)
        else:
            try:
                if len(files) == 1:
                    inspection = inspection_run(product=product, file=files[0], created_by=request.user)
                    return redirect("inspection-page", product_id=product.pk, inspection_id=inspection.pk)
                job, pending = inspection_batch_start(product=product, files=files, created_by=request.user)
                messages.success(request, f"{len(pending)} images are being inspected (job {job.pk}).")
            except ServiceError as error:
                messages.error(request, error.message)
        return redirect("inspect-page", product_id=product.pk)
    version = product.active_version
    setting = threshold_current(product=product)
    context = {
        **product_page_context(product, "inspect"),
        "form": form,
        "version": version,
        "setting_description": describe_setting(setting),
        "ready": version is not None and setting is not None and version.is_usable,
        "recent": list(inspection_list(product=product)[:30]),
    }
    return render(request, "inspect.html", context)
