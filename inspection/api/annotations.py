"""Defect types and image annotations (revisions, restore) of a product."""

from __future__ import annotations

import json
import re

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.errors import Conflict, InvalidInput
from inspection.lib.mask_png import registered_size
from inspection.selectors.annotations import (
    annotation_current,
    annotation_get,
    annotation_revision_list,
    defect_type_get,
    defect_type_list,
)
from inspection.selectors.images import image_get
from inspection.selectors.products import product_get
from inspection.services.annotation_export import annotation_export_stream
from inspection.services.annotations import (
    RegionInput,
    annotation_restore,
    annotation_save,
    defect_type_create,
    defect_type_delete,
    defect_type_update,
)


def _url(stored, request) -> str | None:
    if not stored:
        return None
    return request.build_absolute_uri(stored.url) if request is not None else stored.url


class DefectTypeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()
    region_count = serializers.IntegerField(default=0, help_text="Regions of this type in current annotations.")
    in_use = serializers.BooleanField(default=False, help_text="Used by a region of any revision (not deletable).")


class RegionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    defect_type = serializers.IntegerField()
    defect_type_name = serializers.CharField()
    color = serializers.CharField()
    mask_url = serializers.CharField()
    area = serializers.IntegerField()
    bbox = serializers.ListField(child=serializers.IntegerField(), help_text="[x, y, width, height]")


class AnnotationOutputSerializer(serializers.Serializer):
    image = serializers.IntegerField()
    revision = serializers.IntegerField(help_text="0 when the image was never annotated.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    registered_image_url = serializers.CharField()
    created_at = serializers.DateTimeField(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)
    frame_outdated = serializers.BooleanField(help_text="Drawn before the images were aligned to a new reference.")
    regions = RegionOutputSerializer(many=True)


class RevisionOutputSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    region_count = serializers.IntegerField()


def _defect_type_data(defect_type) -> dict:
    return {
        "id": defect_type.pk,
        "name": defect_type.name,
        "color": defect_type.color,
        "region_count": getattr(defect_type, "region_count", 0),
        "in_use": getattr(defect_type, "in_use", False),
    }


def _annotation_data(image, annotation, request) -> dict:
    """The contract's annotation shape; revision 0 with no regions for an image never annotated."""
    try:
        width, height = registered_size(image)
    except (OSError, ValueError) as error:
        raise Conflict(f"The aligned copy of image {image.pk} cannot be read ({error}).") from None
    regions = (
        []
        if annotation is None
        else [
            {
                "id": region.pk,
                "defect_type": region.defect_type_id,
                "defect_type_name": region.defect_type.name,
                "color": region.defect_type.color,
                "mask_url": _url(region.mask, request),
                "area": region.area,
                "bbox": region.bbox,
            }
            for region in annotation.regions.all()
        ]
    )
    return {
        "image": image.pk,
        "revision": annotation.revision if annotation else 0,
        "width": width,
        "height": height,
        "registered_image_url": _url(image.aligned_file, request),
        "created_at": annotation.created_at if annotation else None,
        "created_by": annotation.created_by.username if annotation and annotation.created_by else None,
        "note": annotation.note if annotation else "",
        "source": annotation.source if annotation else "",
        # Drawn before the reference or registration settings changed: the
        # masks may no longer sit on the defects of the re-aligned image.
        "frame_outdated": bool(annotation) and annotation.registration_revision != image.product.registration_revision,
        "regions": regions,
    }


def _registered_image(product_id: int, image_id: int):
    image = image_get(product=product_get(product_id=product_id), image_id=image_id)
    if image.registration_status != "registered" or not image.aligned_file:
        raise Conflict(
            f"Image {image.pk} is not aligned to the reference ({image.registration_status}); "
            "only aligned images can be annotated."
        )
    return image


class DefectTypeListCreateApi(APIView):
    class DefectTypeInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, allow_blank=True)
        color = serializers.CharField(max_length=20)

    @extend_schema(responses=DefectTypeOutputSerializer(many=True))
    def get(self, request, product_id: int):
        types = defect_type_list(product=product_get(product_id=product_id))
        return Response([_defect_type_data(defect_type) for defect_type in types])

    @extend_schema(request=DefectTypeInputSerializer, responses={201: DefectTypeOutputSerializer})
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.DefectTypeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        defect_type = defect_type_create(product=product, **serializer.validated_data)
        return Response(_defect_type_data(defect_type), status=status.HTTP_201_CREATED)


class DefectTypeDetailApi(APIView):
    class DefectTypeUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, allow_blank=True, required=False)
        color = serializers.CharField(max_length=20, required=False)

    @extend_schema(request=DefectTypeUpdateInputSerializer, responses=DefectTypeOutputSerializer)
    def patch(self, request, product_id: int, defect_type_id: int):
        product = product_get(product_id=product_id)
        defect_type = defect_type_get(product=product, defect_type_id=defect_type_id)
        serializer = self.DefectTypeUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        defect_type_update(defect_type=defect_type, data=serializer.validated_data)
        listed = next(item for item in defect_type_list(product=product) if item.pk == defect_type.pk)
        return Response(_defect_type_data(listed))

    @extend_schema(responses={204: None, 409: OpenApiResponse(description="Regions use this defect type.")})
    def delete(self, request, product_id: int, defect_type_id: int):
        defect_type = defect_type_get(product=product_get(product_id=product_id), defect_type_id=defect_type_id)
        defect_type_delete(defect_type=defect_type)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _region_inputs(request) -> list[RegionInput]:
    """The `regions` JSON field with each region's mask file read from the request."""
    text = request.data.get("regions")
    if text is None:
        raise InvalidInput('Send "regions": a JSON list such as [{"defect_type": 3, "mask": "mask0"}] (or []).')
    try:
        entries = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as error:
        raise InvalidInput(f"regions is not valid JSON ({error}).") from None
    if not isinstance(entries, list):
        raise InvalidInput('regions must be a JSON list of {"defect_type": id, "mask": file field name}.')
    inputs = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("mask"), str):
            raise InvalidInput(f'Region {index + 1} must be an object with "defect_type" and "mask".')
        defect_type = entry.get("defect_type")
        if isinstance(defect_type, bool) or not isinstance(defect_type, int):
            raise InvalidInput(f"Region {index + 1}: defect_type must be the id (a number) of a defect type.")
        upload = request.FILES.get(entry["mask"])
        if upload is None:
            raise InvalidInput(
                f"Region {index + 1} names the mask file {entry['mask']!r}, which is not in the request."
            )
        inputs.append(RegionInput(defect_type=defect_type, mask=upload.read(), name=upload.name or entry["mask"]))
    return inputs


def _base_revision(request) -> int:
    value = request.data.get("base_revision")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("base_revision must be the revision you started from (0 for none).") from None
    if number < 0:
        raise InvalidInput("base_revision cannot be negative.")
    return number


class ImageAnnotationApi(APIView):
    parser_classes = (MultiPartParser, FormParser)

    @extend_schema(responses={200: AnnotationOutputSerializer, 409: OpenApiResponse(description="Not aligned.")})
    def get(self, request, product_id: int, image_id: int):
        image = _registered_image(product_id, image_id)
        return Response(_annotation_data(image, annotation_current(image=image), request))

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "base_revision": {"type": "integer"},
                    "note": {"type": "string"},
                    "regions": {"type": "string", "description": 'JSON: [{"defect_type": id, "mask": "<file field>"}]'},
                },
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        },
        responses={201: AnnotationOutputSerializer, 409: OpenApiResponse(description="base_revision is not current.")},
        description="Save a new revision; one PNG mask (registered size, 0/255) per region, in its own file field.",
    )
    def put(self, request, product_id: int, image_id: int):
        image = _registered_image(product_id, image_id)
        annotation = annotation_save(
            image=image,
            base_revision=_base_revision(request),
            regions=_region_inputs(request),
            note=str(request.data.get("note") or ""),
            created_by=request.user,
        )
        annotation = annotation_get(image=image, revision=annotation.revision)
        return Response(_annotation_data(image, annotation, request), status=status.HTTP_201_CREATED)


class AnnotationRevisionListApi(APIView):
    @extend_schema(responses=RevisionOutputSerializer(many=True))
    def get(self, request, product_id: int, image_id: int):
        image = image_get(product=product_get(product_id=product_id), image_id=image_id)
        return Response(
            [
                {
                    "revision": annotation.revision,
                    "created_at": annotation.created_at,
                    "created_by": annotation.created_by.username if annotation.created_by else None,
                    "note": annotation.note,
                    "source": annotation.source,
                    "region_count": annotation.region_count,
                }
                for annotation in annotation_revision_list(image=image)
            ]
        )


class AnnotationRevisionDetailApi(APIView):
    @extend_schema(responses=AnnotationOutputSerializer)
    def get(self, request, product_id: int, image_id: int, revision: int):
        image = _registered_image(product_id, image_id)
        return Response(_annotation_data(image, annotation_get(image=image, revision=revision), request))


class AnnotationRestoreApi(APIView):
    @extend_schema(request=None, responses={201: AnnotationOutputSerializer})
    def post(self, request, product_id: int, image_id: int, revision: int):
        image = _registered_image(product_id, image_id)
        annotation_get(image=image, revision=revision)  # 404 for a revision that does not exist
        restored = annotation_restore(image=image, revision=revision, created_by=request.user)
        annotation = annotation_get(image=image, revision=restored.revision)
        return Response(_annotation_data(image, annotation, request), status=status.HTTP_201_CREATED)


class AnnotationExportApi(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="MVTec AD layout zip.")},
        description=(
            "The aligned images in MVTec AD layout (train/good, test/good, test/<defect>) with "
            "ground_truth/<defect>/<stem>_mask.png (union of the current regions) and defect_types.json."
        ),
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        response = StreamingHttpResponse(annotation_export_stream(product=product), content_type="application/zip")
        filename = re.sub(r"[^A-Za-z0-9._-]+", "_", product.name).strip("_") or f"product-{product.pk}"
        response["Content-Disposition"] = f'attachment; filename="{filename}-annotations.zip"'
        return response
