"""Undoing a verdict over the API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.reviews import ReviewItemOutputSerializer
from inspection.selectors.products import product_get
from inspection.selectors.reviews import review_item_get
from inspection.services.review_undo import review_item_undo


class ReviewItemUndoApi(APIView):
    @extend_schema(
        request=None,
        responses={200: ReviewItemOutputSerializer, 409: None},
        description=(
            "Undo the verdict on this item, which must be the caller's last verdict on the product: the data set "
            "image gets back its label, split and defect type (or is removed when the verdict added it), and the "
            "item is claimed by the caller again to decide anew. 409 otherwise."
        ),
    )
    def post(self, request, product_id: int, item_id: int):
        item = review_item_get(product=product_get(product_id=product_id), item_id=item_id)
        item = review_item_undo(item=item, user=request.user)
        return Response(
            ReviewItemOutputSerializer(
                review_item_get(product=item.product, item_id=item.pk), context={"request": request}
            ).data
        )
