"""The production dashboard's figures as JSON, for the page's charts and for other tools on the line."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.selectors.dashboard import PERIODS, production_dashboard
from inspection.selectors.inspection_history import time_zone_from
from inspection.selectors.products import product_get


class ProductDashboardApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("period", str, enum=list(PERIODS), description="shift (8 h), day (default), week, month."),
            OpenApiParameter("tz", str, description="IANA time zone in which days of the series begin."),
        ],
        responses=OpenApiTypes.OBJECT,
        description=(
            "Over the period ending now and the one before it: parts and pass / review / reject counts and rates "
            "(`totals`, `previous`), the same per version (`by_version`), activations (`activations`, the one in "
            "force when the period began first), engine latency median and 95th percentile in seconds "
            "(`latency`), parts per hour (`throughput`), the review backlog and its age (`backlog`), and parts "
            "per decision per hour or day (`series`, bucket starts in Unix seconds)."
        ),
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        zone = time_zone_from(request.query_params.get("tz"))
        return Response(production_dashboard(product=product, period_key=request.query_params.get("period"), zone=zone))
