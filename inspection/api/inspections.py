"""Inspecting parts: one image answered at once, several through a batch job."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.inspection_history import HISTORY_PARAMETERS, HistoryPagination
from inspection.api.serializers import JobOutputSerializer
from inspection.models import Inspection, ReviewItem
from inspection.selectors.inspection_history import inspection_history
from inspection.selectors.inspections import inspection_get
from inspection.selectors.products import product_get
from inspection.services.inspections import inspection_batch_start, inspection_run


class InspectionReviewSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewItem
        fields = ("id", "status", "doubt", "decision", "defect_type", "decided_at")
        read_only_fields = fields


class InspectionOutputSerializer(serializers.ModelSerializer):
    version_number = serializers.IntegerField(source="version.number", read_only=True, allow_null=True, default=None)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    nearest_image_file = serializers.SerializerMethodField()
    review_item = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = (
            "id",
            "product",
            "version",
            "version_number",
            "threshold_setting",
            "job",
            "status",
            "decision",
            "score",
            "reason",
            "registration_quality",
            "engine_seconds",
            "original_name",
            "checksum",
            "source_file",
            "registered_file",
            "anomaly_map",
            "anomaly_map_scale",
            "reconstruction_file",
            "nearest_image",
            "nearest_image_file",
            "review_item",
            "repeat_of",
            "labelled_image",
            "created_by",
            "created_at",
            "inspected_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_nearest_image_file(self, inspection):
        image = inspection.nearest_image
        if image is None:
            return None
        stored = image.aligned_file or image.file
        request = self.context.get("request")
        return request.build_absolute_uri(stored.url) if request else stored.url

    @extend_schema_field(InspectionReviewSummarySerializer(allow_null=True))
    def get_review_item(self, inspection):
        # A repeat of a picture inspected within the hour shows the first inspection's item.
        item = inspection.shared_review_item
        return InspectionReviewSummarySerializer(item).data if item is not None else None


class InspectionBatchOutputSerializer(serializers.Serializer):
    job = JobOutputSerializer()
    inspections = InspectionOutputSerializer(many=True)


class InspectionListCreateApi(APIView):
    parser_classes = (MultiPartParser,)

    class InspectionCreateInputSerializer(serializers.Serializer):
        file = serializers.FileField(
            required=False,
            allow_empty_file=True,
            help_text="One image: inspected now, the result is in the response (201).",
        )
        files = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True),
            required=False,
            help_text="Several images: inspected by a background job (202).",
        )
        background = serializers.BooleanField(
            required=False, default=False, help_text="Inspect even a single image through a background job."
        )

        def validate(self, attrs):
            if ("file" in attrs) == bool(attrs.get("files")):
                raise serializers.ValidationError("Send one image in 'file' or several in 'files'.")
            return attrs

    @extend_schema(
        parameters=HISTORY_PARAMETERS,
        responses=InspectionOutputSerializer(many=True),
        description="The product's inspections, filtered, sorted and paged (`count` stops at 10,001: see "
        "`count_is_lower_bound`).",
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        inspections = inspection_history(product=product, params=request.query_params, default_ordering="-submitted")
        paginator = HistoryPagination()
        page = paginator.paginate_queryset(inspections, request, view=self)
        return paginator.get_paginated_response(
            InspectionOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request={"multipart/form-data": InspectionCreateInputSerializer},
        responses={201: InspectionOutputSerializer, 202: InspectionBatchOutputSerializer, 409: None},
        description=(
            "Inspect parts with the product's active model version. One image in `file` is answered at once "
            "(201) with score, decision (pass / review / reject), reason and image URLs; images in `files` "
            "(or `background=true`) are inspected by a job (202). An image that cannot be aligned is decided "
            '"review". 409 when the product has no usable active version.'
        ),
    )
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.InspectionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        context = {"request": request}
        if "file" in data and not data["background"]:
            inspection = inspection_run(product=product, file=data["file"], created_by=request.user)
            inspection = inspection_get(product=product, inspection_id=inspection.pk)
            return Response(
                InspectionOutputSerializer(inspection, context=context).data, status=status.HTTP_201_CREATED
            )
        files = data.get("files") or [data["file"]]
        job, inspections = inspection_batch_start(product=product, files=files, created_by=request.user)
        output = InspectionBatchOutputSerializer({"job": job, "inspections": inspections}, context=context)
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class InspectionDetailApi(APIView):
    @extend_schema(responses=InspectionOutputSerializer)
    def get(self, request, product_id: int, inspection_id: int):
        inspection = inspection_get(product=product_get(product_id=product_id), inspection_id=inspection_id)
        return Response(InspectionOutputSerializer(inspection, context={"request": request}).data)
