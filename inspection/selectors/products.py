from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from inspection.models import Image, Job, Product
from inspection.selectors.drift import drift_warnings_open_by_product
from inspection.selectors.model_versions import threshold_current_by_version


def product_list() -> QuerySet[Product]:
    """All products with their image counts (every signed-in user sees every product)."""
    return (
        Product.objects.select_related("created_by", "active_version")
        .annotate(
            image_count=Count("images"),
            registered_count=Count("images", filter=Q(images__registration_status=Image.RegistrationStatus.REGISTERED)),
            registration_failed_count=Count(
                "images", filter=Q(images__registration_status=Image.RegistrationStatus.FAILED)
            ),
        )
        .order_by("name")
    )


def product_overview_list() -> list[Product]:
    """Every product as the products page shows it, in four queries however many there are.

    Each product carries, besides its image counts, `last_job` (its newest job,
    or None), `current_setting` (the operating point of its active version,
    or None) and `open_drift_warning` (that version's open drift warning, or None).
    """
    newest_job = Job.objects.filter(product=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    products = list(product_list().annotate(last_job_id=Subquery(newest_job)))
    jobs = Job.objects.select_related("created_by").in_bulk(
        [product.last_job_id for product in products if product.last_job_id is not None]
    )
    settings = threshold_current_by_version(
        version_ids=[product.active_version_id for product in products if product.active_version_id is not None]
    )
    warnings = drift_warnings_open_by_product(products=products)
    for product in products:
        product.last_job = jobs.get(product.last_job_id)
        product.current_setting = settings.get(product.active_version_id)
        product.open_drift_warning = warnings.get(product.pk)
    return products


def product_get(*, product_id: int) -> Product:
    """The product with image counts; Http404 if there is none."""
    return get_object_or_404(product_list(), pk=product_id)
