"""What a version's scores say: metrics, curves, suggested operating points and decisions.

Pure functions of scores and labels (no database), shared by the training
service, the operating-point selector and the promotion gate. Labels are
"normal" / "defective" strings here; the engine's metrics take 0/1.

Decision rule (the engine's, extended by the review band): with a single
threshold T, score >= T is "reject", anything lower "pass"; with a band
T1 < T2, score < T1 is "pass", T1 <= score < T2 is "review" and score >= T2 is
"reject". A part that could not be scored (registration failed) is "review".
"""

from __future__ import annotations

import math

import numpy as np

from inspection.engine.methods import canonical_method_name
from inspection.engine.scoring import metrics as engine_metrics
from inspection.engine.scoring import thresholds as engine_thresholds
from inspection.errors import InvalidInput

# Operating points suggested for a new version, stored with its metrics.
SUGGESTED_MIN_RECALL = 1.0
SUGGESTED_MAX_FALSE_CALL_RATE = 0.05
SUGGESTED_NORMAL_QUANTILE = 0.99

PASS, REVIEW, REJECT = "pass", "review", "reject"

# Methods whose image score is a distance or an error magnitude, so never below 0.
# patch-knn is absent: its scores are standardised by the training scores and
# a normal part scores around 0, below it as often as above.
NON_NEGATIVE_SCORE_METHODS = frozenset({"cpcae-knn", "ae-l2", "deep-feature", "variation", "nearest-image"})


def score_floor(method: str) -> float | None:
    """The lowest score `method` can give, or None when its scores can be any real number."""
    # Versions saved under a former method name (nn) keep it in the database.
    return 0.0 if canonical_method_name(method) in NON_NEGATIVE_SCORE_METHODS else None


def operating_point_check(*, method: str, threshold=None, band_lower=None, band_upper=None) -> tuple:
    """(threshold, band_lower, band_upper) as floats when they make a valid operating point, else InvalidInput.

    Valid: one threshold, or a band with band_lower < band_upper; every value
    a finite number the method's scores can reach (a threshold below every
    score the method can give would reject every part without saying so).
    """
    floor = score_floor(method)
    for name, value in (("threshold", threshold), ("band_lower", band_lower), ("band_upper", band_upper)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise InvalidInput(f"{name} must be a number, not {value!r}.")
        if not math.isfinite(value):
            raise InvalidInput(f"{name} must be a finite number, not {value}.")
        if floor is not None and value < floor:
            raise InvalidInput(
                f"{name} must be at least {floor:g}: {method} scores are distances, never negative (got {value})."
            )
    if threshold is not None:
        if band_lower is not None or band_upper is not None:
            raise InvalidInput("Give either threshold, or band_lower and band_upper, not both.")
        return float(threshold), None, None
    if band_lower is None or band_upper is None:
        raise InvalidInput("Give threshold, or both band_lower and band_upper.")
    if not band_lower < band_upper:
        raise InvalidInput(f"band_lower ({band_lower}) must be below band_upper ({band_upper}).")
    return None, float(band_lower), float(band_upper)


def decide(
    score: float, *, threshold: float | None = None, band_lower: float | None = None, band_upper: float | None = None
) -> str:
    """pass / review / reject for `score` under a single threshold or a band."""
    if threshold is not None:
        return REJECT if score >= threshold else PASS
    if score >= band_upper:
        return REJECT
    return REVIEW if score >= band_lower else PASS


def doubt(
    score: float | None,
    *,
    threshold: float | None = None,
    band_lower: float | None = None,
    band_upper: float | None = None,
) -> float:
    """Distance of `score` from the middle of the decision boundary; smaller is more doubtful."""
    if score is None or not math.isfinite(score):
        return 0.0
    middle = threshold if threshold is not None else (band_lower + band_upper) / 2.0
    return abs(float(score) - middle)


def _binary(labels: list[str]) -> np.ndarray:
    return np.array([label == "defective" for label in labels], dtype=bool)


def summarise(labels: list[str], scores: list[float], training_scores) -> tuple[dict, dict, bool]:
    """(metrics, curves, evaluated) for a version's evaluation images and its training scores.

    `evaluated` is True when there were normal and defective evaluation images,
    so that AUROC, AP and the curves exist.
    """
    defective = _binary(labels)
    score_array = np.asarray(scores, dtype=np.float64)
    training = np.asarray(training_scores, dtype=np.float64).ravel()
    metrics: dict = {
        "eval_normal_count": int((~defective).sum()),
        "eval_defective_count": int(defective.sum()),
        "image_auroc": None,
        "average_precision": None,
        "training_scores": _spread(training),
        "operating_points": {},
    }
    curves: dict = {}
    points = metrics["operating_points"]
    if training.size and np.isfinite(training).all():
        points["normal_quantile"] = engine_thresholds.normal_quantile_threshold(
            training, SUGGESTED_NORMAL_QUANTILE
        ).as_dict()
    evaluated = bool(defective.any() and (~defective).any())
    if score_array.size:
        curves["histogram"] = engine_metrics.score_histogram(defective, score_array, bins=20)
    if evaluated:
        metrics["image_auroc"] = engine_metrics.image_auroc(defective, score_array)
        metrics["average_precision"] = engine_metrics.average_precision(defective, score_array)
        curves["roc"] = engine_metrics.roc_curve_points(defective, score_array)
        curves["pr"] = engine_metrics.pr_curve_points(defective, score_array)
        points["max_f1"] = engine_thresholds.max_f1_threshold(defective, score_array).as_dict()
        points["escape_budget"] = engine_thresholds.escape_budget_threshold(
            defective, score_array, SUGGESTED_MIN_RECALL
        ).as_dict()
        points["false_call_budget"] = engine_thresholds.false_call_budget_threshold(
            defective, score_array, SUGGESTED_MAX_FALSE_CALL_RATE
        ).as_dict()
        points["band"] = engine_thresholds.uncertain_band(
            defective, score_array, min_recall=SUGGESTED_MIN_RECALL, max_false_call_rate=SUGGESTED_MAX_FALSE_CALL_RATE
        ).as_dict()
    elif score_array.size and not defective.any():
        points["false_call_budget"] = engine_thresholds.false_call_budget_threshold(
            defective, score_array, SUGGESTED_MAX_FALSE_CALL_RATE
        ).as_dict()
    metrics["suggested"] = _suggestion(points)
    return metrics, curves, evaluated


def _suggestion(points: dict) -> dict | None:
    for key, rule in (
        ("max_f1", "max-f1 on the evaluation images"),
        ("false_call_budget", "false-call budget on normal evaluation images"),
        ("normal_quantile", "99th percentile of the training images' scores"),
    ):
        point = points.get(key)
        if point and point.get("threshold") is not None:
            return {"threshold": point["threshold"], "rule": rule}
    return None


# Operating points a version can be activated with by name, and what each rule is.
SUGGESTION_RULES = {
    "max-f1": "max-F1 on the evaluation images",
    "escape-budget": "the highest threshold that still rejects every defective evaluation image",
    "false-call-budget": f"the lowest threshold rejecting at most {SUGGESTED_MAX_FALSE_CALL_RATE:.0%} of the normal "
    "evaluation images",
    "review-band": "a review band from the escape budget up to the false-call budget",
    "normal-quantile": f"the {SUGGESTED_NORMAL_QUANTILE:.0%} quantile of the training images' scores",
}


def suggested_points(labels: list[str], scores: list[float], *, normal_quantile: float | None = None) -> dict:
    """Each suggestion rule that applies, by name: its threshold or band and what it does on the evaluation images.

    Computed from the stored evaluation scores, so every version gets the
    current placement rule (mid-gap) with its margin and intervals.
    `normal_quantile` is the training-score threshold stored with the version.
    """
    defective = _binary(labels)
    score_array = np.asarray(scores, dtype=np.float64)
    placed: dict[str, dict] = {}
    if defective.any():
        placed["max-f1"] = {"threshold": engine_thresholds.max_f1_threshold(defective, score_array).threshold}
        placed["escape-budget"] = {
            "threshold": engine_thresholds.escape_budget_threshold(
                defective, score_array, SUGGESTED_MIN_RECALL
            ).threshold
        }
    if (~defective).any():
        placed["false-call-budget"] = {
            "threshold": engine_thresholds.false_call_budget_threshold(
                defective, score_array, SUGGESTED_MAX_FALSE_CALL_RATE
            ).threshold
        }
    if defective.any() and (~defective).any():
        band = engine_thresholds.uncertain_band(
            defective, score_array, min_recall=SUGGESTED_MIN_RECALL, max_false_call_rate=SUGGESTED_MAX_FALSE_CALL_RATE
        )
        if band.lower < band.upper:
            placed["review-band"] = {"band_lower": band.lower, "band_upper": band.upper}
    if normal_quantile is not None and math.isfinite(normal_quantile):
        placed["normal-quantile"] = {"threshold": float(normal_quantile)}
    return {
        name: {"name": name, "rule": SUGGESTION_RULES[name], **operating_point(labels, scores, **values)}
        for name, values in placed.items()
    }


def _spread(values: np.ndarray) -> dict:
    if not values.size or not np.isfinite(values).all():
        return {}
    return {"min": float(values.min()), "median": float(np.median(values)), "max": float(values.max())}


def operating_point(
    labels: list[str],
    scores: list[float],
    *,
    threshold: float | None = None,
    band_lower: float | None = None,
    band_upper: float | None = None,
) -> dict:
    """What an operating point does on labelled scores: confusion matrix and rates.

    For a band, "rejected" means score >= upper, precision / recall / F1 /
    false-call rate are those of automatic rejection, and `review` counts the
    images in the band per class; `recall_with_review` is the share of
    defective images not passed automatically.
    """
    defective = _binary(labels)
    score_array = np.asarray(scores, dtype=np.float64)
    reject_from = threshold if threshold is not None else band_upper
    result: dict = {
        "threshold": threshold,
        "band_lower": band_lower,
        "band_upper": band_upper,
        "normal_count": int((~defective).sum()),
        "defective_count": int(defective.sum()),
    }
    if not score_array.size:
        return {**result, "confusion": None, "note": "no evaluation images were scored"}
    rates = engine_metrics.rates_at(defective, score_array, reject_from)
    result["confusion"] = {key: rates[key] for key in ("tp", "fp", "tn", "fn")}
    for key in ("precision", "recall", "f1", "false_call_rate", "accuracy"):
        result[key] = engine_metrics.json_number(rates[key])
    decisions = [
        decide(score, threshold=threshold, band_lower=band_lower, band_upper=band_upper) for score in score_array
    ]
    counts = {label: {PASS: 0, REVIEW: 0, REJECT: 0} for label in ("normal", "defective")}
    for is_defective, decision in zip(defective, decisions):
        counts["defective" if is_defective else "normal"][decision] += 1
    result["decisions"] = counts
    result["review_rate"] = sum(count[REVIEW] for count in counts.values()) / len(decisions)
    if defective.any():
        result["recall_with_review"] = 1.0 - counts["defective"][PASS] / int(defective.sum())
    else:
        result["recall_with_review"] = None
    result["margin"] = margin(defective, score_array, reject_from)
    if band_lower is not None:
        result["review_margin"] = margin(defective, score_array, band_lower)
    result.update(_trust(result, counts))
    return json_safe(result)


def margin(defective: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """How far `threshold` lies from the nearest defective and the nearest normal score.

    Distances are also given relative to the normal scores' spread (their
    standard deviation), the natural unit of how much a normal part's score
    varies: a relative margin well below 1 means an ordinary variation of a
    part's score can flip its decision. The spread is None with fewer than two
    normal scores or when they are all equal.
    """
    normal_scores, defect_scores = scores[~defective], scores[defective]
    spread = float(np.std(normal_scores, ddof=1)) if normal_scores.size >= 2 else None
    spread = spread if spread else None
    result: dict = {"normal_spread": spread}
    for name, values in (("defective", defect_scores), ("normal", normal_scores)):
        if not values.size:
            result.update({f"nearest_{name}": None, f"to_{name}": None, f"relative_to_{name}": None})
            continue
        nearest = float(values[np.argmin(np.abs(values - threshold))])
        distance = abs(nearest - threshold)
        result.update(
            {
                f"nearest_{name}": nearest,
                f"to_{name}": distance,
                f"relative_to_{name}": distance / spread if spread else None,
            }
        )
    relatives = [
        value for value in (result["relative_to_defective"], result["relative_to_normal"]) if value is not None
    ]
    result["relative"] = min(relatives) if relatives else None
    return result


BOOTSTRAP_CONFIDENCE = 0.95
# Fewer evaluation images of a class than this and the page warns that its rates are not to be trusted alone.
FEW_IMAGES = 20


def bootstrap_interval(successes: int, trials: int, confidence: float = BOOTSTRAP_CONFIDENCE) -> tuple[float, float]:
    """Percentile bootstrap interval of a rate at a fixed threshold, computed exactly.

    Resampling the `trials` images of one class with replacement, the number
    of successes (defects rejected, or normals rejected) in a resample is
    Binomial(trials, successes / trials); the interval is that distribution's
    (1 - confidence) / 2 and (1 + confidence) / 2 quantiles (the smallest k
    whose cumulative probability reaches the level), divided by `trials`.
    This is the bootstrap with infinitely many resamples: no random draws, so
    the page shows the same interval on every visit. Each class is resampled
    on its own (the evaluation set's class sizes were chosen, not sampled).
    (nan, nan) for no trials; at 0 or all successes it collapses to a point,
    which is why the Wilson interval is reported beside it.
    """
    if trials <= 0:
        return math.nan, math.nan
    rate = successes / trials
    if successes in (0, trials):
        return rate, rate
    counts = np.arange(trials + 1)
    log_pmf = (
        math.lgamma(trials + 1)
        - np.array([math.lgamma(k + 1) + math.lgamma(trials - k + 1) for k in counts])
        + counts * math.log(rate)
        + (trials - counts) * math.log1p(-rate)
    )
    cumulative = np.cumsum(np.exp(log_pmf))
    tail = (1.0 - confidence) / 2.0
    lower = int(np.searchsorted(cumulative, tail - 1e-12, side="left"))
    upper = int(np.searchsorted(cumulative, 1.0 - tail - 1e-12, side="left"))
    return lower / trials, min(upper, trials) / trials


def _trust(point: dict, counts: dict) -> dict:
    """Bootstrap and Wilson 95 % intervals of the point's rates, and warnings when the images are too few."""
    normal_count, defect_count = point["normal_count"], point["defective_count"]
    rejected_defects, rejected_normals = counts["defective"][REJECT], counts["normal"][REJECT]
    flagged_defects = defect_count - counts["defective"][PASS]
    intervals = {
        "confidence": BOOTSTRAP_CONFIDENCE,
        "recall": bootstrap_interval(rejected_defects, defect_count),
        "false_call_rate": bootstrap_interval(rejected_normals, normal_count),
        "recall_with_review": bootstrap_interval(flagged_defects, defect_count),
        "recall_wilson": engine_metrics.wilson_interval(rejected_defects, defect_count),
        "false_call_rate_wilson": engine_metrics.wilson_interval(rejected_normals, normal_count),
    }
    warnings = []
    for name, count, rate_name, wilson in (
        ("defective", defect_count, "recall", intervals["recall_wilson"]),
        ("normal", normal_count, "false-call rate", intervals["false_call_rate_wilson"]),
    ):
        if count == 0:
            warnings.append(f"No {name} evaluation image: the {rate_name} is unknown.")
        elif count < FEW_IMAGES:
            warnings.append(
                f"Only {count} {name} evaluation image{'s' if count != 1 else ''}: the {rate_name} could be anywhere "
                f"from {wilson[0]:.2f} to {wilson[1]:.2f} (Wilson 95 %); label more before trusting it."
            )
    return {"intervals": intervals, "warnings": warnings}


def json_safe(value):
    """NaN and infinity to None, numpy numbers to Python ones (strict JSON for every database)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value
