"""Rolling a product's inspections up into quarter-hour counts (InspectionCount) for the dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from inspection.models import Inspection, InspectionCount, InspectionCountProgress, Product
from inspection.selectors.drift import products_with_active_version
from inspection.selectors.inspection_counts import SLOT, inspections_per_slot, slot_floor

# Only quarter hours that ended this long ago are counted: an inspection's time is taken just before its
# transaction commits, so a slot that has just ended may still receive parts.
SETTLE = timedelta(minutes=5)
# At most this much of the past is counted per transaction, so the first roll-up of a long history
# proceeds in steps instead of one long lock.
STEP = timedelta(days=7)


def inspection_counts_roll_up(*, product: Product, now: datetime | None = None) -> int:
    """Count the product's inspections of every settled quarter hour not counted yet; returns rows written."""
    now = now or timezone.now()
    until = slot_floor(now - SETTLE)
    written = 0
    while True:
        with transaction.atomic():
            progress = InspectionCountProgress.objects.select_for_update().filter(product=product).first()
            if progress is None:
                first = Inspection.objects.filter(product=product).aggregate(first=Min("inspected_at"))["first"]
                begin = slot_floor(first) if first is not None else until
                progress = InspectionCountProgress.objects.create(product=product, counted_until=begin)
            begin = progress.counted_until
            if begin >= until:
                return written
            end = min(until, begin + STEP)
            rows = inspections_per_slot(
                Inspection.objects.filter(product=product, inspected_at__gte=begin, inspected_at__lt=end)
            )
            counts = [
                InspectionCount(
                    product=product,
                    slot_start=row["slot_hour"].astimezone(UTC) + row["quarter"] * SLOT,
                    version_id=row["version_id"],
                    decision=row["decision"],
                    parts=row["parts"],
                )
                for row in rows
            ]
            InspectionCount.objects.bulk_create(counts, batch_size=1000)
            written += len(counts)
            progress.counted_until = end
            progress.save(update_fields=["counted_until"])


def inspection_counts_roll_up_all() -> int:
    """Roll up every product with an active version (the ones whose dashboard is read)."""
    return sum(inspection_counts_roll_up(product=product) for product in products_with_active_version())
