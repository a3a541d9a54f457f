"""What a product's registration did: the choice, its figures, and the pictures it refused."""

from __future__ import annotations

import logging

from django.db.models import Count

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.errors import EngineError
from inspection.engine.registration.auto import SUGGESTED
from inspection.engine.registration.region import suggest_roi
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
    grouped = dict(
        Image.objects.filter(product=product).order_by().values_list("registration_status").annotate(total=Count("id"))
    )
    counts = {status: grouped.get(status, 0) for status in Image.RegistrationStatus.values}
    reference = _reference(product)
    suggested = None if reference is None else [int(value) for value in suggest_roi(reference)]
    return {
        "settings": product.registration_settings,
        # Raised whenever every image is aligned again (new reference or settings).
        "revision": product.registration_revision,
        "report": product.registration_report if current else None,
        "report_is_current": current,
        "counts": counts,
        "refused_pictures": [
            {"id": row["id"], "name": row["original_name"], "reason": row["registration_failure_reason"]}
            for row in refused
        ],
        # The size as registration sees the reference: decoded, EXIF orientation applied.
        "reference_size": None if reference is None else [int(reference.shape[1]), int(reference.shape[0])],
        "suggested_roi": suggested,
        "region": _region_in_force(product, product.registration_report if current else None, suggested),
    }


def _region_in_force(product: Product, report: dict | None, suggested: list[int] | None) -> dict | None:
    """The region images are aligned with, and whether a person set it ("saved") or it is only "suggested".

    A region nobody saved is suggested (not confirmed): the one the good
    training pictures kept (the part, or the whole frame with the reason), and
    before they have chosen, the part suggested on the reference.
    """
    saved = product.registration_settings.get("roi")
    if report is not None and report.get("region"):
        return {**report["region"], "confirmed": report["region"]["source"] == "saved"}
    if saved is not None:
        return {"roi": list(saved), "source": "saved", "why": "as set in the settings", "confirmed": True}
    if report is not None:
        # Chosen before regions were suggested: those images stay aligned with the whole frame until aligned again.
        return {
            "roi": report["settings"].get("roi"),
            "source": "whole frame",
            "why": "aligned before a region was suggested; the next alignment uses the suggested one",
            "confirmed": False,
        }
    if suggested is None:
        return None
    return {
        "roi": suggested,
        "source": SUGGESTED,
        "why": (
            "the part on the reference with a margin; the next alignment keeps it if it aligns the good training "
            "pictures as the whole frame does"
        ),
        "confirmed": False,
    }


def _reference(product: Product):
    """The reference image decoded once, or None when there is none or it cannot be read."""
    if not product.reference_image:
        return None
    try:
        with product.reference_image.open("rb") as handle:
            return decode_image_bytes(handle.read(), product.reference_image.name)
    except (EngineError, OSError, ValueError) as error:
        logger.warning("no region of interest suggested for product %s: %s", product.pk, error)
        return None
