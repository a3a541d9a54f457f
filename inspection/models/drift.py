"""Drift warnings: times when the scores of recent good parts stopped looking like the good evaluation images'."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .products import Product
from .versions import ModelVersion


class DriftWarning(models.Model):
    """A stretch of time during which a version's recent passes drifted away from its good evaluation scores.

    Opened when a check finds the population stability index at or above the
    limit, updated by later checks while it stays there, and closed
    (`cleared_at`) by the first check that finds it below. The figures are
    those of the check that opened it (`psi`...) and of the latest one
    (`latest_psi`...); see inspection/lib/drift.py for the statistic.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="drift_warnings")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="drift_warnings")
    started_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    limit = models.FloatField()
    psi = models.FloatField()
    median_shift = models.FloatField()
    recent_count = models.PositiveIntegerField()
    reference_count = models.PositiveIntegerField()
    recent_median = models.FloatField()
    reference_median = models.FloatField()
    latest_psi = models.FloatField()
    latest_median_shift = models.FloatField()
    checked_at = models.DateTimeField()
    # "Send recent passes to review": how many parts went, when, and who asked.
    sent_to_review = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "version"], condition=Q(cleared_at__isnull=True), name="drift_one_open_per_version"
            ),
        ]

    def __str__(self) -> str:
        state = "open" if self.cleared_at is None else "cleared"
        return f"drift of {self.product} v{self.version.number} from {self.started_at:%Y-%m-%d %H:%M} ({state})"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
