"""Inspect page (upload parts, see results) and the inspection detail page (images, heatmap, decision)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from inspection.errors import ServiceError
from inspection.models import Inspection
from inspection.selectors.annotation_outlines import annotation_outlines
from inspection.selectors.inspections import inspection_get, inspection_passed_map_peaks
from inspection.selectors.model_versions import threshold_current
from inspection.selectors.products import product_get
from inspection.services.inspections import inspection_batch_start, inspection_run
from inspection.web.annotations import annotatable
from inspection.web.common import describe_setting, form_error_words, product_page_context
from inspection.web.forms import InspectForm
from inspection.web.partials import inspection_rows_context

# The colour scale of anomaly maps is calibrated on this many recent passed parts of the same version.
CALIBRATION_PARTS = 200
MIN_CALIBRATION_PARTS = 5
# Colour starts this far above the typical peak of a passed part, and is full at END_FACTOR times the start.
START_FACTOR = 1.5
END_FACTOR = 3.0


def heat_scale(inspection: Inspection) -> dict:
    """A fixed colour scale for the anomaly map, so that good parts do not glow.

    Versions trained with this platform record the typical map peak of their
    good evaluation images, and the scale is anchored there. For older
    versions it is calibrated from the parts they passed, as follows.

    Anomaly maps and image scores are on different scales for most methods,
    so the scale is anchored at what good parts look like: the typical
    (median) highest map value of the parts this version passed. Nothing is
    coloured below 1.5 times that level, full colour is reached at three
    times the start, and the same scale holds for every part the version
    inspects. The median ignores the odd defect that slipped through. Until
    the version has passed a few parts, the map is shown relative to its own
    highest value, and the page says so.
    """
    scale = inspection.anomaly_map_scale or 0.0
    trained_level = (inspection.version.metrics or {}).get("normal_map_peak") if inspection.version_id else None
    if trained_level:
        # Measured at training on the good evaluation images: fixed from the first part.
        return _fixed_scale(inspection, trained_level, "its good evaluation images")
    levels = []
    if inspection.version_id:
        levels = sorted(
            inspection_passed_map_peaks(
                product_id=inspection.product_id, version_id=inspection.version_id, limit=CALIBRATION_PARTS
            )
        )
    if len(levels) >= MIN_CALIBRATION_PARTS:
        middle = len(levels) // 2
        typical = levels[middle] if len(levels) % 2 else (levels[middle - 1] + levels[middle]) / 2
        if typical > 0:
            return _fixed_scale(inspection, typical, f"the {len(levels)} most recent parts it passed")
    return {
        "fixed": False,
        "start": scale * 0.5,
        "end": scale,
        "note": "Relative to this part's own highest value: the version has not passed enough parts yet "
        "for a fixed scale, so even a good part shows colour here.",
    }


def _fixed_scale(inspection: Inspection, typical_peak: float, measured_on: str) -> dict:
    start = START_FACTOR * typical_peak
    return {
        "fixed": True,
        "start": start,
        "end": END_FACTOR * start,
        "note": f"Fixed scale of version {inspection.version.number}: no colour below 1.5 times the "
        f"typical peak of {measured_on}.",
    }


def _review_item(inspection: Inspection):
    return inspection.shared_review_item


def _region_outlines(inspection: Inspection, image) -> dict | None:
    """The defect regions drawn on the part's data set image, to show over its anomaly map."""
    if not (inspection.anomaly_map and inspection.registered_file):
        return None
    outlines = annotation_outlines(image=image)
    if outlines is not None:
        # Masks drawn after the product's images were aligned again may sit
        # elsewhere than in the frame this model aligned the part to.
        version = inspection.version
        outlines["same_frame"] = version is None or outlines["registration_revision"] == version.registration_revision
    return outlines


def inspection_context(inspection: Inspection) -> dict:
    """What the inspection detail partial shows (also used by the review page)."""
    labelled = inspection.labelled_image
    return {
        "inspection": inspection,
        "heat": heat_scale(inspection) if inspection.anomaly_map else None,
        "setting_description": describe_setting(inspection.threshold_setting),
        "review_item": _review_item(inspection),
        # The part as an image of the data set (after review), where its defect regions are drawn.
        "annotate_image": labelled if annotatable(labelled) else None,
        "outlines": _region_outlines(inspection, labelled) if labelled is not None else None,
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
        **inspection_rows_context(product),
    }
    return render(request, "inspect.html", context)
