"""Reading the review queue: what is pending, what others hold, and what a person holds."""

from datetime import timedelta

from django.utils import timezone

from inspection.models import Inspection, ReviewItem
from inspection.selectors.reviews import (
    review_item_held_by,
    review_pending_count,
    review_queue_counts,
)
from tests.platform.factories import ProductFactory, UserFactory


def review_item(product, status="open", claimed_by=None, expires_in=timedelta(minutes=10)):
    inspection = Inspection.objects.create(
        product=product,
        status=Inspection.Status.DONE,
        decision=Inspection.Decision.REVIEW,
        source_file="parts/source.png",
        original_name="part.png",
        checksum="0" * 64,
    )
    return ReviewItem.objects.create(
        product=product,
        inspection=inspection,
        status=status,
        claimed_by=claimed_by,
        claim_expires_at=timezone.now() + expires_in if claimed_by else None,
    )


def test_the_queue_counts_pending_items_and_those_someone_else_holds_now(db):
    product, me, colleague = ProductFactory(), UserFactory(), UserFactory()
    review_item(product)
    mine = review_item(product, status="claimed", claimed_by=me)
    review_item(product, status="claimed", claimed_by=colleague)
    review_item(product, status="claimed", claimed_by=colleague, expires_in=timedelta(minutes=-1))  # claim ran out
    review_item(product, status="decided")
    review_item(ProductFactory())
    assert review_queue_counts(product=product, user=me) == {"pending": 4, "held_by_others": 1}
    assert review_queue_counts(product=product, user=colleague) == {"pending": 4, "held_by_others": 1}
    assert review_pending_count(product=product) == 4
    assert review_item_held_by(product=product, user=me) == mine


def test_nobody_holds_an_item_whose_claim_ran_out(db):
    product, me = ProductFactory(), UserFactory()
    review_item(product, status="claimed", claimed_by=me, expires_in=timedelta(minutes=-1))
    assert review_item_held_by(product=product, user=me) is None


def test_the_review_list_api_costs_the_same_queries_however_many_items_there_are(api_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    product = ProductFactory()
    review_item(product, status="claimed", claimed_by=UserFactory())
    url = f"/api/products/{product.pk}/review-items/"
    with CaptureQueriesContext(connection) as one:
        api_client.get(url)
    for _ in range(5):
        review_item(product, status="claimed", claimed_by=UserFactory())
    with CaptureQueriesContext(connection) as six:
        response = api_client.get(url)
    results = response.data["results"]
    assert len(results) == 6 and all(item["claimed_by"] and item["inspection"]["review_item"] for item in results)
    assert len(six) == len(one)
