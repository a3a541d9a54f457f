from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from inspection.models import Image, Product


def product_list() -> QuerySet[Product]:
    """All products with their image counts (every signed-in user sees every product)."""
    return Product.objects.annotate(
        image_count=Count("images"),
        registered_count=Count("images", filter=Q(images__registration_status=Image.RegistrationStatus.REGISTERED)),
        registration_failed_count=Count(
            "images", filter=Q(images__registration_status=Image.RegistrationStatus.FAILED)
        ),
    ).order_by("name")


def product_get(*, product_id: int) -> Product:
    """The product with image counts; Http404 if there is none."""
    return get_object_or_404(product_list(), pk=product_id)
