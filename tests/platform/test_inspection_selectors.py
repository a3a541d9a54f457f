"""Reading inspections: the map peaks of passed parts that calibrate a version's heat-map colour scale."""

from inspection.models import Inspection
from inspection.selectors.inspections import inspection_passed_map_peaks
from tests.platform.factories import ProductFactory, TrainedVersionFactory


def inspected(version, decision, peak, product=None):
    return Inspection.objects.create(
        product=product or version.product, version=version, status=Inspection.Status.DONE, decision=decision,
        anomaly_map_scale=peak, source_file="parts/source.png", original_name="part.png", checksum="0" * 64,
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
