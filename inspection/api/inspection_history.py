"""The inspection history's filters as API parameters, and the streamed CSV export of a filtered history."""

from __future__ import annotations

import csv
import io

from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.models import Inspection
from inspection.selectors.inspection_filters import ORDERINGS, REVIEW_OUTCOMES
from inspection.selectors.inspection_history import (
    COUNT_LIMIT,
    EXPORT_COLUMNS,
    LimitedCountPaginator,
    inspection_history,
    inspection_history_export_rows,
    time_zone_from,
)
from inspection.selectors.products import product_get

HISTORY_PARAMETERS = [
    OpenApiParameter(
        "inspected_after", OpenApiTypes.DATETIME, description="Parts inspected at or after this time (ISO 8601)."
    ),
    OpenApiParameter(
        "inspected_before", OpenApiTypes.DATETIME, description="Parts inspected before this time (ISO 8601)."
    ),
    OpenApiParameter("tz", str, description="IANA time zone for times given without an offset (and for CSV times)."),
    OpenApiParameter("decision", str, enum=Inspection.Decision.values, many=True, explode=True),
    OpenApiParameter("status", str, enum=Inspection.Status.values, many=True, explode=True),
    OpenApiParameter("score_min", float, description="Score at least this."),
    OpenApiParameter("score_max", float, description="Score at most this."),
    OpenApiParameter("version", int, description="Model version id."),
    OpenApiParameter("user", str, description="User name (or station account) that submitted the part."),
    OpenApiParameter("review", str, enum=[value for value, _ in REVIEW_OUTCOMES], description="Review outcome."),
    OpenApiParameter("defect_type", str, description="Defect type a reviewer gave the part."),
    OpenApiParameter("job", int, description="Batch job id."),
    OpenApiParameter(
        "ordering",
        str,
        enum=[value for value, _ in ORDERINGS],
        description="time = when inspected; default -submitted (newest upload first).",
    ),
]


class HistoryPagination(StandardPagination):
    """Pages whose `count` stops at COUNT_LIMIT + 1, with `count_is_lower_bound` telling when it did."""

    django_paginator_class = LimitedCountPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_is_lower_bound"] = self.page.paginator.count_is_lower_bound
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["count_is_lower_bound"] = {
            "type": "boolean",
            "description": f"True when more than {COUNT_LIMIT} inspections match: count then says {COUNT_LIMIT + 1}.",
        }
        return paginated


# Spreadsheet programs run a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# Rows written per piece of the stream: large enough that the per-piece cost of streaming is
# nothing, small enough that the download starts at once.
ROWS_PER_PIECE = 500
# Columns holding text someone typed or uploaded (the others are numbers, times and fixed words).
_TEXT_COLUMNS = tuple(EXPORT_COLUMNS.index(name) for name in ("part", "user", "defect_type", "reason"))


def _spreadsheet_safe(row: tuple) -> list:
    values = list(row)
    for position in _TEXT_COLUMNS:
        value = values[position]
        if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
            values[position] = "'" + value
    return values


def history_csv_response(*, inspections, zone, filename: str) -> StreamingHttpResponse:
    """The inspections as a CSV download that streams piece by piece, whatever their number."""

    def pieces():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for count, row in enumerate(inspection_history_export_rows(inspections=inspections, zone=zone), start=1):
            writer.writerow(_spreadsheet_safe(row))
            if count % ROWS_PER_PIECE == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(pieces(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class InspectionHistoryExportApi(APIView):
    @extend_schema(
        parameters=HISTORY_PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per inspection.")},
        description=(
            "The filtered inspection history as CSV (same filters as the list; default order newest inspected "
            "first), streamed so that any number of rows can be exported. Times are ISO 8601 in `tz` (UTC "
            f"without it). Columns: {', '.join(EXPORT_COLUMNS)}."
        ),
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        inspections = inspection_history(product=product, params=request.query_params)
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        return history_csv_response(
            inspections=inspections,
            zone=time_zone_from(request.query_params.get("tz")),
            filename=f"inspections-{product.pk}-{stamp}.csv",
        )
