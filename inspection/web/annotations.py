"""The annotation editor: draw defect regions over a registered image, in the browser.

The page itself only frames the editor; everything it draws, loads and saves
goes through the annotation and defect-type API (annotate.js), so the page and
scripts share one set of rules about masks and revisions.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from inspection.models import Image
from inspection.selectors.images import image_aligned_neighbours, image_get
from inspection.selectors.jobs import job_latest
from inspection.selectors.products import product_get
from inspection.web.common import product_page_context


def annotatable(image: Image | None) -> bool:
    """Regions live in the registered frame, so only an aligned image can be annotated."""
    return bool(
        image is not None and image.registration_status == Image.RegistrationStatus.REGISTERED and image.aligned_file
    )


def _not_annotatable_reason(image: Image) -> str:
    if image.registration_status == Image.RegistrationStatus.FAILED:
        why = image.registration_failure_reason or "no reason was given"
        return (
            f"{image.original_name} could not be aligned to the reference image ({why}), so it cannot be annotated: "
            "defect regions are drawn on the aligned image. Align it again from the data set page."
        )
    return (
        f"{image.original_name} is not aligned to the reference image yet, so it cannot be annotated: defect regions "
        "are drawn on the aligned image. This page reloads once the alignment has finished."
    )


@login_required
@require_GET
def annotate_page(request, product_id: int, image_id: int):
    product = product_get(product_id=product_id)
    image = image_get(product=product, image_id=image_id)
    context = {**product_page_context(product, "dataset"), "image": image}
    if not annotatable(image):
        pending = image.registration_status == Image.RegistrationStatus.PENDING
        context.update(
            reason=_not_annotatable_reason(image),
            alignment_job=job_latest(product_id=product.pk, kind="registration") if pending else None,
        )
        # The editor cannot open: the same refusal the annotation API answers for this image.
        return render(request, "annotate.html", context, status=409)
    # The previous and next aligned images of the product, to annotate one after another.
    previous, following = image_aligned_neighbours(image=image)
    context.update(
        previous=previous,
        following=following,
        annotation_url=reverse("image-annotation", args=[product.pk, image.pk]),
        defect_types_url=reverse("defect-type-list", args=[product.pk]),
    )
    return render(request, "annotate.html", context)
