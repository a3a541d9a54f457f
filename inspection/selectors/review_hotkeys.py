"""Which defect type each of the review queue's number keys stands for."""

from __future__ import annotations

from django.db.models import F, QuerySet

from inspection.models import DefectType, Product

HOTKEYS = 9


def defect_types_in_hotkey_order(*, product: Product) -> QuerySet[DefectType]:
    """The product's defect types in the engineer's order; types never placed follow, oldest first.

    The first HOTKEYS of them are keys 1 to 9.
    """
    return DefectType.objects.filter(product=product).order_by(F("position").asc(nulls_last=True), "created_at", "id")


def defect_type_matching(*, product: Product, name: str) -> DefectType | None:
    """The product's defect type called `name`, ignoring case and surrounding spaces."""
    return DefectType.objects.filter(product=product, name__iexact=(name or "").strip()).first()
