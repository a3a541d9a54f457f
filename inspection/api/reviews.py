"""The review queue of a product: list, claim, release, decide."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.inspections import InspectionOutputSerializer
from inspection.api.pagination import StandardPagination
from inspection.models import ReviewItem
from inspection.selectors.products import product_get
from inspection.selectors.reviews import QUEUE_STATES, review_item_get, review_item_list
from inspection.services.reviews import (
    review_item_claim,
    review_item_claim_next,
    review_item_decide,
    review_item_release,
)


class ReviewItemOutputSerializer(serializers.ModelSerializer):
    inspection = InspectionOutputSerializer()
    claimed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ReviewItem
        fields = (
            "id",
            "product",
            "status",
            "doubt",
            "inspection",
            "claimed_by",
            "claimed_at",
            "claim_expires_at",
            "decision",
            "defect_type",
            "note",
            "decided_by",
            "decided_at",
            "resulting_image",
            "created_at",
        )
        read_only_fields = fields


def _output(item, request):
    return ReviewItemOutputSerializer(item, context={"request": request}).data


class ReviewItemListApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", enum=QUEUE_STATES, default="pending")],
        responses=ReviewItemOutputSerializer(many=True),
        description="Most doubtful first (smallest distance from the decision boundary).",
    )
    def get(self, request, product_id: int):
        product = product_get(product_id=product_id)
        items = review_item_list(product=product, state=request.query_params.get("state") or "pending")
        paginator = StandardPagination()
        page = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(
            ReviewItemOutputSerializer(page, many=True, context={"request": request}).data
        )


class ReviewItemClaimNextApi(APIView):
    """Claim the most doubtful item nobody holds; 204 when the queue is empty."""

    @extend_schema(request=None, responses={200: ReviewItemOutputSerializer, 204: None})
    def post(self, request, product_id: int):
        item = review_item_claim_next(product=product_get(product_id=product_id), user=request.user)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_output(item, request))


class ReviewItemDetailApi(APIView):
    @extend_schema(responses=ReviewItemOutputSerializer)
    def get(self, request, product_id: int, item_id: int):
        return Response(_output(review_item_get(product=product_get(product_id=product_id), item_id=item_id), request))


class ReviewItemClaimApi(APIView):
    """Reserve the item for yourself (REVIEW_CLAIM_SECONDS); 409 if another reviewer holds it."""

    @extend_schema(request=None, responses={200: ReviewItemOutputSerializer, 409: None})
    def post(self, request, product_id: int, item_id: int):
        item = review_item_get(product=product_get(product_id=product_id), item_id=item_id)
        return Response(_output(review_item_claim(item=item, user=request.user), request))


class ReviewItemReleaseApi(APIView):
    @extend_schema(request=None, responses={200: ReviewItemOutputSerializer, 409: None})
    def post(self, request, product_id: int, item_id: int):
        item = review_item_get(product=product_get(product_id=product_id), item_id=item_id)
        return Response(_output(review_item_release(item=item, user=request.user), request))


class ReviewItemDecideApi(APIView):
    """Confirm the defect (with its type) or mark the part normal; it becomes a labelled image of the product."""

    class ReviewDecisionInputSerializer(serializers.Serializer):
        decision = serializers.ChoiceField(choices=ReviewItem.Verdict.choices)
        defect_type = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
        note = serializers.CharField(required=False, allow_blank=True, default="")
        add_to_training = serializers.BooleanField(
            required=False, default=True, help_text="A normal part joins the train split (else the test split)."
        )

    @extend_schema(request=ReviewDecisionInputSerializer, responses={200: ReviewItemOutputSerializer, 409: None})
    def post(self, request, product_id: int, item_id: int):
        product = product_get(product_id=product_id)
        serializer = self.ReviewDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = review_item_decide(
            item=review_item_get(product=product, item_id=item_id), user=request.user, **serializer.validated_data
        )
        return Response(_output(review_item_get(product=product, item_id=item.pk), request))
