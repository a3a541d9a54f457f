"""Annotation services: ground-truth masks of imported data sets become annotations, revisions never lose work,
and images confirmed defective in review can be annotated."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.lib.mask_png import mask_read
from inspection.models import Annotation, AnnotationRegion, DefectType, Image
from inspection.services.annotations import (
    PALETTE,
    RegionInput,
    annotation_restore,
    annotation_save,
)
from inspection.services.images import image_delete
from inspection.services.products import product_set_reference_image
from inspection.services.registration import registration_job_run
from inspection.services.uploads import image_upload
from tests.platform.factories import DefectTypeFactory, ProductFactory, RegisteredImageFactory
from tests.synthetic_images import part_pixels, part_png, png_bytes, zip_bytes

pytestmark = pytest.mark.django_db

SIZE = 96


def square_mask(boxes, *, size=SIZE) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    for x, y, width, height in boxes:
        mask[y : y + height, x : x + width] = 255
    return mask


def register_upload(product, members: dict[str, bytes]) -> None:
    report = image_upload(product=product, files=[SimpleUploadedFile("set.zip", zip_bytes(members))])
    assert not report.invalid, report.invalid
    registration_job_run(job_id=report.job.pk, worker="test:1")


def product_with_reference(registration_settings) -> object:
    product = ProductFactory(registration_settings=registration_settings)
    product_set_reference_image(product=product, file=SimpleUploadedFile("reference.png", part_png(size=SIZE)))
    return product


def test_an_imported_ground_truth_mask_becomes_revision_1_with_one_region_per_connected_component(db):
    product = product_with_reference({"method": "none"})
    # Two separate squares, and a diagonal pair of pixels that 8-connectivity joins into one region.
    mask = square_mask([(10, 10, 6, 4), (50, 60, 3, 3)])
    mask[30, 30] = mask[31, 31] = 255
    register_upload(
        product,
        {
            "part/train/good/000.png": part_png(size=SIZE, seed=1),
            "part/test/crack/000.png": part_png(size=SIZE, seed=2),
            "part/ground_truth/crack/000_mask.png": png_bytes(mask),
        },
    )
    image = Image.objects.get(product=product, defect_type="crack")
    assert image.registration_status == "registered"
    annotation = Annotation.objects.get(image=image)
    assert (annotation.revision, annotation.source, annotation.created_by) == (1, "ground_truth", None)
    regions = list(annotation.regions.order_by("bbox_y", "bbox_x"))
    assert [region.bbox for region in regions] == [[10, 10, 6, 4], [30, 30, 2, 2], [50, 60, 3, 3]]
    assert [region.area for region in regions] == [24, 2, 9]
    union = np.logical_or.reduce([mask_read(region.mask) for region in regions])
    assert np.array_equal(union, mask > 0)
    crack = DefectType.objects.get(product=product, name="crack")
    assert {region.defect_type for region in regions} == {crack} and crack.color == PALETTE[0]
    # Normal images have no mask and get no annotation.
    assert Annotation.objects.filter(image__product=product).count() == 1


def test_the_ground_truth_mask_is_moved_into_the_registered_frame_with_its_image(db):
    product = product_with_reference({"method": "ecc", "motion": "translation", "min_coverage": 0.85})
    dx, dy = 4, -3
    photo = part_pixels(size=SIZE, shift=(dx, dy))
    # The defect sits at (40, 40) in the photo; the part is moved by (dx, dy) there.
    register_upload(
        product,
        {
            "part/test/dent/000.png": png_bytes(photo),
            "part/ground_truth/dent/000_mask.png": png_bytes(square_mask([(40, 40, 8, 8)])),
        },
    )
    (region,) = AnnotationRegion.objects.filter(annotation__image__product=product)
    x, y, width, height = region.bbox
    assert abs(x - (40 - dx)) <= 1 and abs(y - (40 - dy)) <= 1
    assert abs(width - 8) <= 1 and abs(height - 8) <= 1


def test_a_drawn_annotation_is_never_replaced_by_the_ground_truth_when_images_are_aligned_again(db):
    product = product_with_reference({"method": "none"})
    register_upload(
        product,
        {
            "part/test/crack/000.png": part_png(size=SIZE, seed=2),
            "part/ground_truth/crack/000_mask.png": png_bytes(square_mask([(10, 10, 6, 4)])),
        },
    )
    image = Image.objects.get(product=product)
    crack = DefectType.objects.get(product=product)
    annotation_save(
        image=image,
        base_revision=1,
        regions=[RegionInput(defect_type=crack.pk, mask=png_bytes(square_mask([(1, 1, 2, 2)])), name="mine")],
    )
    job = product_set_reference_image(product=product, file=SimpleUploadedFile("new.png", part_png(size=SIZE, seed=5)))
    registration_job_run(job_id=job.pk, worker="test:1")
    current = Annotation.objects.filter(image=image).order_by("-revision").first()
    assert (current.revision, current.source, current.regions.get().bbox) == (2, "drawn", [1, 1, 2, 2])


def test_saving_and_restoring_keeps_every_revision_and_its_files(db):
    image = RegisteredImageFactory()
    scratch = DefectTypeFactory(product=image.product)
    first = annotation_save(
        image=image,
        base_revision=0,
        regions=[RegionInput(defect_type=scratch.pk, mask=png_bytes(square_mask([(5, 5, 4, 4)], size=128)), name="a")],
    )
    second = annotation_save(image=image, base_revision=1, regions=[])
    restored = annotation_restore(image=image, revision=1)
    assert [first.revision, second.revision, restored.revision] == [1, 2, 3]
    assert (restored.source, restored.restored_from) == ("restored", 1)
    original, copy = first.regions.get(), restored.regions.get()
    assert original.mask.name != copy.mask.name
    assert np.array_equal(mask_read(original.mask), mask_read(copy.mask))
    assert Annotation.objects.filter(image=image).count() == 3


def test_deleting_an_image_deletes_its_annotation_masks(django_capture_on_commit_callbacks, private_media):
    image = RegisteredImageFactory()
    scratch = DefectTypeFactory(product=image.product)
    annotation = annotation_save(
        image=image,
        base_revision=0,
        regions=[RegionInput(defect_type=scratch.pk, mask=png_bytes(square_mask([(5, 5, 4, 4)], size=128)), name="a")],
    )
    path = private_media / annotation.regions.get().mask.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(image=image)
    assert not path.exists()


def test_a_part_confirmed_defective_in_review_can_be_annotated(api_client, user):
    from inspection.services.inspections import inspection_run
    from inspection.services.reviews import review_item_decide
    from tests.platform.loop_data import activated_version, ready_product
    from tests.synthetic_images import defective_pixels

    product = ready_product(train=6, test_good=2, test_defective=2)
    activated_version(product, user=user)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("bad.png", png_bytes(defective_pixels(21))))
    item = review_item_decide(item=inspection.review_item, user=user, decision="defective", defect_type="blob")
    image = item.resulting_image
    url = f"/api/products/{product.pk}/images/{image.pk}/annotation/"
    current = api_client.get(url)
    assert current.status_code == 200 and current.data["revision"] == 0
    blob = DefectTypeFactory(product=product, name="blob")
    mask = png_bytes(square_mask([(30, 30, 9, 9)], size=current.data["width"]))
    saved = api_client.put(
        url,
        {
            "base_revision": "0",
            "regions": f'[{{"defect_type": {blob.pk}, "mask": "m"}}]',
            "m": SimpleUploadedFile("m.png", mask, content_type="image/png"),
        },
        format="multipart",
    )
    assert saved.status_code == 201 and saved.data["regions"][0]["area"] == 81


def test_a_ground_truth_annotation_is_aligned_again_when_the_reference_changes(db):
    product = product_with_reference({"method": "none"})
    register_upload(
        product,
        {
            "part/test/crack/000.png": part_png(size=SIZE, seed=2),
            "part/ground_truth/crack/000_mask.png": png_bytes(square_mask([(10, 10, 6, 4)])),
        },
    )
    job = product_set_reference_image(product=product, file=SimpleUploadedFile("new.png", part_png(size=SIZE, seed=5)))
    registration_job_run(job_id=job.pk, worker="test:1")
    revisions = list(Annotation.objects.filter(image__product=product).order_by("revision"))
    assert [(item.revision, item.source) for item in revisions] == [(1, "ground_truth"), (2, "ground_truth")]
    product.refresh_from_db()
    assert revisions[1].registration_revision == product.registration_revision == 2


def test_deleting_a_product_with_annotations_deletes_them_and_their_masks(
    django_capture_on_commit_callbacks, private_media
):
    from inspection.services.products import product_delete

    image = RegisteredImageFactory()
    scratch = DefectTypeFactory(product=image.product)
    annotation = annotation_save(
        image=image,
        base_revision=0,
        regions=[RegionInput(defect_type=scratch.pk, mask=png_bytes(square_mask([(5, 5, 4, 4)], size=128)), name="a")],
    )
    path = private_media / annotation.regions.get().mask.name
    with django_capture_on_commit_callbacks(execute=True):
        product_delete(product=image.product)
    assert not path.exists()
    assert not DefectType.objects.exists() and not AnnotationRegion.objects.exists()
