"""Reads for the drift warning: the statistic now, and the warnings recorded."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet

from inspection.lib.drift import DriftStatistic, drift_statistic
from inspection.models import DriftWarning, EvaluationScore, Image, Inspection, ModelVersion, Product
from inspection.selectors.model_versions import threshold_current

# Fewer good evaluation scores than this say too little about the good parts' distribution.
MIN_REFERENCE_SCORES = 10


@dataclass(frozen=True)
class DriftMeasure:
    """The drift statistic of a product's active version now, or why there is none."""

    version: ModelVersion | None
    statistic: DriftStatistic | None
    limit: float
    window: int
    reason: str = ""  # why nothing was measured

    @property
    def drifting(self) -> bool:
        return self.statistic is not None and self.statistic.psi >= self.limit


def recent_passes(*, product: Product, version: ModelVersion, window: int) -> QuerySet[Inspection]:
    """The last `window` parts the version passed, newest first."""
    return Inspection.objects.filter(
        product=product, version=version, decision=Inspection.Decision.PASS, score__isnull=False
    ).order_by("-inspected_at", "-id")[:window]


def reference_scores(*, product: Product, version: ModelVersion) -> list[float]:
    """The version's scores on its good evaluation images that the operating point in force passes.

    Only parts scoring below the review boundary can pass on the line, so a
    good evaluation image scoring above it (a false call) has no counterpart
    among recent passes and is left out; otherwise an unchanged line would
    look drifted.
    """
    scores = EvaluationScore.objects.filter(version=version, label=Image.Label.NORMAL)
    setting = threshold_current(product=product, version=version)
    if setting is not None:
        scores = scores.filter(score__lt=setting.review_from)
    return list(scores.values_list("score", flat=True))


def drift_measure(*, product: Product) -> DriftMeasure:
    version = product.active_version
    limit, window = settings.DRIFT_PSI_LIMIT, settings.DRIFT_WINDOW
    if version is None:
        return DriftMeasure(None, None, limit, window, "no active version")
    reference = reference_scores(product=product, version=version)
    if len(reference) < MIN_REFERENCE_SCORES:
        return DriftMeasure(
            version,
            None,
            limit,
            window,
            f"only {len(reference)} good evaluation scores below the review boundary "
            f"(at least {MIN_REFERENCE_SCORES} needed)",
        )
    recent = list(recent_passes(product=product, version=version, window=window).values_list("score", flat=True))
    if len(recent) < settings.DRIFT_MIN_PARTS:
        return DriftMeasure(
            version,
            None,
            limit,
            window,
            f"only {len(recent)} passed parts so far (at least {settings.DRIFT_MIN_PARTS} needed)",
        )
    return DriftMeasure(version, drift_statistic(reference, recent), limit, window)


def drift_warning_open(*, product: Product) -> DriftWarning | None:
    """The open warning of the product's active version, if any."""
    if product.active_version_id is None:
        return None
    return (
        DriftWarning.objects.filter(product=product, version_id=product.active_version_id, cleared_at__isnull=True)
        .select_related("version", "sent_by")
        .first()
    )


def drift_warnings_open_by_product(*, products) -> dict[int, DriftWarning]:
    """{product id: the open warning of its active version} for those of `products` that have one, in one query."""
    active = {product.pk: product.active_version_id for product in products if product.active_version_id is not None}
    warnings = (
        DriftWarning.objects.filter(product_id__in=active, cleared_at__isnull=True)
        .select_related("version", "sent_by")
        .order_by("product_id", "-started_at", "-id")
    )
    found: dict[int, DriftWarning] = {}
    for warning in warnings:
        if warning.version_id == active[warning.product_id]:
            found.setdefault(warning.product_id, warning)
    return found


def drift_warning_list(*, product: Product) -> QuerySet[DriftWarning]:
    return DriftWarning.objects.filter(product=product).select_related("version", "sent_by")


def products_with_active_version() -> QuerySet[Product]:
    return Product.objects.filter(active_version__isnull=False).select_related("active_version").order_by("pk")
