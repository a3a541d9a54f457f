"""Inspections counted per quarter hour, so that the dashboard adds up a month without reading a month of rows."""

from __future__ import annotations

from django.db import models

from .products import Product
from .versions import ModelVersion


class InspectionCount(models.Model):
    """How many of a product's parts one version decided one way in one quarter hour (UTC start).

    Quarter hours, because every time zone in use is a whole number of
    quarter hours from UTC: hours and days of any reader's zone are sums of
    whole slots.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    slot_start = models.DateTimeField()
    # Kept (as null) when the version is deleted, like the inspections themselves.
    version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decision = models.CharField(max_length=16, blank=True)
    parts = models.PositiveIntegerField()

    class Meta:
        ordering = ["product", "slot_start"]
        indexes = [models.Index(fields=["product", "slot_start"], name="inspection_count_slot")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.slot_start:%Y-%m-%d %H:%M} v{self.version_id} {self.decision}: {self.parts}"


class InspectionCountProgress(models.Model):
    """Up to when (exclusive, a slot boundary) a product's inspections are counted in InspectionCount."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="+")
    counted_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.product_id} counted until {self.counted_until:%Y-%m-%d %H:%M}"
