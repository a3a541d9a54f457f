"""Two versions side by side: the evaluation images both scored, their decisions, and where they differ."""

from inspection.models import EvaluationScore
from inspection.selectors.version_comparison import model_version_comparison
from tests.platform.factories import (
    ImageFactory,
    ProductFactory,
    ThresholdSettingFactory,
    TrainedVersionFactory,
)


def scored(version, rows):
    for checksum, label, score in rows:
        EvaluationScore.objects.create(version=version, checksum=checksum, label=label, score=score)


def test_only_images_both_versions_scored_are_compared_differing_decisions_first(db):
    product = ProductFactory()
    a, b = TrainedVersionFactory.create_batch(2, product=product)
    image = ImageFactory(product=product)
    EvaluationScore.objects.create(version=a, image=image, checksum=image.checksum, label="defective", score=0.9)
    EvaluationScore.objects.create(version=b, image=image, checksum=image.checksum, label="defective", score=0.8)
    scored(a, [("n1", "normal", 0.6), ("n2", "normal", 0.1), ("only-a", "normal", 0.2)])
    scored(b, [("n1", "normal", 0.2), ("n2", "normal", 0.15), ("only-b", "defective", 0.9)])
    ThresholdSettingFactory(version=a, threshold=0.5)
    ThresholdSettingFactory(version=b, threshold=None, band_lower=0.18, band_upper=0.7)
    comparison = model_version_comparison(product=product, a=a, b=b)
    rows = [
        (row["checksum"], row["score_a"], row["score_b"], row["decision_a"], row["decision_b"], row["differs"])
        for row in comparison["shared"]
    ]
    assert rows == [
        ("n1", 0.6, 0.2, "reject", "review", True),
        (image.checksum, 0.9, 0.8, "reject", "reject", False),
        ("n2", 0.1, 0.15, "pass", "pass", False),
    ]
    assert comparison["shared"][1]["image"] == image
    assert comparison["differing"] == 1
    assert comparison["tally_a"] == {
        "normal": {"pass": 1, "review": 0, "reject": 1},
        "defective": {"pass": 0, "review": 0, "reject": 1},
    }
    assert comparison["tally_b"] == {
        "normal": {"pass": 1, "review": 1, "reject": 0},
        "defective": {"pass": 0, "review": 0, "reject": 1},
    }
    assert (comparison["setting_a"].threshold, comparison["setting_b"].band_upper) == (0.5, 0.7)


def test_a_version_without_operating_point_decides_nothing_so_nothing_differs(db):
    product = ProductFactory()
    a, b = TrainedVersionFactory.create_batch(2, product=product)
    scored(a, [("n1", "normal", 0.6)])
    scored(b, [("n1", "normal", 0.1)])
    ThresholdSettingFactory(version=a, threshold=0.5)
    comparison = model_version_comparison(product=product, a=a, b=b)
    (row,) = comparison["shared"]
    assert (row["decision_a"], row["decision_b"], row["differs"]) == ("reject", None, False)
    assert comparison["tally_b"] is None and comparison["setting_b"] is None
    assert comparison["differing"] == 0
