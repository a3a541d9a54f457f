"""The production dashboard page of a product: how the line is doing over a shift, a day, a week or a month."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inspection.errors import InvalidInput
from inspection.selectors.dashboard import production_dashboard
from inspection.selectors.drift import drift_measure, drift_warning_open
from inspection.selectors.inspection_history import time_zone_from
from inspection.selectors.products import product_get
from inspection.web.common import product_page_context


def duration_words(seconds: float | None) -> str:
    """A waiting time as people say it: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _change(now: float | None, before: float | None) -> float | None:
    """Difference in percentage points between two rates, None when either is unknown."""
    if now is None or before is None:
        return None
    return (now - before) * 100


@login_required
@require_GET
def dashboard_page(request, product_id: int):
    product = product_get(product_id=product_id)
    problem = ""
    try:
        zone = time_zone_from(request.GET.get("tz"))
        period_key = request.GET.get("period")
        figures = production_dashboard(product=product, period_key=period_key, zone=zone)
    except InvalidInput as error:
        problem = error.message
        figures = production_dashboard(product=product)
    totals, previous = figures["totals"], figures["previous"]
    changes = {
        f"{decision}_rate": _change(totals[f"{decision}_rate"], previous[f"{decision}_rate"])
        for decision in ("pass", "review", "reject")
    }
    chart = {
        "series": figures["series"],
        "activations": [
            {"time": row["time"], "version": row["version"]} for row in figures["activations"] if row["in_period"]
        ],
    }
    return render(
        request,
        "dashboard.html",
        {
            **product_page_context(product, "dashboard"),
            "figures": figures,
            "changes": changes,
            "chart": chart,
            "problem": problem,
            "backlog_age": duration_words(figures["backlog"]["oldest_age_seconds"]),
            "time_zone": request.GET.get("tz", ""),
            "drift": drift_measure(product=product),
            "warning": drift_warning_open(product=product),
        },
    )
