"""Reading inspections: the map peaks of passed parts that calibrate a version's heat-map colour scale."""

from inspection.models import Inspection
from inspection.selectors.inspections import inspection_passed_map_peaks
from tests.platform.factories import ProductFactory, TrainedVersionFactory


def inspected(version, decision, peak, product=None):
    return Inspection.objects.create(
        product=product or version.product,
        version=version,
        status=Inspection.Status.DONE,
        decision=decision,
        anomaly_map_scale=peak,
        source_file="parts/source.png",
        original_name="part.png",
        checksum="0" * 64,
    )


def test_only_the_latest_parts_the_version_passed_with_a_map_count(db):
    product = ProductFactory()
    version, other = TrainedVersionFactory.create_batch(2, product=product)
    for peak in (0.1, 0.2, 0.3, 0.4):
        inspected(version, Inspection.Decision.PASS, peak)
    inspected(version, Inspection.Decision.PASS, None)
    inspected(version, Inspection.Decision.REJECT, 5.0)
    inspected(version, Inspection.Decision.REVIEW, 4.0)
    inspected(other, Inspection.Decision.PASS, 3.0)
    assert sorted(inspection_passed_map_peaks(product_id=product.pk, version_id=version.pk, limit=10)) == [
        0.1, 0.2, 0.3, 0.4
    ]  # fmt: skip
    assert inspection_passed_map_peaks(product_id=product.pk, version_id=version.pk, limit=2) == [0.4, 0.3]


def test_the_inspection_list_api_costs_the_same_queries_however_many_inspections_there_are(api_client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inspection.models import ReviewItem
    from tests.platform.factories import ImageFactory

    version = TrainedVersionFactory()
    nearest = ImageFactory(product=version.product)

    def inspect_one(decision):
        inspection = inspected(version, decision, 0.5)
        Inspection.objects.filter(pk=inspection.pk).update(nearest_image=nearest, created_by=user)
        if decision != Inspection.Decision.PASS:
            ReviewItem.objects.create(product=version.product, inspection=inspection)

    inspect_one(Inspection.Decision.REVIEW)
    url = f"/api/products/{version.product_id}/inspections/"
    with CaptureQueriesContext(connection) as one:
        api_client.get(url)
    for decision in ("pass", "review", "reject", "pass", "reject"):
        inspect_one(decision)
    with CaptureQueriesContext(connection) as six:
        response = api_client.get(url)
    results = response.data["results"]
    assert len(results) == 6 and {item["created_by"] for item in results} == {user.username}
    assert sum(item["review_item"] is not None for item in results) == 4
    assert all(item["nearest_image_file"] and item["version_number"] == version.number for item in results)
    assert len(six) == len(one)
