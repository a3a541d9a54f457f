"""A model version's pixel-level evaluation against the annotated defect regions."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.selectors.model_versions import model_version_get
from inspection.selectors.pixel_evaluation import pixel_evaluation_summary
from inspection.selectors.products import product_get
from inspection.services.pixel_evaluation import pixel_evaluation_start


class DefectTypeDetectionSerializer(serializers.Serializer):
    defect_type = serializers.CharField()
    color = serializers.CharField()
    n_regions = serializers.IntegerField()
    n_detected = serializers.IntegerField(allow_null=True)
    detection_rate = serializers.FloatField(allow_null=True)


class PixelEvaluationOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="not_computed, queued, running, computed or failed")
    pixel_auroc = serializers.FloatField(allow_null=True)
    pixel_threshold = serializers.FloatField(
        allow_null=True, help_text="Smallest map value exceeded by at most 1% of the normal evaluation pixels."
    )
    n_images = serializers.IntegerField()
    n_annotated_images = serializers.IntegerField()
    n_normal_images = serializers.IntegerField()
    n_regions = serializers.IntegerField()
    region_recall = serializers.FloatField(allow_null=True)
    per_defect_type = DefectTypeDetectionSerializer(many=True)
    stale = serializers.BooleanField(help_text="Annotations of the evaluation images changed since it was computed.")
    image_threshold = serializers.FloatField(allow_null=True)
    image_threshold_source = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    job = serializers.IntegerField(allow_null=True)
    job_error = serializers.CharField(allow_blank=True)


class PixelEvaluationApi(APIView):
    @extend_schema(responses=PixelEvaluationOutputSerializer)
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        return Response(PixelEvaluationOutputSerializer(pixel_evaluation_summary(version=version)).data)

    @extend_schema(
        request=None,
        responses={202: PixelEvaluationOutputSerializer},
        description="Queue a job that recomputes the pixel evaluation with the current annotations.",
    )
    def post(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        pixel_evaluation_start(version=version, started_by=request.user)
        summary = pixel_evaluation_summary(version=version)
        return Response(PixelEvaluationOutputSerializer(summary).data, status=status.HTTP_202_ACCEPTED)
