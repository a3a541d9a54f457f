"""Writes for the drift warning: recording what a check finds, and sending recent passes to review."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from inspection.errors import Conflict
from inspection.models import DriftWarning, Product, ReviewItem
from inspection.selectors.drift import drift_measure, products_with_active_version, recent_passes
from inspection.selectors.model_versions import threshold_current

logger = logging.getLogger(__name__)


def drift_check(*, product: Product, now: datetime | None = None) -> DriftWarning | None:
    """Measure the active version's drift and record it: open, update or clear its warning.

    Returns the open warning after the check, None when there is none.
    """
    now = now or timezone.now()
    measure = drift_measure(product=product)
    with transaction.atomic():
        open_warnings = DriftWarning.objects.select_for_update().filter(product=product, cleared_at__isnull=True)
        current = None
        for warning in open_warnings:
            # A warning of a version that is no longer active, or whose drift went away, is closed.
            if measure.drifting and warning.version_id == measure.version.pk:
                current = warning
            else:
                warning.cleared_at = now
                warning.save(update_fields=["cleared_at"])
        if not measure.drifting:
            return None
        statistic = measure.statistic
        if current is None:
            current = DriftWarning.objects.create(
                product=product,
                version=measure.version,
                started_at=now,
                limit=measure.limit,
                psi=statistic.psi,
                median_shift=statistic.median_shift,
                recent_count=statistic.recent_count,
                reference_count=statistic.reference_count,
                recent_median=statistic.recent_median,
                reference_median=statistic.reference_median,
                latest_psi=statistic.psi,
                latest_median_shift=statistic.median_shift,
                checked_at=now,
            )
            logger.warning(
                "Drift on %s version %s: PSI %.3f (limit %.3f)",
                product,
                measure.version.number,
                statistic.psi,
                measure.limit,
            )
        else:
            current.latest_psi = statistic.psi
            current.latest_median_shift = statistic.median_shift
            current.checked_at = now
            current.save(update_fields=["latest_psi", "latest_median_shift", "checked_at"])
        return current


def drift_check_all() -> int:
    """Check every product with an active version; returns how many are drifting."""
    drifting = 0
    for product in products_with_active_version():
        if drift_check(product=product) is not None:
            drifting += 1
    return drifting


def drift_recent_passes_to_review(*, warning: DriftWarning, requested_by=None) -> int:
    """Put the window of recent passes behind a warning into the review queue, to collect fresh good images.

    Parts already in the queue (or already reviewed) are not added twice.
    Returns how many parts were added.
    """
    product = warning.product
    if product.active_version_id != warning.version_id:
        raise Conflict(
            f"Version {warning.version.number} is no longer the active version; its recent passes "
            "would not teach the active one anything."
        )
    setting = threshold_current(product=product, version=warning.version)
    with transaction.atomic():
        locked = DriftWarning.objects.select_for_update().get(pk=warning.pk)
        # Read once: the window's ids and its parts must be the same rows.
        window = list(recent_passes(product=product, version=warning.version, window=locked.recent_count or 1))
        window_ids = [inspection.pk for inspection in window]
        queued = set(ReviewItem.objects.filter(inspection_id__in=window_ids).values_list("inspection_id", flat=True))
        candidates = [inspection for inspection in window if inspection.pk not in queued]
        ReviewItem.objects.bulk_create(
            ReviewItem(product=product, inspection=inspection, doubt=_doubt(inspection.score, setting))
            for inspection in candidates
        )
        locked.sent_to_review += len(candidates)
        locked.sent_at = timezone.now()
        locked.sent_by = requested_by
        locked.save(update_fields=["sent_to_review", "sent_at", "sent_by"])
    warning.refresh_from_db()
    return len(candidates)


def _doubt(score: float, setting) -> float:
    if setting is None:
        return 0.0
    return setting.doubt(score)
