"""Operating points: setting, rolling back, and activating a version with its promotion gate.

An operating point (ThresholdSetting) is chosen on the scores of one model
version, since scores of different versions are not comparable. The product's
operating point is the latest setting based on its active version; settings
are never edited, and a rollback is a new setting copying an older one, so
the history says who chose what, when, why and on which evaluation.

Activation makes a trained version the product's active one. It is refused
for a version that was not evaluated (no labelled normal and defective
evaluation images) unless forced with a reason, and for a damaged or
untrained version always. A version without an operating point of its own
gets the one suggested by its training (recorded as a setting saying so).
The promotion gate compares the new version with the one it replaces on the
evaluation images both were scored on and is reported with the activation.
"""

from __future__ import annotations

from django.db import transaction

from inspection.models import Activation, EvaluationScore, ModelVersion, Product, ThresholdSetting
from inspection.selectors.model_versions import threshold_current
from inspection.lib import score_analysis as evaluation
from inspection.errors import Conflict, InvalidInput


def threshold_set(
    *,
    product: Product,
    version: ModelVersion,
    threshold: float | None = None,
    band_lower: float | None = None,
    band_upper: float | None = None,
    reason: str = "",
    set_by=None,
    rolled_back_from: ThresholdSetting | None = None,
) -> ThresholdSetting:
    """Record a new operating point for `version` of `product`: one threshold, or a review band."""
    if version.product_id != product.pk:
        raise InvalidInput(f"Model version {version.pk} does not belong to product {product.pk}.")
    if version.status != ModelVersion.Status.TRAINED:
        raise Conflict(f"Version {version.number} is {version.status}; operating points are set on trained versions.")
    threshold, band_lower, band_upper = evaluation.operating_point_check(
        method=version.method, threshold=threshold, band_lower=band_lower, band_upper=band_upper
    )
    reason = _checked_reason(reason)
    labels, scores = _evaluation_scores(version)
    expected = evaluation.operating_point(labels, scores, threshold=threshold, band_lower=band_lower,
                                          band_upper=band_upper)
    return ThresholdSetting.objects.create(
        product=product, version=version, threshold=threshold, band_lower=band_lower, band_upper=band_upper,
        reason=reason, expected=expected, set_by=set_by, rolled_back_from=rolled_back_from,
    )


def threshold_rollback(*, product: Product, setting: ThresholdSetting, reason: str = "", set_by=None) -> ThresholdSetting:
    """Make an earlier operating point current again, as a new setting that copies it."""
    if setting.product_id != product.pk:
        raise InvalidInput(f"Threshold setting {setting.pk} does not belong to product {product.pk}.")
    return threshold_set(
        product=product, version=setting.version, threshold=setting.threshold, band_lower=setting.band_lower,
        band_upper=setting.band_upper, reason=_checked_reason(reason), set_by=set_by, rolled_back_from=setting,
    )


def _checked_reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the operating point changes (reason); the history keeps it.")
    return reason


def _evaluation_scores(version: ModelVersion) -> tuple[list[str], list[float]]:
    rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    return [label for label, _ in rows], [score for _, score in rows]


def model_version_activate(
    *, version: ModelVersion, activated_by=None, reason: str = "", force: bool = False
) -> Activation:
    """Make `version` the product's active version; returns the activation with its gate report."""
    reason = (reason or "").strip()
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=version.product_id)
        version = ModelVersion.objects.get(pk=version.pk)
        if version.status != ModelVersion.Status.TRAINED or not version.bundle:
            raise Conflict(f"Version {version.number} is {version.status}; only a trained version can be activated.")
        if version.flagged_damaged:
            raise Conflict(f"Version {version.number} is flagged as damaged ({version.damage_reason}); it cannot be activated.")
        forced = False
        if not version.evaluated:
            if not force:
                raise Conflict(
                    f"Version {version.number} was not evaluated: its evaluation images did not include both normal "
                    "and defective labelled images. Label some test images and retrain, or activate with "
                    "force=true and a reason.",
                    details={"evaluated": False},
                )
            if not reason:
                raise InvalidInput("Activating a version that was not evaluated needs a reason.")
            forced = True
        previous = product.active_version
        created_setting = None
        if threshold_current(product=product, version=version) is None:
            created_setting = _default_setting(product, version, activated_by)
        gate = promotion_gate(product=product, new=version, old=previous if previous != version else None)
        if created_setting is not None:
            gate["operating_point_created"] = {
                "id": created_setting.pk, "threshold": created_setting.threshold, "reason": created_setting.reason,
            }
        product.active_version = version
        product.save(update_fields=["active_version", "updated_at"])
        return Activation.objects.create(
            product=product, version=version, previous_version=previous, reason=reason, forced=forced,
            gate=gate, activated_by=activated_by,
        )


def _default_setting(product: Product, version: ModelVersion, set_by) -> ThresholdSetting:
    suggested = (version.metrics or {}).get("suggested")
    if not suggested or suggested.get("threshold") is None:
        raise Conflict(
            f"Version {version.number} has no operating point and its training suggested none; set a threshold "
            "for it first."
        )
    return threshold_set(
        product=product, version=version, threshold=suggested["threshold"], set_by=set_by,
        reason=f"Set on activation: the threshold suggested by training ({suggested.get('rule', 'default')}).",
    )


def promotion_gate(*, product: Product, new: ModelVersion, old: ModelVersion | None) -> dict:
    """Does `new` still reject every defective image `old` rejected? And its false-call rate.

    Compared on the evaluation images both versions scored (matched by
    checksum, labelled as `new`'s snapshot says), each version at its own
    current operating point. `passed` is True when no such defect is missed.
    """
    new_setting = threshold_current(product=product, version=new)
    new_scores = {row.checksum: row for row in EvaluationScore.objects.filter(version=new)}
    report: dict = {"new_version": new.number, "old_version": old.number if old else None}
    normals = [row for row in new_scores.values() if row.label == "normal"]
    if new_setting is not None and normals:
        rejected = sum(1 for row in normals if _decision(row.score, new_setting) == evaluation.REJECT)
        report["false_call_rate"] = rejected / len(normals)
        report["false_calls"] = rejected
    else:
        report["false_call_rate"] = None
        report["false_calls"] = None
    report["normal_count"] = len(normals)
    old_setting = threshold_current(product=product, version=old) if old else None
    if old is None or old_setting is None or new_setting is None:
        report.update(passed=None, compared_defects=0, missed=[],
                      note="No previously active version with an operating point to compare with."
                      if new_setting is not None else "The new version has no operating point.")
        return report
    old_scores = {row.checksum: row.score for row in EvaluationScore.objects.filter(version=old)}
    missed, compared, old_rejected = [], 0, 0
    for checksum, row in new_scores.items():
        if row.label != "defective" or checksum not in old_scores:
            continue
        compared += 1
        if _decision(old_scores[checksum], old_setting) != evaluation.REJECT:
            continue
        old_rejected += 1
        decision = _decision(row.score, new_setting)
        if decision != evaluation.REJECT:
            missed.append({"image": row.image_id, "checksum": checksum, "defect_type": row.defect_type,
                           "score": row.score, "decision": decision})
    report.update(
        passed=not missed, compared_defects=compared, rejected_by_old=old_rejected, missed=missed,
        note=("Every defective image the previous version rejected is still rejected." if not missed else
              f"{len(missed)} defective image(s) the previous version rejected are no longer rejected."),
    )
    if compared == 0:
        report["note"] = "The two versions share no defective evaluation image; nothing to compare."
    return report


def _decision(score: float, setting: ThresholdSetting) -> str:
    return evaluation.decide(score, threshold=setting.threshold, band_lower=setting.band_lower,
                             band_upper=setting.band_upper)
