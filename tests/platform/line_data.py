"""Production-line data made without the engine: versions, activations and inspections at chosen moments.

The line's view (history, dashboard, drift) only reads what inspections
recorded (time, decision, score, latency, review), so these tests write those
records directly instead of scoring pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from inspection.models import Activation, EvaluationScore, Inspection, ModelVersion, Product, ReviewItem


def trained_version(product: Product, number: int, *, activated_at: datetime | None = None) -> ModelVersion:
    """A trained version record; with `activated_at`, also made the product's active version at that moment."""
    version = ModelVersion.objects.create(
        product=product,
        number=number,
        method="variation",
        status=ModelVersion.Status.TRAINED,
        bundle=f"products/{product.pk}/models/v{number}.zip",
        evaluated=True,
    )
    if activated_at is not None:
        activation = Activation.objects.create(product=product, version=version, reason=f"version {number}")
        Activation.objects.filter(pk=activation.pk).update(activated_at=activated_at)
        Product.objects.filter(pk=product.pk).update(active_version=version)
        product.refresh_from_db()
    return version


def good_evaluation_scores(version: ModelVersion, scores) -> None:
    """The version's scores on its good (normal) evaluation images."""
    EvaluationScore.objects.bulk_create(
        EvaluationScore(version=version, checksum=f"eval-{version.pk}-{index}", score=float(score), label="normal")
        for index, score in enumerate(scores)
    )


@dataclass
class Part:
    """One inspection to record: when, what was decided, and what review made of it."""

    at: datetime
    decision: str = Inspection.Decision.PASS
    score: float | None = 0.1
    seconds: float | None = 0.05
    version: ModelVersion | None = None
    user: object = None
    name: str = ""
    review: str = ""  # "", "pending", "normal" or "defective"
    defect_type: str = ""
    status: str = Inspection.Status.DONE


def record_parts(product: Product, parts: list[Part]) -> list[Inspection]:
    """Store the parts as inspections (and review items), with `at` as both submission and inspection time."""
    inspections = Inspection.objects.bulk_create(
        Inspection(
            product=product,
            version=part.version,
            status=part.status,
            decision=part.decision,
            score=part.score,
            engine_seconds=part.seconds,
            created_by=part.user,
            original_name=part.name or f"part-{index:05d}.png",
            checksum=f"{index:064d}",
            source_file=f"products/{product.pk}/inspections/part-{index}.png",
            inspected_at=None if part.status == Inspection.Status.PENDING else part.at,
            reason=f"score {part.score}",
        )
        for index, part in enumerate(parts)
    )
    for inspection, part in zip(inspections, parts, strict=True):
        # created_at is set on insert; the line's past is written afterwards.
        Inspection.objects.filter(pk=inspection.pk).update(created_at=part.at)
        inspection.created_at = part.at
        if part.review:
            decided = part.review in (ReviewItem.Verdict.NORMAL, ReviewItem.Verdict.DEFECTIVE)
            item = ReviewItem.objects.create(
                product=product,
                inspection=inspection,
                status=ReviewItem.Status.DECIDED if decided else ReviewItem.Status.OPEN,
                decision=part.review if decided else "",
                defect_type=part.defect_type,
                decided_at=part.at + timedelta(minutes=5) if decided else None,
            )
            ReviewItem.objects.filter(pk=item.pk).update(created_at=part.at)
    return inspections


def hours_ago(hours: float) -> datetime:
    return timezone.now() - timedelta(hours=hours)
