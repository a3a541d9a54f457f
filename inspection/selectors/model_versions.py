"""Reads about model versions, their evaluation, operating points and activations."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from inspection.models import Activation, EvaluationScore, ModelVersion, Product, ThresholdSetting
from inspection.lib import score_analysis as evaluation
from inspection.errors import InvalidInput


def model_version_list(*, product: Product, status: str | None = None) -> QuerySet[ModelVersion]:
    """The product's versions, newest first."""
    versions = ModelVersion.objects.filter(product=product).select_related("job", "created_by").order_by("-number")
    if status:
        if status not in ModelVersion.Status.values:
            raise InvalidInput(f"status must be one of {', '.join(ModelVersion.Status.values)}, not {status!r}.")
        versions = versions.filter(status=status)
    return versions


def model_version_get(*, product: Product, version_id: int) -> ModelVersion:
    return get_object_or_404(ModelVersion.objects.select_related("job", "product", "created_by"),
                             product=product, pk=version_id)


def evaluation_score_list(*, version: ModelVersion) -> QuerySet[EvaluationScore]:
    """Per-image evaluation scores, highest first."""
    return EvaluationScore.objects.filter(version=version).select_related("image").order_by("-score", "id")


def model_version_operating_point(
    *, version: ModelVersion, threshold: float | None = None, band_lower: float | None = None,
    band_upper: float | None = None,
) -> dict:
    """Curves of the version plus, for a proposed threshold or band, what it does on the evaluation images.

    Computed from the stored evaluation scores: precision, recall, F1,
    false-call rate, confusion matrix, and per-class pass/review/reject counts.
    """
    rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    labels, scores = [label for label, _ in rows], [score for _, score in rows]
    result = {"version": version.pk, "evaluated": version.evaluated, "curves": version.curves,
              "metrics": version.metrics, "suggestions": model_version_suggestions(version=version, rows=rows),
              "proposed": None}
    if threshold is None and band_lower is None and band_upper is None:
        return result
    threshold, band_lower, band_upper = evaluation.operating_point_check(
        method=version.method, threshold=threshold, band_lower=band_lower, band_upper=band_upper
    )
    result["proposed"] = evaluation.operating_point(
        labels, scores, threshold=threshold, band_lower=band_lower, band_upper=band_upper,
    )
    return result


def model_version_suggestions(*, version: ModelVersion, rows: list | None = None) -> dict:
    """The operating points suggested for `version` by name, each with its margin and intervals."""
    if rows is None:
        rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    quantile_point = ((version.metrics or {}).get("operating_points") or {}).get("normal_quantile") or {}
    return evaluation.suggested_points([label for label, _ in rows], [score for _, score in rows],
                                       normal_quantile=quantile_point.get("threshold"))


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


def activation_list(*, product: Product) -> QuerySet[Activation]:
    return Activation.objects.filter(product=product).select_related(
        "version", "previous_version", "activated_by", "operating_point", "replaced_operating_point"
    )
