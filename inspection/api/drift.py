"""The drift warning over the API: the statistic now and the warnings recorded, a check, and sending
the recent passes behind a warning to review."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.models import DriftWarning
from inspection.selectors.drift import drift_measure, drift_warning_list, drift_warning_open
from inspection.selectors.products import product_get
from inspection.services.drift import drift_check, drift_recent_passes_to_review

# Warnings listed in the overview, newest first.
WARNINGS_LISTED = 20


class DriftWarningOutputSerializer(serializers.ModelSerializer):
    version_number = serializers.IntegerField(source="version.number", read_only=True)
    sent_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DriftWarning
        fields = (
            "id",
            "version",
            "version_number",
            "started_at",
            "cleared_at",
            "limit",
            "psi",
            "median_shift",
            "recent_count",
            "reference_count",
            "recent_median",
            "reference_median",
            "latest_psi",
            "latest_median_shift",
            "checked_at",
            "sent_to_review",
            "sent_at",
            "sent_by",
        )
        read_only_fields = fields


class DriftStatisticSerializer(serializers.Serializer):
    psi = serializers.FloatField()
    recent_count = serializers.IntegerField()
    reference_count = serializers.IntegerField()
    recent_median = serializers.FloatField()
    reference_median = serializers.FloatField()
    median_shift = serializers.FloatField(help_text="(recent median - reference median) / reference IQR")


class DriftOverviewSerializer(serializers.Serializer):
    limit = serializers.FloatField()
    window = serializers.IntegerField()
    drifting = serializers.BooleanField()
    statistic = DriftStatisticSerializer(allow_null=True)
    not_measured_because = serializers.CharField(allow_blank=True)
    open_warning = DriftWarningOutputSerializer(allow_null=True)
    warnings = DriftWarningOutputSerializer(many=True)


def _overview(product) -> dict:
    measure = drift_measure(product=product)
    return DriftOverviewSerializer(
        {
            "limit": measure.limit,
            "window": measure.window,
            "drifting": measure.drifting,
            "statistic": measure.statistic.as_dict() if measure.statistic else None,
            "not_measured_because": measure.reason,
            "open_warning": drift_warning_open(product=product),
            "warnings": list(drift_warning_list(product=product)[:WARNINGS_LISTED]),
        }
    ).data


class DriftOverviewApi(APIView):
    @extend_schema(
        responses=DriftOverviewSerializer,
        description=(
            "The population stability index of the active version's last DRIFT_WINDOW passed parts against "
            "its good evaluation images' scores (those below the review boundary), the limit (DRIFT_PSI_LIMIT), "
            "the open warning and the warnings recorded."
        ),
    )
    def get(self, request, product_id: int):
        return Response(_overview(product_get(product_id=product_id)))


class DriftCheckApi(APIView):
    @extend_schema(
        request=None,
        responses=DriftOverviewSerializer,
        description="Check now and record the result (workers also check every DRIFT_CHECK_INTERVAL).",
    )
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        drift_check(product=product)
        return Response(_overview(product))


class DriftSendToReviewApi(APIView):
    @extend_schema(
        request=None,
        responses={200: inline_serializer("DriftSentToReview", {"added": serializers.IntegerField()}), 409: None},
        description=(
            "Put the recent passes behind the warning into the review queue (parts already there are not added "
            "twice), so that those judged good become fresh training images. 409 when the warning's version is "
            "no longer active."
        ),
    )
    def post(self, request, product_id: int, warning_id: int):
        product = product_get(product_id=product_id)
        warning = get_object_or_404(drift_warning_list(product=product), pk=warning_id)
        return Response({"added": drift_recent_passes_to_review(warning=warning, requested_by=request.user)})
