"""A model version's pixel evaluation as people read it: detection at the current operating point, staleness.

A region counts as detected when its image is flagged at the version's
current operating point (score >= the threshold, or >= the lower end of a
review band: the part is not passed automatically) and the highest map value
inside the region is >= the pixel threshold. Without an operating point of
its own the version's suggested threshold is used, and said so.
"""

from __future__ import annotations

from inspection.models import DefectType, Job, ModelVersion, PixelEvaluation
from inspection.selectors.annotations import annotation_current_revisions
from inspection.selectors.model_versions import threshold_current


def _image_threshold(version: ModelVersion) -> tuple[float | None, str]:
    setting = threshold_current(product=version.product, version=version)
    if setting is not None:
        return setting.review_from, "band lower end" if setting.is_band else "threshold"
    suggested = (version.metrics or {}).get("suggested") or {}
    if suggested.get("threshold") is not None:
        return float(suggested["threshold"]), "suggested threshold"
    return None, ""


def _status(evaluation: PixelEvaluation | None) -> str:
    if evaluation is None:
        return "not_computed"
    job = evaluation.job
    if job is not None and job.status in Job.ACTIVE_STATUSES:
        return job.status  # queued / running
    if evaluation.computed_at is not None:
        return "computed"
    return "failed" if job is not None and job.status == Job.Status.FAILED else "not_computed"


def pixel_evaluation_summary(*, version: ModelVersion) -> dict:
    """The contract's shape: status, pixel_auroc, pixel_threshold, n_images, n_regions, region_recall,
    per_defect_type, stale; plus what explains them (operating point used, note, job)."""
    evaluation = PixelEvaluation.objects.select_related("job").filter(version=version).first()
    image_threshold, threshold_source = _image_threshold(version)
    summary = {
        "status": _status(evaluation),
        "pixel_auroc": None,
        "pixel_threshold": None,
        "n_images": 0,
        "n_annotated_images": 0,
        "n_normal_images": 0,
        "n_regions": 0,
        "region_recall": None,
        "per_defect_type": [],
        "stale": False,
        "image_threshold": image_threshold,
        "image_threshold_source": threshold_source,
        "note": "",
        "computed_at": None,
        "job": evaluation.job_id if evaluation else None,
        "job_error": evaluation.job.error if evaluation and evaluation.job else "",
    }
    if evaluation is None or evaluation.computed_at is None:
        return summary
    regions = evaluation.regions or []
    can_detect = evaluation.pixel_threshold is not None and image_threshold is not None
    types = {item.pk: item for item in DefectType.objects.filter(product_id=version.product_id)}
    per_type: dict = {}
    detected_total = 0
    for region in regions:
        detected = can_detect and (
            region["image_score"] >= image_threshold and region["max_value"] >= evaluation.pixel_threshold
        )
        detected_total += int(bool(detected))
        current = types.get(region["defect_type"])
        entry = per_type.setdefault(
            region["defect_type"],
            {
                "defect_type": current.name if current else region["defect_type_name"],
                "color": current.color if current else region["color"],
                "n_regions": 0,
                "n_detected": 0,
            },
        )
        entry["n_regions"] += 1
        entry["n_detected"] += int(bool(detected))
    for entry in per_type.values():
        entry["detection_rate"] = entry["n_detected"] / entry["n_regions"] if can_detect else None
        if not can_detect:
            entry["n_detected"] = None
    recorded = {int(image_id): revision for image_id, revision in (evaluation.annotation_revisions or {}).items()}
    summary.update(
        pixel_auroc=evaluation.pixel_auroc,
        pixel_threshold=evaluation.pixel_threshold,
        n_images=evaluation.n_images,
        n_annotated_images=evaluation.n_annotated_images,
        n_normal_images=evaluation.n_normal_images,
        n_regions=len(regions),
        region_recall=(detected_total / len(regions)) if can_detect and regions else None,
        per_defect_type=sorted(per_type.values(), key=lambda entry: entry["defect_type"]),
        stale=annotation_current_revisions(image_ids=list(recorded)) != recorded,
        note=evaluation.note,
        computed_at=evaluation.computed_at,
    )
    return summary


def pixel_evaluation_active_job(*, version: ModelVersion) -> Job | None:
    """The queued or running job recomputing the version's pixel evaluation, if any."""
    return Job.objects.filter(
        pk__in=PixelEvaluation.objects.filter(version=version).values("job"), status__in=Job.ACTIVE_STATUSES
    ).first()
