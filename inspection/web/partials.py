"""Live parts of the pages, rendered here and refreshed in the browser by htmx.

A partial of something still running carries its own hx-get and hx-trigger, so
the page asks again a second later; once it has finished the partial comes back
without them and the asking stops. A response that shows it finished (the last
one the page asks for) also names an event in its HX-Trigger header
("job-finished", "training-finished"), on which other parts of the page ask
for their own partials instead of the whole page being fetched again. When
the session has ended, the role middleware answers htmx with a redirect of
the whole page to the sign-in form (permissions.sign_in_response).
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from inspection.errors import ServiceError
from inspection.models import Inspection, Job, ModelVersion
from inspection.selectors.inspections import inspection_list
from inspection.selectors.jobs import job_get
from inspection.selectors.model_versions import model_version_get, model_version_list
from inspection.selectors.pixel_evaluation import (
    pixel_evaluation_active_job,
    pixel_evaluation_summary,
)
from inspection.selectors.products import product_get
from inspection.services.jobs import job_cancel
from inspection.services.model_exports import model_export_state
from inspection.services.model_versions import model_version_cancel
from inspection.web.dataset_grid import image_grid_context

RECENT_INSPECTIONS = 30
# Versions the training page lists, and its live history partial with it.
HISTORY_VERSIONS = 100


def _with_event(response, name: str, detail: dict):
    response["HX-Trigger"] = json.dumps({name: detail})
    return response


def _title(request) -> str:
    # The page names the job ("Alignment", "Inspecting 4 images"); the name travels with each request.
    return (request.GET.get("title") or "")[:100]


# --- Any background job ----------------------------------------------------


def _job_response(request, job: Job, *, cancel_error: str = ""):
    response = render(
        request, "partials/job.html", {"job": job, "title": _title(request), "cancel_error": cancel_error}
    )
    if job.is_finished:
        _with_event(response, "job-finished", {"id": job.pk, "kind": job.kind, "status": job.status})
    return response


@login_required
@require_GET
def job_live(request, job_id: int):
    return _job_response(request, job_get(job_id=job_id))


@login_required
@require_POST
def job_live_cancel(request, job_id: int):
    job = job_get(job_id=job_id)
    try:
        job_cancel(job=job)
    except ServiceError as error:
        return _job_response(request, job_get(job_id=job_id), cancel_error=error.message)
    return _job_response(request, job_get(job_id=job_id))


# --- Training -----------------------------------------------------------------


def _training_response(request, product, version: ModelVersion, *, cancel_error: str = ""):
    context = {"product": product, "version": version, "cancel_error": cancel_error}
    response = render(request, "partials/training_progress.html", context)
    if version.status not in ModelVersion.ACTIVE_STATUSES:
        _with_event(response, "training-finished", {"version": version.pk, "status": version.status})
    return response


@login_required
@require_GET
def training_live(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    return _training_response(request, product, model_version_get(product=product, version_id=version_id))


@login_required
@require_POST
def training_live_cancel(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    try:
        version = model_version_cancel(version=version)
    except ServiceError as error:
        return _training_response(request, product, version, cancel_error=error.message)
    # Read again with its job and author, as the partial shows them.
    return _training_response(request, product, model_version_get(product=product, version_id=version.pk))


@login_required
@require_GET
def training_history_live(request, product_id: int):
    product = product_get(product_id=product_id)
    versions = list(model_version_list(product=product)[:HISTORY_VERSIONS])
    return render(request, "partials/version_history.html", {"product": product, "versions": versions})


# --- Data set -----------------------------------------------------------------------


@login_required
@require_GET
def dataset_grid_live(request, product_id: int):
    """The image grid as the page's filters ask for it, with the counts of the page head and alignment panel."""
    product = product_get(product_id=product_id)
    return render(
        request, "partials/image_grid_live.html", {"product": product, **image_grid_context(request, product)}
    )


# --- Inspection results ---------------------------------------------------------


def inspection_rows_context(product) -> dict:
    """The latest inspections and whether a worker still owes one of them an answer."""
    recent = list(inspection_list(product=product)[:RECENT_INSPECTIONS])
    return {
        "product": product,
        "recent": recent,
        "waiting": any(inspection.status == Inspection.Status.PENDING for inspection in recent),
    }


@login_required
@require_GET
def inspection_rows_live(request, product_id: int):
    product = product_get(product_id=product_id)
    return render(request, "partials/inspection_rows.html", inspection_rows_context(product))


# --- Pixel evaluation -------------------------------------------------------------


@login_required
@require_GET
def pixel_evaluation_live(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    version = model_version_get(product=product, version_id=version_id)
    context = {
        "product": product,
        "version": version,
        "pixel": pixel_evaluation_summary(version=version),
        "pixel_job": pixel_evaluation_active_job(version=version),
    }
    return render(request, "partials/pixel_evaluation.html", context)


# --- Model export -------------------------------------------------------------------


def model_export_response(request, product, version: ModelVersion, *, export_error: str = ""):
    """The version page's export part: the Export button, the running export job, or the download."""
    context = {
        "product": product,
        "version": version,
        "export": model_export_state(version=version),
        "export_error": export_error,
    }
    return render(request, "partials/model_export.html", context)


@login_required
@require_GET
def model_export_live(request, product_id: int, version_id: int):
    product = product_get(product_id=product_id)
    return model_export_response(request, product, model_version_get(product=product, version_id=version_id))
