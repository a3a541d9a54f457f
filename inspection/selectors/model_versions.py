"""Reads about model versions, their evaluation, operating points and activations."""

from __future__ import annotations

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from inspection.errors import InvalidInput
from inspection.lib import score_analysis
from inspection.models import Activation, EvaluationScore, ModelVersion, Product, ThresholdSetting


def model_version_list(
    *, product: Product, status: str | None = None, other_than: ModelVersion | None = None
) -> QuerySet[ModelVersion]:
    """The product's versions (in one status, other than one version), newest first."""
    versions = (
        ModelVersion.objects.filter(product=product)
        .select_related("product", "job__created_by", "created_by")
        .order_by("-number")
    )
    if status:
        if status not in ModelVersion.Status.values:
            raise InvalidInput(f"status must be one of {', '.join(ModelVersion.Status.values)}, not {status!r}.")
        versions = versions.filter(status=status)
    if other_than is not None:
        versions = versions.exclude(pk=other_than.pk)
    return versions


def model_version_get(*, product: Product, version_id: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("job", "product", "created_by", "export_job__created_by"),
        product=product,
        pk=version_id,
    )


def evaluation_score_list(*, version: ModelVersion) -> QuerySet[EvaluationScore]:
    """Per-image evaluation scores, highest first."""
    return EvaluationScore.objects.filter(version=version).select_related("image").order_by("-score", "id")


def model_version_operating_point(
    *,
    version: ModelVersion,
    threshold: float | None = None,
    band_lower: float | None = None,
    band_upper: float | None = None,
) -> dict:
    """Curves of the version plus, for a proposed threshold or band, what it does on the evaluation images.

    Computed from the stored evaluation scores: precision, recall, F1,
    false-call rate, confusion matrix, and per-class pass/review/reject counts.
    """
    rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    labels, scores = [label for label, _ in rows], [score for _, score in rows]
    result = {
        "version": version.pk,
        "evaluated": version.evaluated,
        "curves": version.curves,
        "metrics": version.metrics,
        "suggestions": model_version_suggestions(version=version, rows=rows),
        "proposed": None,
    }
    if threshold is None and band_lower is None and band_upper is None:
        return result
    threshold, band_lower, band_upper = score_analysis.operating_point_check(
        method=version.method, threshold=threshold, band_lower=band_lower, band_upper=band_upper
    )
    result["proposed"] = score_analysis.operating_point(
        labels,
        scores,
        threshold=threshold,
        band_lower=band_lower,
        band_upper=band_upper,
    )
    return result


def model_version_suggestions(*, version: ModelVersion, rows: list | None = None) -> dict:
    """The operating points suggested for `version` by name, each with its margin and intervals."""
    if rows is None:
        rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    quantile_point = ((version.metrics or {}).get("operating_points") or {}).get("normal_quantile") or {}
    return score_analysis.suggested_points(
        [label for label, _ in rows], [score for _, score in rows], normal_quantile=quantile_point.get("threshold")
    )


def threshold_setting_list(*, product: Product, version: ModelVersion | None = None) -> QuerySet[ThresholdSetting]:
    """The history of operating points, newest first."""
    settings = ThresholdSetting.objects.filter(product=product).select_related("version", "set_by")
    if version is not None:
        settings = settings.filter(version=version)
    return settings.order_by("-set_at", "-id")


def threshold_setting_get(*, product: Product, setting_id: int) -> ThresholdSetting:
    return get_object_or_404(ThresholdSetting, product=product, pk=setting_id)


def threshold_current(*, product: Product, version: ModelVersion | None = None) -> ThresholdSetting | None:
    """The operating point in force for `version` (default: the product's active version), or None."""
    version = version if version is not None else product.active_version
    if version is None:
        return None
    return threshold_setting_list(product=product, version=version).first()


def threshold_current_by_version(*, version_ids) -> dict[int, ThresholdSetting]:
    """{version id: the operating point in force for it} for those of the versions that have one, in one query.

    The same settings as threshold_current gives one version at a time.
    """
    newest = (
        ThresholdSetting.objects.filter(product=OuterRef("product"), version=OuterRef("version"))
        .order_by("-set_at", "-id")
        .values("pk")[:1]
    )
    settings = (
        ThresholdSetting.objects.filter(version_id__in=list(version_ids))
        .annotate(newest=Subquery(newest))
        .filter(pk=F("newest"))
        .select_related("version", "set_by")
    )
    return {setting.version_id: setting for setting in settings}


def activation_list(*, product: Product, version: ModelVersion | None = None) -> QuerySet[Activation]:
    """The product's activations (or those of one version), newest first."""
    activations = Activation.objects.filter(product=product).select_related(
        "version", "previous_version", "activated_by"
    )
    if version is not None:
        activations = activations.filter(version=version)
    return activations
