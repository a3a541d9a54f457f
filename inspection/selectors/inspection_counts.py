"""Counting a product's inspections per bucket (hour or local day), version and decision over any period.

Whole quarter hours already rolled up (InspectionCount, up to the product's
InspectionCountProgress) are read from there; the rest of the period, at its
start and its end, from the inspections themselves. The answer is the same
either way; the roll-up only makes long periods cheap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db.models import Count, IntegerField, QuerySet, Sum
from django.db.models.functions import Cast, ExtractMinute, TruncDay, TruncHour

from inspection.models import Inspection, InspectionCount, InspectionCountProgress, Product

SLOT = timedelta(minutes=15)


def slot_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def slot_ceil(moment: datetime) -> datetime:
    floor = slot_floor(moment)
    return floor if floor == moment else floor + SLOT


def inspections_per_slot(inspections: QuerySet[Inspection]) -> QuerySet:
    """Parts per (quarter hour, version, decision): rows of slot_hour, quarter (0-3), version_id, decision, parts."""
    quarter = Cast(ExtractMinute("inspected_at", tzinfo=UTC), IntegerField()) / 15
    return (
        inspections.annotate(slot_hour=TruncHour("inspected_at", tzinfo=UTC), quarter=quarter)
        .values("slot_hour", "quarter", "version_id", "decision")
        .annotate(parts=Count("id"))
        .order_by()
    )


def counted_until(*, product: Product) -> datetime | None:
    return InspectionCountProgress.objects.filter(product=product).values_list("counted_until", flat=True).first()


def counts_grouped(*, product: Product, start: datetime, end: datetime, bucket: str, zone) -> list[dict]:
    """Parts per (bucket start in `zone`, version_id, decision) inspected in [start, end).

    `bucket` is "hour" or "day" (days begin at midnight in `zone`).
    """
    truncate = TruncHour if bucket == "hour" else TruncDay
    middle_start, middle_end = slot_ceil(start), slot_floor(end)
    until = counted_until(product=product)
    if until is not None:
        middle_end = min(middle_end, until)
    raw_ranges = [(start, end)]
    groups = []
    if until is not None and middle_start < middle_end:
        raw_ranges = [(start, middle_start), (middle_end, end)]
        groups += list(
            InspectionCount.objects.filter(product=product, slot_start__gte=middle_start, slot_start__lt=middle_end)
            .annotate(bucket=truncate("slot_start", tzinfo=zone))
            .values("bucket", "version_id", "decision")
            .annotate(parts=Sum("parts"))
            .order_by()
        )
    for range_start, range_end in raw_ranges:
        if range_start >= range_end:
            continue
        groups += list(
            Inspection.objects.filter(product=product, inspected_at__gte=range_start, inspected_at__lt=range_end)
            .annotate(bucket=truncate("inspected_at", tzinfo=zone))
            .values("bucket", "version_id", "decision")
            .annotate(parts=Count("id"))
            .order_by()
        )
    return _merged(groups)


def _merged(groups: list[dict]) -> list[dict]:
    """One row per (bucket, version, decision), whichever source each part was counted from."""
    merged: dict = {}
    for group in groups:
        key = (int(group["bucket"].timestamp()), group["version_id"], group["decision"])
        if key in merged:
            merged[key]["parts"] += group["parts"]
        else:
            merged[key] = dict(group)
    return list(merged.values())
