"""Reads for a product's inspection history: the filtered list, the CSV rows, and the choices its filters offer."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator, Mapping
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from inspection.errors import InvalidInput
from inspection.models import DefectType, Inspection, ModelVersion, Product
from inspection.selectors.inspection_filters import InspectionHistoryFilter, order_by_key

# Rows fetched from the database per round trip while a CSV export streams.
EXPORT_CHUNK = 2000
# Lists count their matches up to this many: an exact count of a million rows costs more than the page
# itself, and beyond this a person narrows the filters (or exports) rather than paging.
COUNT_LIMIT = 10_000

EXPORT_COLUMNS = (
    "id",
    "inspected_at",
    "submitted_at",
    "part",
    "status",
    "decision",
    "score",
    "version",
    "user",
    "review",
    "defect_type",
    "reason",
    "engine_seconds",
)


def time_zone_from(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The IANA time zone called `name`, None when no name is given; a bad name is refused."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"tz must be an IANA time zone name such as Europe/Berlin, not {name!r}.") from error


def inspection_history(*, product: Product, params: Mapping, default_ordering: str = "-time") -> QuerySet[Inspection]:
    """The product's inspections matching the history filters in `params` (a QueryDict or a dict).

    Unknown parameters are ignored (the page's `page` and `tz`, for instance);
    a bad value of a known one is refused with every problem named.
    """
    base = (
        Inspection.objects.filter(product=product)
        .select_related("version", "created_by", "review_item", "repeat_of__review_item", "nearest_image")
        .order_by(*order_by_key(default_ordering))
    )
    zone = time_zone_from(params.get("tz"))
    with timezone.override(zone or timezone.get_default_timezone()):
        history = InspectionHistoryFilter(data=params, queryset=base)
        if not history.is_valid():
            raise InvalidInput(_describe_errors(history), details={"errors": history.errors})
        return history.qs


def count_up_to(inspections: QuerySet[Inspection], limit: int) -> int:
    """How many inspections match, but at most limit + 1 (which means "more than limit")."""
    return inspections.order_by()[: limit + 1].count()


class LimitedCountPaginator(Paginator):
    """Counts at most COUNT_LIMIT + 1 matches, so a million inspections page as fast as a thousand."""

    @cached_property
    def limit(self) -> int:
        return COUNT_LIMIT

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, list):
            return len(self.object_list)
        return count_up_to(self.object_list, self.limit)

    @property
    def count_is_lower_bound(self) -> bool:
        return self.count > self.limit


def _describe_errors(history: InspectionHistoryFilter) -> str:
    sentences = []
    for name, errors in history.errors.items():
        for error in errors:
            sentences.append(f"{name}: {error}")
    return " ".join(sentences)


def inspection_history_export_rows(*, inspections: QuerySet[Inspection], zone=None) -> Iterator[tuple]:
    """One tuple per inspection in EXPORT_COLUMNS order, read in chunks so that any number of rows streams.

    Times are ISO 8601 with their offset, in `zone` (UTC when None).
    """
    zone = zone or zoneinfo.ZoneInfo("UTC")
    rows = inspections.values_list(
        "id",
        "inspected_at",
        "created_at",
        "original_name",
        "status",
        "decision",
        "score",
        "version__number",
        "created_by__username",
        "review_item__status",
        "review_item__decision",
        "review_item__defect_type",
        "reason",
        "engine_seconds",
    )
    for (
        identifier,
        inspected_at,
        created_at,
        name,
        status,
        decision,
        score,
        version,
        user,
        review_status,
        verdict,
        defect_type,
        reason,
        engine_seconds,
    ) in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield (
            identifier,
            _iso(inspected_at, zone),
            _iso(created_at, zone),
            name,
            status,
            decision,
            "" if score is None else repr(score),
            "" if version is None else version,
            user or "",
            review_outcome(review_status, verdict),
            defect_type or "",
            reason,
            "" if engine_seconds is None else round(engine_seconds, 4),
        )


def review_outcome(review_status: str | None, verdict: str | None) -> str:
    """What review made of a part: none, pending, normal or defective (the history filter's words)."""
    if review_status is None:
        return "none"
    if review_status != "decided":
        return "pending"
    return verdict or "pending"


def _iso(moment: datetime | None, zone) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat(timespec="seconds")


def inspection_history_choices(*, product: Product) -> dict:
    """What the history page's drop-down filters offer: the product's versions, users and defect types."""
    return {
        "versions": list(ModelVersion.objects.filter(product=product).order_by("-number").values("id", "number")),
        "users": list(get_user_model().objects.order_by("username").values_list("username", flat=True)),
        "defect_types": list(
            DefectType.objects.filter(product=product).order_by("name").values_list("name", flat=True)
        ),
    }
