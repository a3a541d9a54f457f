"""The order of the review queue's number keys over the API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.models import DefectType
from inspection.selectors.products import product_get
from inspection.selectors.review_hotkeys import defect_types_in_hotkey_order
from inspection.services.review_hotkeys import defect_type_order_set


class DefectTypeKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = DefectType
        fields = ("id", "name", "color", "position")
        read_only_fields = fields


class DefectTypeOrderApi(APIView):
    class DefectTypeOrderInputSerializer(serializers.Serializer):
        ids = serializers.ListField(
            child=serializers.IntegerField(),
            allow_empty=False,
            help_text="Every defect type id of the product, in the order of keys 1, 2, ...",
        )

    @extend_schema(
        responses=DefectTypeKeySerializer(many=True),
        description="The product's defect types in the order of the review queue's number keys 1-9.",
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        return Response(DefectTypeKeySerializer(defect_types_in_hotkey_order(product=product), many=True).data)

    @extend_schema(
        request=DefectTypeOrderInputSerializer,
        responses=DefectTypeKeySerializer(many=True),
        description="Set the order of the number keys; types added later get the next free key.",
    )
    def put(self, request, product_id: int):
        product = product_get(product_id=product_id)
        serializer = self.DefectTypeOrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ordered = defect_type_order_set(product=product, ids=serializer.validated_data["ids"])
        return Response(DefectTypeKeySerializer(ordered, many=True).data)
