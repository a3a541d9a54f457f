"""Server-rendered pages. Each view reads through a selector or changes data through a service.

Refusals from a service (ServiceError) are shown on the page in the service's
own words; nothing here talks to the engine.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from inspection.errors import ServiceError
from inspection.selectors.images import image_defect_type_names, image_find, image_list_by_ids
from inspection.selectors.jobs import job_latest
from inspection.selectors.products import product_get, product_overview_list
from inspection.services.images import image_bulk_update, image_delete
from inspection.services.products import product_create, product_set_reference_image
from inspection.services.registration import registration_start
from inspection.services.uploads import image_upload
from inspection.web.common import describe_setting, form_error_words, product_page_context, safe_next
from inspection.web.dataset_grid import image_grid_context
from inspection.web.forms import BulkActionForm, ProductCreateForm, ReferenceUploadForm, UploadForm

# --- Products -------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def product_list_page(request):
    form = ProductCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = product_create(created_by=request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Product {product.name} created. Upload its images below.")
            return redirect("dataset-page", product_id=product.pk)
    products = product_overview_list()
    for product in products:
        product.operating_point = describe_setting(product.current_setting)
    status = 400 if form.errors else 200
    return render(request, "products.html", {"products": products, "form": form}, status=status)


# --- Dataset curation -----------------------------------------------------


@login_required
def dataset_page(request, product_id: int):
    product = product_get(product_id=product_id)
    context = {
        **product_page_context(product, "dataset"),
        **image_grid_context(request, product),
        "bulk_form": BulkActionForm(),
        "upload_form": UploadForm(auto_id="upload_%s"),
        "reference_form": ReferenceUploadForm(auto_id="reference_%s"),
        # Defect types already used in the product, offered while typing.
        "defect_types": image_defect_type_names(product=product),
        "last_registration": job_latest(product_id=product.pk, kind="registration"),
        "upload_max_files": _upload_batch_size(),
    }
    return render(request, "dataset.html", context)


def _upload_batch_size() -> int:
    from django.conf import settings

    # The browser sends files in batches below the server's per-request limit.
    return max(1, min(100, settings.DATA_UPLOAD_MAX_NUMBER_FILES))


@login_required
@require_POST
def dataset_bulk_action(request, product_id: int):
    product = product_get(product_id=product_id)
    back = safe_next(request, reverse("dataset-page", args=[product.pk]))
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        for error in form_error_words(form):
            messages.error(request, error)
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["ids"]
    try:
        if action == "delete":
            images = image_list_by_ids(product=product, image_ids=ids)
            missing = sorted(set(ids) - {image.pk for image in images})
            if missing:
                raise ServiceError(
                    f"These images do not belong to {product.name}: {', '.join(map(str, missing))}; nothing was deleted."
                )
            if not form.cleaned_data["confirm"]:
                return render(
                    request,
                    "dataset_delete_confirm.html",
                    {**product_page_context(product, "dataset"), "images": images, "ids": ids, "next": back},
                )
            for image in images:
                image_delete(image=image)
            messages.success(request, f"Deleted {len(images)} image{'s' if len(images) != 1 else ''}.")
        elif action == "reference":
            image = image_find(product=product, image_id=ids[0])
            if image is None:
                raise ServiceError(f"Image {ids[0]} does not belong to {product.name}.")
            job = product_set_reference_image(product=product, image=image, set_by=request.user)
            messages.success(
                request,
                f"{image.original_name} is now the reference image; every image is being aligned to it again"
                + (f" (job {job.pk})." if job else "."),
            )
        else:
            updated = image_bulk_update(product=product, image_ids=ids, data=form.changes())
            messages.success(request, f"Updated {updated} image{'s' if updated != 1 else ''}.")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect(back)


@login_required
@require_POST
def dataset_upload(request, product_id: int):
    """Upload without JavaScript (the page's script uses the API instead, for a progress bar)."""
    product = product_get(product_id=product_id)
    form = UploadForm(request.POST, request.FILES)
    files = request.FILES.getlist("files")
    if not form.is_valid():
        for error in form_error_words(form):
            messages.error(request, error)
        return redirect("dataset-page", product_id=product.pk)
    data = form.cleaned_data
    try:
        report = image_upload(
            product=product,
            files=files,
            uploaded_by=request.user,
            label=data["label"],
            split=data["split"],
            defect_type=data["defect_type"].strip(),
        )
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("dataset-page", product_id=product.pk)
    summary = (
        f"{len(report.created)} stored, {len(report.duplicates)} already stored, "
        f"{len(report.invalid)} refused, {len(report.skipped)} skipped."
    )
    (messages.success if report.created else messages.warning)(request, summary)
    for refused in report.invalid[:20]:
        messages.error(request, f"{refused['name']}: {refused['reason']}")
    return redirect("dataset-page", product_id=product.pk)


@login_required
@require_POST
def dataset_reference_upload(request, product_id: int):
    product = product_get(product_id=product_id)
    form = ReferenceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form_error_words(form):
            messages.error(request, error)
        return redirect("dataset-page", product_id=product.pk)
    try:
        product_set_reference_image(product=product, file=form.cleaned_data["file"], set_by=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Reference image set; every image is being aligned to it again.")
    return redirect("dataset-page", product_id=product.pk)


@login_required
@require_POST
def dataset_registration_retry(request, product_id: int):
    product = product_get(product_id=product_id)
    scope = request.POST.get("images", "failed")
    if scope not in ("failed", "all"):
        messages.error(request, f"Cannot align {scope!r} images again; choose the failed ones or all.")
        return redirect("dataset-page", product_id=product.pk)
    job = registration_start(product=product, started_by=request.user, reset=scope)
    if job is None:
        messages.error(request, "The product has no reference image yet; choose one first.")
    else:
        messages.success(request, "Aligning the images again.")
    return redirect("dataset-page", product_id=product.pk)
