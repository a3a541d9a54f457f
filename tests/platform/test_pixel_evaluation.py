"""Pixel-level evaluation of model versions against annotated regions: the numbers, the operating point,
staleness, the recompute job and the API."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from inspection.errors import Conflict
from inspection.models import Image, Job, ModelVersion, ModelVersionImage, PixelEvaluation
from inspection.selectors.pixel_evaluation import pixel_evaluation_summary
from inspection.services.annotations import RegionInput, annotation_save
from inspection.services.pixel_evaluation import (
    PixelCollector,
    pixel_evaluation_job_run,
    pixel_evaluation_start,
    pixel_threshold,
)
from inspection.services.thresholds import threshold_set
from tests.platform.factories import DefectTypeFactory, ProductFactory, RegisteredImageFactory
from tests.platform.loop_data import ready_product, trained_version
from tests.synthetic_images import defective_pixels, good_pixels, png_bytes

pytestmark = pytest.mark.django_db


def mask_of(*boxes, shape=(128, 128)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for x, y, width, height in boxes:
        mask[y : y + height, x : x + width] = 255
    return mask


def annotate(image, defect_type, *masks, base_revision=0):
    return annotation_save(
        image=image,
        base_revision=base_revision,
        regions=[
            RegionInput(defect_type=defect_type.pk, mask=png_bytes(mask), name=f"m{index}")
            for index, mask in enumerate(masks)
        ],
    )


def snapshot(version, images) -> list[ModelVersionImage]:
    return [
        ModelVersionImage.objects.create(
            version=version,
            image=image,
            checksum=image.checksum,
            role="eval",
            label=image.label,
            defect_type=image.defect_type,
            position=index,
        )
        for index, image in enumerate(images)
    ]


def test_the_pixel_threshold_is_the_smallest_value_exceeded_by_at_most_one_percent_of_normal_pixels():
    rng = np.random.default_rng(3)
    # Rounded values make ties, which is where "at most" matters.
    maps = [np.round(rng.random((20, 30)), 2), np.round(rng.random((7, 11)), 2)]
    values = np.concatenate([item.ravel() for item in maps])
    threshold = pixel_threshold(maps)
    assert threshold in values
    assert np.sum(values > threshold) <= 0.01 * values.size
    assert all(np.sum(values > smaller) > 0.01 * values.size for smaller in values[values < threshold])


def test_pixel_auroc_over_annotated_and_normal_images_agrees_with_scikit_learn(db):
    product = ProductFactory()
    scratch = DefectTypeFactory(product=product)
    defective = RegisteredImageFactory(product=product, label="defective", split="test", aligned_size=(8, 6))
    normal = RegisteredImageFactory(product=product, label="normal", split="test", aligned_size=(8, 6))
    unannotated = RegisteredImageFactory(product=product, label="defective", split="test", aligned_size=(8, 6))
    regions = [mask_of((1, 1, 2, 2), shape=(6, 8)), mask_of((2, 2, 3, 1), (6, 4, 1, 1), shape=(6, 8))]
    annotate(defective, scratch, *regions)
    version = ModelVersion.objects.create(product=product, number=1, method="variation", status="trained")
    rows = snapshot(version, [defective, normal, unannotated])
    rng = np.random.default_rng(0)
    maps = [np.round(rng.random((6, 8)), 1).astype(np.float32) for _ in rows]
    maps[0][1:3, 1:3] += 0.5
    collector = PixelCollector(version=version, rows=rows)
    for row, anomaly_map, score in zip(rows, maps, (0.9, 0.1, 0.8)):
        collector.add(row, anomaly_map, score)
    result = collector.result()
    union = (regions[0] > 0) | (regions[1] > 0)
    expected = roc_auc_score(
        np.concatenate([union.ravel(), np.zeros(48, bool)]), np.concatenate([maps[0].ravel(), maps[1].ravel()])
    )
    assert result["pixel_auroc"] == pytest.approx(expected, abs=1e-12)
    # The defective image without annotation takes no part; the normal one sets the pixel threshold.
    assert (result["n_images"], result["n_annotated_images"], result["n_normal_images"]) == (2, 1, 1)
    assert result["pixel_threshold"] == pixel_threshold([maps[1]])
    assert [(region["max_value"], region["image_score"]) for region in result["regions"]] == [
        (pytest.approx(float(maps[0][regions[0] > 0].max())), 0.9),
        (pytest.approx(float(maps[0][regions[1] > 0].max())), 0.9),
    ]
    assert result["annotation_revisions"] == {str(defective.pk): 1, str(normal.pk): 0, str(unannotated.pk): 0}


def test_a_region_is_detected_when_its_image_is_flagged_and_its_map_peak_reaches_the_pixel_threshold(db):
    product = ProductFactory()
    version = ModelVersion.objects.create(
        product=product, number=1, method="variation", status="trained", metrics={"suggested": {"threshold": 0.5}}
    )
    scratch = DefectTypeFactory(product=product, name="scratch", color="#ff0000")
    dent = DefectTypeFactory(product=product, name="dent", color="#0000ff")

    def region(defect_type, score, peak):
        return {
            "image": 1,
            "revision": 1,
            "region": 1,
            "defect_type": defect_type.pk,
            "defect_type_name": defect_type.name,
            "color": defect_type.color,
            "area": 4,
            "max_value": peak,
            "image_score": score,
        }

    PixelEvaluation.objects.create(
        version=version,
        pixel_auroc=0.9,
        pixel_threshold=2.0,
        n_images=3,
        computed_at="2026-01-01T00:00:00Z",
        regions=[
            region(scratch, 0.7, 2.5),
            region(scratch, 0.7, 1.0),
            region(scratch, 0.2, 9.0),
            region(dent, 0.6, 2.0),
        ],
    )
    summary = pixel_evaluation_summary(version=version)
    assert (summary["status"], summary["image_threshold"], summary["image_threshold_source"]) == (
        "computed",
        0.5,
        "suggested threshold",
    )
    assert summary["region_recall"] == 0.5
    assert summary["per_defect_type"] == [
        {"defect_type": "dent", "color": "#0000ff", "n_regions": 1, "n_detected": 1, "detection_rate": 1.0},
        {
            "defect_type": "scratch",
            "color": "#ff0000",
            "n_regions": 3,
            "n_detected": 1,
            "detection_rate": pytest.approx(1 / 3),
        },
    ]
    # A stricter operating point passes the part scored 0.6: its region is no longer found.
    threshold_set(product=product, version=version, threshold=0.65, reason="fewer false calls")
    summary = pixel_evaluation_summary(version=version)
    assert (summary["region_recall"], summary["image_threshold_source"]) == (0.25, "threshold")


def defect_mask(index: int) -> np.ndarray:
    """Exactly the pixels loop_data's defective image `index` changed."""
    return ((defective_pixels(index) != good_pixels(500 + index)) * 255).astype(np.uint8)


@pytest.fixture
def annotated_product(db):
    product = ready_product(train=6, test_good=3, test_defective=4)
    types = {name: DefectTypeFactory(product=product, name=name) for name in ("scratch", "blob")}
    for index, image in enumerate(Image.objects.filter(product=product, label="defective").order_by("id")):
        annotate(image, types[image.defect_type], defect_mask(index))
    return product


def test_training_computes_the_pixel_evaluation_of_the_annotated_evaluation_images(annotated_product):
    version = trained_version(annotated_product)
    summary = pixel_evaluation_summary(version=version)
    assert summary["status"] == "computed" and not summary["stale"]
    assert (summary["n_images"], summary["n_normal_images"], summary["n_regions"]) == (7, 3, 4)
    assert summary["pixel_auroc"] > 0.8
    assert summary["pixel_threshold"] is not None and summary["region_recall"] is not None
    assert sorted(entry["defect_type"] for entry in summary["per_defect_type"]) == ["blob", "scratch"]


def test_changed_annotations_make_it_stale_until_a_recompute_job_runs(annotated_product, api_client):
    version = trained_version(annotated_product)
    before = pixel_evaluation_summary(version=version)
    image = Image.objects.filter(product=annotated_product, label="defective").order_by("id").first()
    annotate(
        image,
        image.product.defect_types.get(name=image.defect_type),
        defect_mask(0),
        mask_of((0, 0, 3, 3), shape=(96, 96)),
        base_revision=1,
    )
    assert pixel_evaluation_summary(version=version)["stale"] is True
    url = f"/api/products/{annotated_product.pk}/model-versions/{version.pk}/pixel-evaluation/"
    queued = api_client.post(url)
    assert queued.status_code == 202 and queued.data["status"] == "queued"
    job = Job.objects.get(pk=queued.data["job"])
    assert job.kind == "pixel_evaluation"
    pixel_evaluation_job_run(job_id=job.pk, worker="test:1")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    after = api_client.get(url).data
    assert (after["status"], after["stale"], after["n_regions"]) == ("computed", False, before["n_regions"] + 1)


def test_without_normal_evaluation_images_there_is_no_pixel_threshold_and_no_region_recall(db):
    product = ready_product(train=4, test_good=0, test_defective=2)
    blob = DefectTypeFactory(product=product, name="blob")
    image = Image.objects.filter(product=product, label="defective").order_by("id").first()
    annotate(image, blob, defect_mask(0))
    summary = pixel_evaluation_summary(version=trained_version(product))
    assert summary["pixel_auroc"] is not None
    assert (summary["pixel_threshold"], summary["region_recall"]) == (None, None)
    assert summary["per_defect_type"][0]["detection_rate"] is None
    assert "No normal evaluation images" in summary["note"]


def test_a_version_without_a_usable_model_cannot_be_evaluated_again(api_client, db):
    product = ProductFactory()
    version = ModelVersion.objects.create(product=product, number=1, method="variation", status="failed")
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/pixel-evaluation/"
    assert api_client.get(url).data["status"] == "not_computed"
    refused = api_client.post(url)
    assert refused.status_code == 409 and "no usable model" in refused.data["detail"]
    with pytest.raises(Conflict):
        pixel_evaluation_start(version=version)


def test_the_version_page_shows_the_pixel_evaluation_and_queues_a_recompute(annotated_product, client, user):
    from tests.platform.test_pages_training import assert_every_control_is_labelled

    version = trained_version(annotated_product)
    client.force_login(user)
    page = client.get(f"/products/{annotated_product.pk}/versions/{version.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and "Pixel-level evaluation" in html
    assert "Pixel AUROC" in html and "Region recall" in html and "blob" in html and "scratch" in html
    assert "changed since this was computed" not in html
    assert_every_control_is_labelled(html)
    image = Image.objects.filter(product=annotated_product, label="defective").order_by("id").first()
    annotate(image, image.product.defect_types.get(name=image.defect_type), defect_mask(0), base_revision=1)
    assert (
        "changed since this was computed"
        in client.get(f"/products/{annotated_product.pk}/versions/{version.pk}/").content.decode()
    )
    posted = client.post(f"/products/{annotated_product.pk}/versions/{version.pk}/pixel-evaluation/")
    assert posted.status_code == 302 and posted["Location"].endswith("#pixel-evaluation")
    job = Job.objects.get(kind="pixel_evaluation")
    assert job.status == "queued"
    assert f'data-job-id="{job.pk}"' in client.get(posted["Location"]).content.decode()
