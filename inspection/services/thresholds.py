"""Operating points: setting, rolling back, and activating a version with its promotion gate.

An operating point (ThresholdSetting) is chosen on the scores of one model
version, since scores of different versions are not comparable. The product's
operating point is the latest setting based on its active version; settings
are never edited, and a rollback is a new setting copying an older one, so
the history says who chose what, when, why and on which evaluation.

Activation makes a trained version the product's active one. It names its
operating point in the same call (the version's saved one, a suggestion rule
by name, or a threshold or band) with a reason, so nothing is put in force
that nobody chose: without one it is refused with the choices and what each
does on the evaluation images. The activation records the operating point it
put in force and the one it replaced. It is refused for a version that was
not evaluated (no labelled normal and defective evaluation images) unless
forced, and for a damaged or untrained version always. The promotion gate
compares the new version with the one it replaces on the evaluation images
both were scored on and is reported with the activation.
"""

from __future__ import annotations

from django.db import transaction

from inspection.errors import Conflict, InvalidInput
from inspection.lib import score_analysis
from inspection.models import Activation, EvaluationScore, ModelVersion, Product, ThresholdSetting
from inspection.selectors.model_versions import model_version_suggestions, threshold_current


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
    threshold, band_lower, band_upper = score_analysis.operating_point_check(
        method=version.method, threshold=threshold, band_lower=band_lower, band_upper=band_upper
    )
    reason = _checked_reason(reason)
    labels, scores = _evaluation_scores(version)
    expected = score_analysis.operating_point(
        labels, scores, threshold=threshold, band_lower=band_lower, band_upper=band_upper
    )
    return ThresholdSetting.objects.create(
        product=product,
        version=version,
        threshold=threshold,
        band_lower=band_lower,
        band_upper=band_upper,
        reason=reason,
        expected=expected,
        set_by=set_by,
        rolled_back_from=rolled_back_from,
        replaces=threshold_current(product=product, version=version),
    )


def threshold_rollback(
    *, product: Product, setting: ThresholdSetting, reason: str = "", set_by=None
) -> ThresholdSetting:
    """Make an earlier operating point current again, as a new setting that copies it."""
    if setting.product_id != product.pk:
        raise InvalidInput(f"Threshold setting {setting.pk} does not belong to product {product.pk}.")
    return threshold_set(
        product=product,
        version=setting.version,
        threshold=setting.threshold,
        band_lower=setting.band_lower,
        band_upper=setting.band_upper,
        reason=_checked_reason(reason),
        set_by=set_by,
        rolled_back_from=setting,
    )


def _checked_reason(reason) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the operating point changes (reason); the history keeps it.")
    return reason


def _evaluation_scores(version: ModelVersion) -> tuple[list[str], list[float]]:
    rows = list(EvaluationScore.objects.filter(version=version).values_list("label", "score"))
    return [label for label, _ in rows], [score for _, score in rows]


SAVED = "saved"


def model_version_activate(
    *, version: ModelVersion, operating_point=None, reason: str = "", activated_by=None, force: bool = False
) -> Activation:
    """Make `version` the product's active version at the named operating point; returns the activation.

    `operating_point`: "saved" (the version's latest saved setting), a
    suggestion rule by name ("max-f1", ...; also as {"rule": name}), or
    {"threshold": t} / {"band_lower": a, "band_upper": b}. Without it, or
    without a reason, InvalidInput lists the choices.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=version.product_id)
        version = ModelVersion.objects.get(pk=version.pk)
        activation_refusal_check(version=version, force=force)
        if operating_point is None or not reason:
            missing = " and ".join(
                word
                for word, absent in (("operating_point", operating_point is None), ("reason", not reason))
                if absent
            )
            raise InvalidInput(
                f"Activating version {version.number} needs {missing}: name the operating point it will use "
                "and say why.",
                details={"choices": activation_choices(product=product, version=version)},
            )
        previous = product.active_version
        replaced = threshold_current(product=product) if previous is not None else None
        setting = _named_setting(product, version, operating_point, reason, activated_by)
        gate = promotion_gate(product=product, new=version, old=previous if previous != version else None)
        product.active_version = version
        product.save(update_fields=["active_version", "updated_at"])
        return Activation.objects.create(
            product=product,
            version=version,
            previous_version=previous,
            reason=reason,
            forced=not version.evaluated,
            gate=gate,
            activated_by=activated_by,
            operating_point=setting,
            replaced_operating_point=replaced,
        )


def activation_refusal_check(*, version: ModelVersion, force: bool = False) -> None:
    """Conflict when `version` cannot be activated: not trained, damaged, or not evaluated and not forced."""
    if version.status != ModelVersion.Status.TRAINED or not version.bundle:
        raise Conflict(f"Version {version.number} is {version.status}; only a trained version can be activated.")
    if version.flagged_damaged:
        raise Conflict(
            f"Version {version.number} is flagged as damaged ({version.damage_reason}); it cannot be activated."
        )
    if not version.evaluated and not force:
        raise Conflict(
            f"Version {version.number} was not evaluated: its evaluation images did not include both normal "
            "and defective labelled images. Label some test images and retrain, or activate with "
            "force=true and a reason.",
            details={"evaluated": False},
        )


def activation_choices(*, product: Product, version: ModelVersion) -> dict:
    """What an activation of `version` may name as its operating point, each with what it does."""
    saved = threshold_current(product=product, version=version)
    return {
        SAVED: None
        if saved is None
        else {
            "id": saved.pk,
            "threshold": saved.threshold,
            "band_lower": saved.band_lower,
            "band_upper": saved.band_upper,
            "reason": saved.reason,
            "set_by": saved.set_by.get_username() if saved.set_by else None,
            "expected": saved.expected,
        },
        "rules": model_version_suggestions(version=version),
        "explicit": 'or give {"threshold": t} or {"band_lower": a, "band_upper": b} with the reason',
    }


def activation_proposal(*, product: Product, version: ModelVersion, operating_point) -> dict:
    """What activating `version` at `operating_point` would put in force, and what it does on the evaluation images.

    Writes nothing; refuses what the activation would refuse. Keys: `saved`
    (the saved setting reused, or None), `values` (threshold, band_lower,
    band_upper), `rule` (words for the choice) and `effect`.
    """
    if isinstance(operating_point, dict) and set(operating_point) == {"rule"}:
        operating_point = operating_point["rule"]
    saved = None
    if operating_point == SAVED:
        saved = threshold_current(product=product, version=version)
        if saved is None:
            raise InvalidInput(
                f"Version {version.number} has no saved operating point; name a rule or a threshold.",
                details={"choices": activation_choices(product=product, version=version)},
            )
        values = {"threshold": saved.threshold, "band_lower": saved.band_lower, "band_upper": saved.band_upper}
        rule = "the operating point saved for this version"
    elif isinstance(operating_point, str):
        suggestions = model_version_suggestions(version=version)
        if operating_point not in suggestions:
            available = ", ".join([SAVED] + list(suggestions))
            raise InvalidInput(
                f"operating_point {operating_point!r} is not one of {available}, nor a threshold or band.",
                details={"choices": activation_choices(product=product, version=version)},
            )
        values = {key: suggestions[operating_point].get(key) for key in ("threshold", "band_lower", "band_upper")}
        rule = f"{operating_point}, {suggestions[operating_point]['rule']}"
    elif (
        isinstance(operating_point, dict)
        and operating_point
        and set(operating_point) <= {"threshold", "band_lower", "band_upper"}
    ):
        values = {key: operating_point.get(key) for key in ("threshold", "band_lower", "band_upper")}
        rule = ""
    else:
        raise InvalidInput(
            'operating_point must be "saved", a rule name, or {"threshold": t} or {"band_lower": a, "band_upper": b}.'
        )
    threshold, band_lower, band_upper = score_analysis.operating_point_check(method=version.method, **values)
    values = {"threshold": threshold, "band_lower": band_lower, "band_upper": band_upper}
    labels, scores = _evaluation_scores(version)
    return {
        "saved": saved,
        "values": values,
        "rule": rule,
        "effect": score_analysis.operating_point(labels, scores, **values),
    }


def _named_setting(product: Product, version: ModelVersion, operating_point, reason: str, set_by) -> ThresholdSetting:
    """The setting the activation puts in force: the saved one, or a new one recorded with the activation's reason."""
    proposal = activation_proposal(product=product, version=version, operating_point=operating_point)
    if proposal["saved"] is not None:
        return proposal["saved"]
    why = f"{reason} (set on activation: {proposal['rule']})" if proposal["rule"] else f"{reason} (set on activation)"
    return threshold_set(product=product, version=version, reason=why, set_by=set_by, **proposal["values"])


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
        rejected = sum(1 for row in normals if new_setting.decide(row.score) == score_analysis.REJECT)
        report["false_call_rate"] = rejected / len(normals)
        report["false_calls"] = rejected
    else:
        report["false_call_rate"] = None
        report["false_calls"] = None
    report["normal_count"] = len(normals)
    old_setting = threshold_current(product=product, version=old) if old else None
    if old is None or old_setting is None or new_setting is None:
        report.update(
            passed=None,
            compared_defects=0,
            missed=[],
            note="No previously active version with an operating point to compare with."
            if new_setting is not None
            else "The new version has no operating point.",
        )
        return report
    old_scores = {row.checksum: row.score for row in EvaluationScore.objects.filter(version=old)}
    missed, compared, old_rejected = [], 0, 0
    for checksum, row in new_scores.items():
        if row.label != "defective" or checksum not in old_scores:
            continue
        compared += 1
        if old_setting.decide(old_scores[checksum]) != score_analysis.REJECT:
            continue
        old_rejected += 1
        decision = new_setting.decide(row.score)
        if decision != score_analysis.REJECT:
            missed.append(
                {
                    "image": row.image_id,
                    "checksum": checksum,
                    "defect_type": row.defect_type,
                    "score": row.score,
                    "decision": decision,
                }
            )
    report.update(
        passed=not missed,
        compared_defects=compared,
        rejected_by_old=old_rejected,
        missed=missed,
        note=(
            "Every defective image the previous version rejected is still rejected."
            if not missed
            else f"{len(missed)} defective image(s) the previous version rejected are no longer rejected."
        ),
    )
    if compared == 0:
        report["note"] = "The two versions share no defective evaluation image; nothing to compare."
    return report
