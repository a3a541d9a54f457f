"""The data set page's image grid: filters, one page of tiles, and which tiles carry an annotation.

Shared by the page and by its live partial, which the page asks for when
images were added or aligned.
"""

from __future__ import annotations

from django.core.paginator import Paginator

from inspection.errors import ServiceError
from inspection.selectors.annotations import annotation_current_revisions
from inspection.selectors.images import image_list
from inspection.web.forms import ImageFilterForm

DEFAULT_PAGE_SIZE = 48


def image_grid_context(request, product) -> dict:
    """The grid as the request's filters and page number ask for it."""
    filter_form = ImageFilterForm(request.GET or None, auto_id="filter_%s")
    filters, page_size, filter_error = {}, DEFAULT_PAGE_SIZE, ""
    if filter_form.is_bound:
        if filter_form.is_valid():
            filters = filter_form.filters()
            page_size = filter_form.cleaned_data.get("page_size") or page_size
        else:
            filter_error = "Some filters were not understood and are ignored: " + "; ".join(
                f"{filter_form.fields[name].label}: {' '.join(errors)}" for name, errors in filter_form.errors.items()
            )
    try:
        images = image_list(product=product, filters=filters)
    except ServiceError as error:
        filter_error, images = error.message, image_list(product=product)
    paginator = Paginator(images, page_size)
    page = paginator.get_page(request.GET.get("page"))
    # Which tiles already carry an annotation, in one query for the whole page.
    revisions = annotation_current_revisions(image_ids=[image.pk for image in page])
    for image in page:
        image.annotation_revision = revisions[image.pk]
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter_form": filter_form,
        "filter_error": filter_error,
        "filtered": any(filters.values()),
        "page": page,
        "query": query.urlencode(),
    }
