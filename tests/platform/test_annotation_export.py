"""Exporting a product's aligned images and annotations as an MVTec zip, and importing it back."""

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from inspection.lib.mask_png import mask_read
from inspection.models import Annotation, DefectType, Image
from inspection.services.annotations import RegionInput, annotation_save
from inspection.services.products import product_set_reference_image
from inspection.services.registration import registration_job_run
from tests.platform.factories import DefectTypeFactory, ProductFactory, RegisteredImageFactory
from tests.synthetic_images import png_bytes

pytestmark = pytest.mark.django_db


def box_mask(*boxes, size=128) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    for x, y, width, height in boxes:
        mask[y : y + height, x : x + width] = 255
    return mask


def annotate(image, *regions):
    """regions: (defect type, mask array)."""
    return annotation_save(
        image=image,
        base_revision=0,
        regions=[
            RegionInput(defect_type=defect_type.pk, mask=png_bytes(mask), name=f"m{index}")
            for index, (defect_type, mask) in enumerate(regions)
        ],
    )


@pytest.fixture
def product(db):
    product = ProductFactory(name="Zipper cursor")
    scratch = DefectTypeFactory(product=product, name="scratch", color="#ff0000")
    dent = DefectTypeFactory(product=product, name="dent", color="#0000ff")
    for split in ("train", "train", "test", "validation"):
        RegisteredImageFactory(product=product, label="normal", split=split)
    both = RegisteredImageFactory(
        product=product, label="defective", defect_type="scratch", split="test", original_name="deep scratch.png"
    )
    # Two overlapping regions of different types: the exported mask is their union.
    annotate(both, (scratch, box_mask((10, 10, 20, 5))), (dent, box_mask((25, 12, 10, 10), (90, 90, 4, 4))))
    one = RegisteredImageFactory(product=product, label="defective", defect_type="scratch", split="test")
    annotate(one, (scratch, box_mask((60, 70, 3, 30))))
    RegisteredImageFactory(product=product, label="defective", defect_type="dent", split="test")  # not annotated
    RegisteredImageFactory(product=product, label="unknown")  # no place in the layout
    RegisteredImageFactory(product=product, label="normal", split="excluded")
    return product


def exported_bytes(api_client, product) -> bytes:
    response = api_client.get(f"/api/products/{product.pk}/annotations/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'filename="Zipper_cursor-annotations.zip"' in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def exported(api_client, product) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(exported_bytes(api_client, product)))


def folders(archive) -> list[str]:
    return sorted(name.rsplit("/", 1)[0] for name in archive.namelist() if "/" in name)


def test_the_export_is_an_mvtec_layout_with_union_masks_and_the_defect_types(api_client, product):
    archive = exported(api_client, product)
    assert archive.testzip() is None
    assert folders(archive) == [
        "ground_truth/scratch",
        "ground_truth/scratch",
        "test/dent",
        "test/good",
        "test/good",
        "test/scratch",
        "test/scratch",
        "train/good",
        "train/good",
    ]
    assert json.loads(archive.read("defect_types.json")) == [
        {"name": "dent", "color": "#0000ff"},
        {"name": "scratch", "color": "#ff0000"},
    ]
    both = Image.objects.get(original_name="deep scratch.png")
    mask = np.asarray(
        PillowImage.open(io.BytesIO(archive.read(f"ground_truth/scratch/{both.pk}_deep_scratch_mask.png")))
    )
    assert np.array_equal(mask, box_mask((10, 10, 20, 5), (25, 12, 10, 10), (90, 90, 4, 4)))
    with both.aligned_file.open("rb") as handle:
        assert archive.read(f"test/scratch/{both.pk}_deep_scratch.png") == handle.read()


def test_an_exported_zip_imported_into_a_new_product_gives_the_same_annotation_masks(api_client, product):
    data = exported_bytes(api_client, product)
    archive = zipfile.ZipFile(io.BytesIO(data))
    masks = {name: archive.read(name) for name in archive.namelist() if name.startswith("ground_truth/")}
    image_for_mask = {name: name.replace("ground_truth/", "test/").replace("_mask.png", ".png") for name in masks}
    copy = ProductFactory(name="Imported", registration_settings={"method": "none"})
    upload = api_client.post(
        f"/api/products/{copy.pk}/images/", {"files": [SimpleUploadedFile("export.zip", data)]}, format="multipart"
    )
    assert upload.status_code == 201 and upload.data["created_count"] == 7, upload.data
    assert upload.data["skipped"] == [] and upload.data["invalid"] == []
    reference = Image.objects.filter(product=copy, split="train").first()
    registration_job_run(job_id=product_set_reference_image(product=copy, image=reference).pk, worker="test:1")
    assert not Image.objects.filter(product=copy).exclude(registration_status="registered").exists()
    assert Annotation.objects.filter(image__product=copy).count() == len(masks) == 2
    for mask_name, image_name in image_for_mask.items():
        imported = Image.objects.get(product=copy, checksum=hashlib.sha256(archive.read(image_name)).hexdigest())
        annotation = Annotation.objects.get(image=imported)
        union = np.logical_or.reduce([mask_read(region.mask) for region in annotation.regions.all()])
        expected = np.asarray(PillowImage.open(io.BytesIO(masks[mask_name]))) > 0
        assert np.array_equal(union, expected), mask_name
    # defect_types.json brings the colours along, also of types no region uses.
    assert sorted(DefectType.objects.filter(product=copy).values_list("name", "color")) == [
        ("dent", "#0000ff"),
        ("scratch", "#ff0000"),
    ]


def test_the_export_needs_a_signed_in_user(anonymous_client, product):
    assert anonymous_client.get(f"/api/products/{product.pk}/annotations/export/").status_code in (401, 403)
