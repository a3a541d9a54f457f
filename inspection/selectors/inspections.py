"""Reads about inspections."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from inspection.errors import InvalidInput
from inspection.models import Inspection, Product


def inspection_list(
    *, product: Product, decision: str | None = None, status: str | None = None, job_id: int | None = None
) -> QuerySet[Inspection]:
    """The product's inspections, newest first, optionally by decision, status or batch job."""
    inspections = (
        Inspection.objects.filter(product=product)
        .select_related("version", "nearest_image", "created_by", "review_item")
        .order_by("-created_at", "-id")
    )
    if decision:
        if decision not in Inspection.Decision.values:
            raise InvalidInput(f"decision must be one of {', '.join(Inspection.Decision.values)}, not {decision!r}.")
        inspections = inspections.filter(decision=decision)
    if status:
        if status not in Inspection.Status.values:
            raise InvalidInput(f"status must be one of {', '.join(Inspection.Status.values)}, not {status!r}.")
        inspections = inspections.filter(status=status)
    if job_id is not None:
        inspections = inspections.filter(job_id=job_id)
    return inspections


def inspection_get(*, product: Product, inspection_id: int) -> Inspection:
    return get_object_or_404(
        Inspection.objects.select_related(
            "version", "nearest_image", "threshold_setting", "created_by", "labelled_image", "review_item"
        ),
        product=product,
        pk=inspection_id,
    )


def inspection_passed_map_peaks(*, product_id: int, version_id: int, limit: int) -> list[float]:
    """The anomaly-map peaks of the `limit` parts of product `product_id` that version `version_id` passed last."""
    return list(
        Inspection.objects.filter(
            product_id=product_id,
            version_id=version_id,
            decision=Inspection.Decision.PASS,
            anomaly_map_scale__isnull=False,
        )
        .order_by("-created_at", "-id")
        .values_list("anomaly_map_scale", flat=True)[:limit]
    )
