"""What a product's registration did: the choice, its figures, and the pictures it refused."""

from __future__ import annotations

import logging

from inspection.models import Image, Product

logger = logging.getLogger(__name__)


def registration_overview(*, product: Product) -> dict:
    """The stored report (when it belongs to the current reference and settings), refusals and a suggested region."""
    current = product.registration_report_is_current
    refused = list(
        Image.objects.filter(product=product, registration_status=Image.RegistrationStatus.FAILED)
        .order_by("pk")
        .values("id", "original_name", "registration_failure_reason")
    )
    counts = {
        status: Image.objects.filter(product=product, registration_status=status).count()
        for status in Image.RegistrationStatus.values
    }
    return {
        "settings": product.registration_settings,
        "report": product.registration_report if current else None,
        "report_is_current": current,
        "counts": counts,
        "refused_pictures": [
            {"id": row["id"], "name": row["original_name"], "reason": row["registration_failure_reason"]}
            for row in refused
        ],
        "reference_size": _reference_size(product),
        "suggested_roi": _suggested_roi(product),
    }


def _reference_size(product: Product):
    if not product.reference_image:
        return None
    from PIL import Image as PillowImage

    try:
        with product.reference_image.open("rb") as handle, PillowImage.open(handle) as picture:
            return list(picture.size)
    except OSError:
        return None


def _suggested_roi(product: Product):
    if not product.reference_image:
        return None
    from inspection.engine.data.imageio import decode_image_bytes
    from inspection.engine.errors import EngineError
    from inspection.engine.registration.region import suggest_roi

    try:
        with product.reference_image.open("rb") as handle:
            reference = decode_image_bytes(handle.read(), product.reference_image.name)
    except (EngineError, OSError, ValueError) as error:
        logger.warning("no region of interest suggested for product %s: %s", product.pk, error)
        return None
    return list(suggest_roi(reference))
