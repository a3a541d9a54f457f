from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.api.serializers import ImageOutputSerializer, UploadReportSerializer
from inspection.models import Image
from inspection.selectors.images import image_get, image_list
from inspection.selectors.products import product_get
from inspection.services.images import image_bulk_update, image_delete, image_update
from inspection.services.uploads import UploadReport, image_upload

_FILTER_PARAMETERS = [
    OpenApiParameter("label", enum=Image.Label.values),
    OpenApiParameter("split", enum=Image.Split.values),
    OpenApiParameter("registration_status", enum=Image.RegistrationStatus.values),
    OpenApiParameter("defect_type", str),
]


class ImageListUploadApi(APIView):
    parser_classes = (MultiPartParser,)

    class ImageUploadInputSerializer(serializers.Serializer):
        files = serializers.ListField(
            child=serializers.FileField(allow_empty_file=True),
            help_text="Image files and/or zip archives (MVTec layout is recognised).",
        )
        label = serializers.ChoiceField(choices=Image.Label.choices, default=Image.Label.UNKNOWN)
        split = serializers.ChoiceField(choices=Image.Split.choices, default=Image.Split.TRAIN)
        defect_type = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(parameters=_FILTER_PARAMETERS, responses=ImageOutputSerializer(many=True))
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        filters = {
            name: request.query_params.get(name) for name in ("label", "split", "registration_status", "defect_type")
        }
        images = image_list(product=product, filters=filters)
        paginator = StandardPagination()
        page = paginator.paginate_queryset(images, request, view=self)
        return paginator.get_paginated_response(
            ImageOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        request={"multipart/form-data": ImageUploadInputSerializer},
        responses={201: UploadReportSerializer, 400: UploadReportSerializer, 409: UploadReportSerializer},
        description=(
            "Store every valid image and report the others by name: 201 when at least one image was "
            "stored, 400 when none was and some were invalid, 409 when all were already stored."
        ),
    )
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ImageUploadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = image_upload(product=product, uploaded_by=request.user, **serializer.validated_data)
        code, detail = _outcome(report)
        output = UploadReportSerializer(
            {
                "detail": detail,
                "created_count": len(report.created),
                "created": report.created,
                "duplicates": report.duplicates,
                "invalid": report.invalid,
                "skipped": report.skipped,
                "job": report.job,
            },
            context={"request": request},
        )
        return Response(output.data, status=code)


def _outcome(report: UploadReport) -> tuple[int, str]:
    counts = (
        f"{len(report.created)} stored, {len(report.duplicates)} duplicates, "
        f"{len(report.invalid)} invalid, {len(report.skipped)} skipped"
    )
    if report.created:
        return status.HTTP_201_CREATED, counts + "."
    if report.invalid:
        return status.HTTP_400_BAD_REQUEST, f"No image was stored: {counts}."
    if report.duplicates:
        return status.HTTP_409_CONFLICT, f"No image was stored: every image is already stored ({counts})."
    return status.HTTP_400_BAD_REQUEST, f"No image was found in the upload ({counts})."


class ImageDetailApi(APIView):
    class ImageUpdateInputSerializer(serializers.Serializer):
        label = serializers.ChoiceField(choices=Image.Label.choices, required=False)
        split = serializers.ChoiceField(choices=Image.Split.choices, required=False)
        defect_type = serializers.CharField(required=False, allow_blank=True, max_length=100)

    @extend_schema(responses=ImageOutputSerializer)
    def get(self, request, product_id: int, image_id: int):
        image = image_get(product=product_get(product_id=product_id), image_id=image_id)
        return Response(ImageOutputSerializer(image, context={"request": request}).data)

    @extend_schema(request=ImageUpdateInputSerializer, responses=ImageOutputSerializer)
    def patch(self, request, product_id: int, image_id: int):
        image = image_get(product=product_get(product_id=product_id), image_id=image_id)
        serializer = self.ImageUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        image = image_update(image=image, data=serializer.validated_data)
        return Response(ImageOutputSerializer(image, context={"request": request}).data)

    @extend_schema(responses={204: None})
    def delete(self, request, product_id: int, image_id: int):
        image_delete(image=image_get(product=product_get(product_id=product_id), image_id=image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ImageBulkUpdateApi(APIView):
    """Set label, split and/or defect type of many images at once; all or nothing."""

    class ImageBulkUpdateInputSerializer(serializers.Serializer):
        ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=10_000)
        label = serializers.ChoiceField(choices=Image.Label.choices, required=False)
        split = serializers.ChoiceField(choices=Image.Split.choices, required=False)
        defect_type = serializers.CharField(required=False, allow_blank=True, max_length=100)

    class ImageBulkUpdateOutputSerializer(serializers.Serializer):
        updated = serializers.IntegerField()

    @extend_schema(request=ImageBulkUpdateInputSerializer, responses=ImageBulkUpdateOutputSerializer)
    def patch(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ImageBulkUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        image_ids = changes.pop("ids")
        updated = image_bulk_update(product=product, image_ids=image_ids, data=changes)
        return Response({"updated": updated})
