"""The filters of a product's inspection history, shared by the history page, the list endpoint and the CSV export.

Times are ISO 8601. A time without an offset ("2026-12-01T08:00", what a
browser's date-time field sends) is read in the time zone named by `tz`
(an IANA name such as "Europe/Berlin"), else in the server's TIME_ZONE.

Sorting: `ordering` is time or score, "-" for descending. Parts not inspected
yet (waiting for a worker) count as the newest, parts that could not be scored
as the highest: that is where a person looks first, and it is the order in
which a database index on the column returns rows in both directions.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import F, Q, QuerySet

from inspection.models import Inspection, ReviewItem

REVIEW_OUTCOMES = [
    ("none", "not sent to review"),
    ("pending", "waiting for review"),
    ("normal", "judged normal"),
    ("defective", "judged defective"),
]

ORDERINGS = [
    ("-time", "newest first"),
    ("time", "oldest first"),
    ("-score", "highest score first"),
    ("score", "lowest score first"),
    ("-submitted", "newest submitted first"),
]

_ORDER_BY = {
    "-time": (F("inspected_at").desc(nulls_first=True), F("id").desc()),
    "time": (F("inspected_at").asc(nulls_last=True), F("id").asc()),
    "-score": (F("score").desc(nulls_first=True), F("id").desc()),
    "score": (F("score").asc(nulls_last=True), F("id").asc()),
    "-submitted": (F("created_at").desc(), F("id").desc()),
}


class WholeNumberFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class IdFilter(WholeNumberFilter):
    """A row id: a whole number from 1, refused with words that name what it identifies."""

    def __init__(self, *args, name: str, what: str, **kwargs):
        message = f"{name} must be {what} id (a whole number from 1)."
        super().__init__(*args, min_value=1, error_messages={"invalid": message, "min_value": message}, **kwargs)


class InspectionHistoryFilter(django_filters.FilterSet):
    inspected_after = django_filters.IsoDateTimeFilter(
        field_name="inspected_at",
        lookup_expr="gte",
        label="Inspected from",
        help_text="ISO 8601 time; parts inspected at or after it.",
    )
    inspected_before = django_filters.IsoDateTimeFilter(
        field_name="inspected_at",
        lookup_expr="lt",
        label="Inspected before",
        help_text="ISO 8601 time; parts inspected before it.",
    )
    # Not distinct: these are columns of the inspection itself, so no row can appear twice, and
    # SELECT DISTINCT over every column would sort the whole match before the first page.
    decision = django_filters.MultipleChoiceFilter(
        choices=Inspection.Decision.choices,
        distinct=False,
        help_text="pass, review or reject; repeat the parameter for several.",
    )
    status = django_filters.MultipleChoiceFilter(choices=Inspection.Status.choices, distinct=False)
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score from")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte", label="Score up to")
    version = IdFilter(field_name="version_id", name="version", what="a model version", help_text="Model version id.")
    user = django_filters.CharFilter(
        field_name="created_by__username", help_text="User name (or station account) that submitted the part."
    )
    review = django_filters.ChoiceFilter(
        choices=REVIEW_OUTCOMES,
        method="filter_review",
        label="Review outcome",
        help_text="none, pending, normal or defective.",
    )
    defect_type = django_filters.CharFilter(
        field_name="review_item__defect_type",
        lookup_expr="iexact",
        help_text="Defect type a reviewer gave the part.",
    )
    job = IdFilter(field_name="job_id", name="job", what="a job", help_text="Batch job id.")
    ordering = django_filters.ChoiceFilter(
        choices=ORDERINGS,
        method="filter_ordering",
        empty_label=None,
        help_text="time, -time, score, -score or -submitted (default).",
    )

    class Meta:
        model = Inspection
        fields: list[str] = []

    def filter_review(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "none":
            return queryset.filter(review_item__isnull=True)
        if value == "pending":
            return queryset.filter(review_item__isnull=False).exclude(review_item__status=ReviewItem.Status.DECIDED)
        return queryset.filter(Q(review_item__status=ReviewItem.Status.DECIDED) & Q(review_item__decision=value))

    def filter_ordering(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.order_by(*_ORDER_BY[value])


def order_by_key(key: str) -> tuple:
    """The ORDER BY expressions of one of ORDERINGS."""
    return _ORDER_BY[key]
