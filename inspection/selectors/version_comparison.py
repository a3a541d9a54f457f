"""Two versions of a product side by side, on the evaluation images both of them scored."""

from __future__ import annotations

from inspection.models import ModelVersion, Product, ThresholdSetting
from inspection.selectors.model_versions import evaluation_score_list, threshold_current


def model_version_comparison(*, product: Product, a: ModelVersion, b: ModelVersion) -> dict:
    """How versions `a` and `b` decide the evaluation images they share (the same checksum).

    {setting_a, setting_b: the operating point of each, or None;
     shared: [{image, checksum, label, defect_type, score_a, score_b, decision_a, decision_b, differs}],
       differing decisions first, then defective images, then by a's score, highest first;
     tally_a, tally_b: {label: {decision: count}}, None for a version without an operating point;
     differing: how many shared images get a different decision}
    """
    setting_a = threshold_current(product=product, version=a)
    setting_b = threshold_current(product=product, version=b)
    scores_b = {row.checksum: row.score for row in evaluation_score_list(version=b)}
    shared = []
    for row in evaluation_score_list(version=a):
        score_b = scores_b.get(row.checksum)
        if score_b is None:
            continue
        decision_a, decision_b = _decision(row.score, setting_a), _decision(score_b, setting_b)
        shared.append(
            {
                "image": row.image,
                "checksum": row.checksum,
                "label": row.label,
                "defect_type": row.defect_type,
                "score_a": row.score,
                "score_b": score_b,
                "decision_a": decision_a,
                "decision_b": decision_b,
                # Without an operating point a version makes no decision, so nothing differs.
                "differs": bool(decision_a and decision_b and decision_a != decision_b),
            }
        )
    shared.sort(key=lambda row: (not row["differs"], row["label"] != "defective", -row["score_a"]))
    return {
        "setting_a": setting_a,
        "setting_b": setting_b,
        "shared": shared,
        "tally_a": _tally(shared, "decision_a") if setting_a else None,
        "tally_b": _tally(shared, "decision_b") if setting_b else None,
        "differing": sum(1 for row in shared if row["differs"]),
    }


def _decision(score: float, setting: ThresholdSetting | None) -> str | None:
    if setting is None:
        return None
    return setting.decide(score)


def _tally(rows: list[dict], key: str) -> dict:
    """Decisions of one version on the shared images, per true label."""
    tally = {label: {"pass": 0, "review": 0, "reject": 0} for label in ("normal", "defective")}
    for row in rows:
        decision = row[key]
        if decision:
            tally[row["label"]][decision] += 1
    return tally
