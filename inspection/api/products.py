from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.api.serializers import ProductOutputSerializer, ProductWithJobSerializer
from inspection.selectors.images import image_get
from inspection.selectors.products import product_get, product_list
from inspection.selectors.registration import registration_overview
from inspection.services.products import (
    product_create,
    product_delete,
    product_set_reference_image,
    product_update,
)
from inspection.services.registration import registration_start


class ProductListCreateApi(APIView):
    parser_classes = (JSONParser, MultiPartParser, FormParser)

    class ProductCreateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        registration_settings = serializers.JSONField(required=False, default=dict)
        thresholds = serializers.JSONField(required=False, default=dict)
        reference_image = serializers.FileField(required=False, allow_null=True, default=None)

    @extend_schema(responses=ProductOutputSerializer(many=True))
    def get(self, request):
        paginator = StandardPagination()
        page = paginator.paginate_queryset(product_list(), request, view=self)
        return paginator.get_paginated_response(
            ProductOutputSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(request=ProductCreateInputSerializer, responses={201: ProductOutputSerializer})
    def post(self, request):
        serializer = self.ProductCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(created_by=request.user, **serializer.validated_data)
        output = ProductOutputSerializer(product_get(product_id=product.pk), context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ProductDetailApi(APIView):
    class ProductUpdateInputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=200, required=False)
        description = serializers.CharField(required=False, allow_blank=True)
        registration_settings = serializers.JSONField(required=False)
        thresholds = serializers.JSONField(required=False)

    @extend_schema(responses=ProductOutputSerializer)
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        return Response(ProductOutputSerializer(product, context={"request": request}).data)

    @extend_schema(request=ProductUpdateInputSerializer, responses=ProductOutputSerializer)
    def patch(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ProductUpdateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product_update(product=product, data=serializer.validated_data, updated_by=request.user)
        output = ProductOutputSerializer(product_get(product_id=product.pk), context={"request": request})
        return Response(output.data)

    @extend_schema(responses={204: None})
    def delete(self, request, product_id: int):
        product_delete(product=product_get(product_id=product_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductReferenceImageApi(APIView):
    """Set the reference image: upload a file, or name one of the product's images.

    Every image of the product is aligned again by the registration job returned.
    """

    parser_classes = (JSONParser, MultiPartParser, FormParser)

    class ReferenceImageInputSerializer(serializers.Serializer):
        file = serializers.FileField(required=False)
        image_id = serializers.IntegerField(required=False)

        def validate(self, attrs):
            if ("file" in attrs) == ("image_id" in attrs):
                raise serializers.ValidationError("Give either 'file' (an upload) or 'image_id', not both.")
            return attrs

    @extend_schema(request=ReferenceImageInputSerializer, responses={202: ProductWithJobSerializer})
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ReferenceImageInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        image = None
        if "image_id" in serializer.validated_data:
            image = image_get(product=product, image_id=serializer.validated_data["image_id"])
        job = product_set_reference_image(
            product=product, file=serializer.validated_data.get("file"), image=image, set_by=request.user
        )
        output = ProductWithJobSerializer(
            {"product": product_get(product_id=product.pk), "job": job}, context={"request": request}
        )
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class ProductRegistrationApi(APIView):
    """What registration chose and refused (GET); start aligning the images again (POST).

    POST aligns pending images, failed ones too, or all.
    """

    @extend_schema(responses={200: dict})
    def get(self, request, product_id: int):
        return Response(registration_overview(product=product_get(product_id=product_id)))

    class RegistrationInputSerializer(serializers.Serializer):
        images = serializers.ChoiceField(choices=("pending", "failed", "all"), default="pending")

    @extend_schema(request=RegistrationInputSerializer, responses={202: ProductWithJobSerializer})
    def post(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.RegistrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reset = {"pending": "none", "failed": "failed", "all": "all"}[serializer.validated_data["images"]]
        if not product.reference_image:
            return Response(
                {"detail": "The product has no reference image yet; set one first."},
                status=status.HTTP_409_CONFLICT,
            )
        job = registration_start(product=product, started_by=request.user, reset=reset)
        output = ProductWithJobSerializer(
            {"product": product_get(product_id=product.pk), "job": job}, context={"request": request}
        )
        return Response(output.data, status=status.HTTP_202_ACCEPTED)
