"""The inspection history page: a product's inspected parts, filtered, sorted and paged, with a CSV download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inspection.errors import InvalidInput
from inspection.models import Inspection
from inspection.selectors.inspection_filters import ORDERINGS, REVIEW_OUTCOMES
from inspection.selectors.inspection_history import (
    LimitedCountPaginator,
    inspection_history,
    inspection_history_choices,
    review_outcome,
)
from inspection.selectors.products import product_get
from inspection.web.common import product_page_context

PAGE_SIZE = 50


@login_required
@require_GET
def history_page(request, product_id: int):
    product = product_get(product_id=product_id)
    problem = ""
    try:
        inspections = inspection_history(product=product, params=request.GET)
    except InvalidInput as error:
        # The filters stay as typed, with the reason, and nothing is listed.
        problem = error.message
        inspections = []
    page = LimitedCountPaginator(inspections, PAGE_SIZE).get_page(request.GET.get("page"))
    for inspection in page:
        # A missing review item raises an AttributeError subclass, so getattr gives None.
        item = getattr(inspection, "review_item", None)
        inspection.review_words = review_outcome(item.status if item else None, item.decision if item else None)
        inspection.review_defect_type = item.defect_type if item else ""
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "history.html",
        {
            **product_page_context(product, "history"),
            **inspection_history_choices(product=product),
            "page": page,
            "problem": problem,
            "filters": request.GET,
            "selected_decisions": request.GET.getlist("decision"),
            "decisions": Inspection.Decision.values,
            "review_outcomes": REVIEW_OUTCOMES,
            "orderings": ORDERINGS[:4],
            "query": query.urlencode(),
            "more_than": page.paginator.limit if page.paginator.count_is_lower_bound else None,
            # Elided so that a million inspections do not make twenty thousand page links.
            "page_numbers": list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
            "ellipsis": Paginator.ELLIPSIS,
        },
    )
