"""What the production dashboard shows about a product over a period: counts and rates by decision and by
version, activation moments, engine latency and throughput, the review backlog, and time series.

Periods end now and reach back a fixed length ("shift" is the last 8 hours);
each is compared with the period of the same length just before it. A part
belongs to a period by the moment it was inspected; parts still waiting for a
worker are not counted yet.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from inspection.errors import InvalidInput
from inspection.models import Activation, Inspection, ModelVersion, Product, ReviewItem
from inspection.selectors.inspection_counts import counts_grouped


@dataclass(frozen=True)
class Period:
    key: str
    words: str
    length: timedelta
    bucket: str  # "hour" or "day"


PERIODS = {
    "shift": Period("shift", "last 8 hours", timedelta(hours=8), "hour"),
    "day": Period("day", "last 24 hours", timedelta(hours=24), "hour"),
    "week": Period("week", "last 7 days", timedelta(days=7), "hour"),
    "month": Period("month", "last 30 days", timedelta(days=30), "day"),
}
# Engine latency is read over at most this many of the period's most recent parts.
LATENCY_PARTS = 10_000
DECISIONS = (Inspection.Decision.PASS, Inspection.Decision.REVIEW, Inspection.Decision.REJECT)
# Review items waiting longer than these are counted in the backlog's age groups.
BACKLOG_AGES = (
    ("under an hour", timedelta(hours=1)),
    ("1 to 8 hours", timedelta(hours=8)),
    ("8 to 24 hours", timedelta(hours=24)),
    ("over a day", None),
)


def period_get(key: str | None) -> Period:
    if not key:
        return PERIODS["day"]
    if key not in PERIODS:
        raise InvalidInput(f"period must be one of {', '.join(PERIODS)}, not {key!r}.")
    return PERIODS[key]


def _inspected_between(product: Product, start: datetime, end: datetime) -> QuerySet[Inspection]:
    return Inspection.objects.filter(product=product, inspected_at__gte=start, inspected_at__lt=end)


def _with_rates(counts: dict) -> dict:
    parts = counts["parts"]
    rates = {f"{decision}_rate": (counts[decision] / parts if parts else None) for decision in DECISIONS}
    return {**counts, **rates}


def counts_by_version(groups: list[dict]) -> list[dict]:
    """Decision counts and rates per model version, newest version first."""
    versions: dict = {}
    for group in groups:
        row = versions.setdefault(group["version_id"], {"parts": 0, **dict.fromkeys(DECISIONS, 0)})
        row["parts"] += group["parts"]
        if group["decision"] in DECISIONS:
            row[group["decision"]] += group["parts"]
    numbers = dict(ModelVersion.objects.filter(pk__in=[key for key in versions if key]).values_list("pk", "number"))
    rows = [{**_with_rates(row), "version_id": key, "version": numbers.get(key)} for key, row in versions.items()]
    return sorted(rows, key=lambda row: -(row["version"] or 0))


def totals_of(groups: list[dict]) -> dict:
    counts = {"parts": sum(group["parts"] for group in groups)}
    for decision in DECISIONS:
        counts[decision] = sum(group["parts"] for group in groups if group["decision"] == decision)
    return _with_rates(counts)


def engine_latency(inspections: QuerySet[Inspection]) -> dict:
    """Median and 95th percentile of the seconds the engine spent per part, over the period's last
    LATENCY_PARTS parts (all of them for a shift or a day on most lines): recent enough to show a
    slow-down, and read through the time index instead of sorting a month of rows."""
    values = sorted(
        inspections.filter(engine_seconds__isnull=False)
        .order_by("-inspected_at")
        .values_list("engine_seconds", flat=True)[:LATENCY_PARTS]
    )
    return {"count": len(values), "median": _percentile(values, 0.5), "p95": _percentile(values, 0.95)}


def _percentile(ordered: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (what PostgreSQL's percentile_cont computes)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def decision_series(groups: list[dict], *, period: Period, start: datetime, end: datetime, zone) -> dict:
    """Parts per decision in each hour (or day) of the period, empty buckets included.

    Bucket starts are Unix seconds; days begin at midnight in `zone`.
    """
    found: dict = {}
    for group in groups:
        key = int(group["bucket"].timestamp())
        found.setdefault(key, dict.fromkeys(DECISIONS, 0))
        if group["decision"] in DECISIONS:
            found[key][group["decision"]] += group["parts"]
    buckets = _bucket_starts(period, start, end, zone)
    return {
        "bucket": period.bucket,
        "times": buckets,
        **{decision: [found.get(moment, {}).get(decision, 0) for moment in buckets] for decision in DECISIONS},
    }


def _bucket_starts(period: Period, start: datetime, end: datetime, zone) -> list[int]:
    local = start.astimezone(zone)
    if period.bucket == "hour":
        moment = local.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
    else:
        moment = local.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(days=1)
    starts = []
    while moment < end:
        starts.append(int(moment.timestamp()))
        if period.bucket == "day":
            # Whole local days, also across a daylight-saving change.
            moment = (moment.replace(tzinfo=None) + step).replace(tzinfo=zone)
        else:
            moment = (moment.astimezone(zoneinfo.ZoneInfo("UTC")) + step).astimezone(zone)
    return starts


def review_backlog(*, product: Product, now: datetime) -> dict:
    """Review items not decided yet: how many, since when, and how many waited how long."""
    pending = ReviewItem.objects.filter(product=product).exclude(status=ReviewItem.Status.DECIDED)
    bounds = {}
    newer_than = now
    for position, (_, age) in enumerate(BACKLOG_AGES):
        condition = Q(created_at__lte=newer_than)
        if age is not None:
            condition &= Q(created_at__gt=now - age)
            newer_than = now - age
        bounds[f"age_{position}"] = Count("id", filter=condition)
    result = pending.aggregate(pending=Count("id"), oldest_at=Min("created_at"), **bounds)
    return {
        "pending": result["pending"],
        "oldest_at": result["oldest_at"],
        "oldest_age_seconds": (now - result["oldest_at"]).total_seconds() if result["oldest_at"] else None,
        "by_age": [
            {"age": words, "count": result[f"age_{position}"]} for position, (words, _) in enumerate(BACKLOG_AGES)
        ],
    }


def activations_between(*, product: Product, start: datetime, end: datetime) -> list[dict]:
    """The activations in the period, oldest first, and the one in force when it began."""
    in_period = list(
        Activation.objects.filter(product=product, activated_at__gte=start, activated_at__lt=end)
        .select_related("version", "activated_by")
        .order_by("activated_at", "id")
    )
    before = (
        Activation.objects.filter(product=product, activated_at__lt=start)
        .select_related("version", "activated_by")
        .order_by("-activated_at", "-id")
        .first()
    )
    rows = [_activation_row(activation, in_period=True) for activation in in_period]
    if before is not None:
        rows.insert(0, _activation_row(before, in_period=False))
    return rows


def _activation_row(activation: Activation, *, in_period: bool) -> dict:
    return {
        "version": activation.version.number,
        "version_id": activation.version_id,
        "at": activation.activated_at,
        "time": int(activation.activated_at.timestamp()),
        "by": activation.activated_by.username if activation.activated_by else "",
        "reason": activation.reason,
        "in_period": in_period,
    }


def production_dashboard(
    *, product: Product, period_key: str | None = None, zone=None, now: datetime | None = None
) -> dict:
    """Everything the dashboard shows for the period ending `now` (default: this moment)."""
    period = period_get(period_key)
    zone = zone or timezone.get_default_timezone()
    now = now or timezone.now()
    start = now - period.length
    inspections = _inspected_between(product, start, now)
    groups = counts_grouped(product=product, start=start, end=now, bucket=period.bucket, zone=zone)
    totals = totals_of(groups)
    hours = period.length.total_seconds() / 3600
    series = decision_series(groups, period=period, start=start, end=now, zone=zone)
    per_bucket = [sum(parts) for parts in zip(*(series[decision] for decision in DECISIONS), strict=True)]
    busiest = max(range(len(per_bucket)), key=per_bucket.__getitem__) if per_bucket else None
    return {
        "period": {"key": period.key, "words": period.words, "start": start, "end": now, "bucket": period.bucket},
        "periods": [(key, value.words) for key, value in PERIODS.items()],
        "totals": totals,
        "previous": totals_of(
            counts_grouped(product=product, start=start - period.length, end=start, bucket="day", zone=zone)
        ),
        "by_version": counts_by_version(groups),
        "activations": activations_between(product=product, start=start, end=now),
        "latency": engine_latency(inspections),
        "throughput": {
            "per_hour": totals["parts"] / hours,
            "busiest_parts": per_bucket[busiest] if busiest is not None and per_bucket[busiest] else 0,
            "busiest_at": series["times"][busiest] if busiest is not None and per_bucket[busiest] else None,
        },
        "backlog": review_backlog(product=product, now=now),
        "series": series,
    }
