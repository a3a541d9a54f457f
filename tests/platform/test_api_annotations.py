"""Defect types and annotations through the API: shapes, refusals, revisions, conflicts and restore."""

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PillowImage

from inspection.models import AnnotationRegion
from tests.platform.factories import DefectTypeFactory, ImageFactory, ProductFactory, RegisteredImageFactory

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 64, 48


@pytest.fixture
def product(db):
    return ProductFactory()


@pytest.fixture
def image(product):
    return RegisteredImageFactory(product=product, aligned_size=(WIDTH, HEIGHT))


@pytest.fixture
def scratch(product):
    return DefectTypeFactory(product=product, name="scratch", color="#ff0000")


def mask_png(*, size=(WIDTH, HEIGHT), box=(10, 5, 8, 4), mode="L", value=255) -> bytes:
    width, height = size
    array = np.zeros((height, width), np.uint8)
    x, y, box_width, box_height = box
    array[y : y + box_height, x : x + box_width] = value
    picture = PillowImage.fromarray(array, mode="L")
    if mode == "1":
        picture = picture.convert("1")
    elif mode in ("RGB", "RGBA"):
        picture = picture.convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def annotation_url(product, image, suffix=""):
    return f"/api/products/{product.pk}/images/{image.pk}/annotation/{suffix}"


def put_annotation(client, product, image, regions, *, base_revision=0, note="", files=None):
    """regions: [(defect_type_id, png bytes)]; each mask travels in its own file field."""
    data = {
        "base_revision": str(base_revision),
        "note": note,
        "regions": json.dumps(
            [{"defect_type": type_id, "mask": f"mask{index}"} for index, (type_id, _) in enumerate(regions)]
        ),
    }
    for index, (_, png) in enumerate(regions):
        data[f"mask{index}"] = SimpleUploadedFile(f"mask{index}.png", png, content_type="image/png")
    data.update(files or {})
    return client.put(annotation_url(product, image), data, format="multipart")


def test_defect_types_are_created_listed_renamed_and_deleted(api_client, product):
    created = api_client.post(
        f"/api/products/{product.pk}/defect-types/", {"name": " dent ", "color": "#00FF00"}, format="json"
    )
    assert created.status_code == 201
    assert {key: created.data[key] for key in ("name", "color", "region_count")} == {
        "name": "dent",
        "color": "#00ff00",
        "region_count": 0,
    }
    url = f"/api/products/{product.pk}/defect-types/{created.data['id']}/"
    renamed = api_client.patch(url, {"name": "deep dent"}, format="json")
    assert (renamed.status_code, renamed.data["name"]) == (200, "deep dent")
    listing = api_client.get(f"/api/products/{product.pk}/defect-types/")
    assert [entry["name"] for entry in listing.data] == ["deep dent"]
    assert api_client.delete(url).status_code == 204
    assert api_client.get(f"/api/products/{product.pk}/defect-types/").data == []


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"name": "", "color": "#112233"}, "needs a name"),
        ({"name": "scratch", "color": "#112233"}, "already has a defect type"),
        ({"name": "crack", "color": "red"}, "#rrggbb"),
    ],
)
def test_a_defect_type_with_an_empty_or_duplicate_name_or_a_bad_colour_is_refused(
    api_client, product, scratch, payload, words
):
    response = api_client.post(f"/api/products/{product.pk}/defect-types/", payload, format="json")
    assert response.status_code == 400 and words in response.data["detail"]


def test_a_defect_type_used_by_a_region_cannot_be_deleted(api_client, product, image, scratch):
    assert put_annotation(api_client, product, image, [(scratch.pk, mask_png())]).status_code == 201
    response = api_client.delete(f"/api/products/{product.pk}/defect-types/{scratch.pk}/")
    assert response.status_code == 409 and "used by 1 annotated region" in response.data["detail"]
    listed = api_client.get(f"/api/products/{product.pk}/defect-types/").data
    assert (listed[0]["region_count"], listed[0]["in_use"]) == (1, True)


def test_an_image_never_annotated_reads_as_revision_0_at_its_registered_size(api_client, product, image):
    response = api_client.get(annotation_url(product, image))
    assert response.status_code == 200
    assert {key: response.data[key] for key in ("image", "revision", "width", "height", "regions", "note")} == {
        "image": image.pk,
        "revision": 0,
        "width": WIDTH,
        "height": HEIGHT,
        "regions": [],
        "note": "",
    }
    assert response.data["registered_image_url"].startswith("http://testserver/media/")


def test_an_image_not_aligned_cannot_be_annotated(api_client, product, scratch):
    pending = ImageFactory(product=product)
    assert api_client.get(annotation_url(product, pending)).status_code == 409
    response = put_annotation(api_client, product, pending, [(scratch.pk, mask_png())])
    assert response.status_code == 409 and "only aligned images can be annotated" in response.data["detail"]


@pytest.mark.parametrize("mode", ["L", "1", "RGB", "RGBA"])
def test_a_saved_annotation_has_area_and_bounding_box_and_its_mask_is_served(api_client, product, image, scratch, mode):
    response = put_annotation(
        api_client, product, image, [(scratch.pk, mask_png(box=(10, 5, 8, 4), mode=mode))], note="first look"
    )
    assert response.status_code == 201, response.data
    assert (response.data["revision"], response.data["note"]) == (1, "first look")
    (region,) = response.data["regions"]
    assert {key: region[key] for key in ("defect_type", "defect_type_name", "color", "area", "bbox")} == {
        "defect_type": scratch.pk,
        "defect_type_name": "scratch",
        "color": "#ff0000",
        "area": 32,
        "bbox": [10, 5, 8, 4],
    }
    served = api_client.get(region["mask_url"])
    assert served.status_code == 200
    stored = np.asarray(PillowImage.open(io.BytesIO(b"".join(served.streaming_content))))
    assert stored.dtype == np.uint8 and set(np.unique(stored)) == {0, 255} and stored.shape == (HEIGHT, WIDTH)


def test_a_mask_of_the_wrong_size_is_refused_naming_both_sizes(api_client, product, image, scratch):
    response = put_annotation(api_client, product, image, [(scratch.pk, mask_png(size=(WIDTH + 1, HEIGHT)))])
    assert response.status_code == 400
    assert "65x48" in response.data["detail"] and "64x48" in response.data["detail"]


def test_a_mask_that_is_not_binary_is_refused_naming_the_values_found(api_client, product, image, scratch):
    response = put_annotation(api_client, product, image, [(scratch.pk, mask_png(value=128))])
    assert response.status_code == 400 and "pixel values 0, 128" in response.data["detail"]


def test_an_empty_mask_is_refused(api_client, product, image, scratch):
    response = put_annotation(api_client, product, image, [(scratch.pk, mask_png(box=(0, 0, 0, 0)))])
    assert response.status_code == 400 and "empty" in response.data["detail"]


def test_a_defect_type_of_another_product_or_an_unknown_one_is_refused(api_client, product, image):
    foreign = DefectTypeFactory(product=ProductFactory())
    for type_id in (foreign.pk, 999_999):
        response = put_annotation(api_client, product, image, [(type_id, mask_png())])
        assert response.status_code == 400 and "not a defect type of this product" in response.data["detail"]


def test_a_missing_file_or_bad_json_is_refused(api_client, product, image, scratch):
    missing = api_client.put(
        annotation_url(product, image),
        {"base_revision": "0", "regions": json.dumps([{"defect_type": scratch.pk, "mask": "nowhere"}])},
        format="multipart",
    )
    assert missing.status_code == 400 and "'nowhere'" in missing.data["detail"]
    bad = api_client.put(annotation_url(product, image), {"base_revision": "0", "regions": "[{"}, format="multipart")
    assert bad.status_code == 400 and "not valid JSON" in bad.data["detail"]


def test_a_refused_save_stores_nothing(api_client, product, image, scratch, private_media):
    before = set(private_media.rglob("*"))
    conflicting = put_annotation(api_client, product, image, [(scratch.pk, mask_png())], base_revision=3)
    invalid = put_annotation(api_client, product, image, [(scratch.pk, mask_png()), (scratch.pk, mask_png(value=7))])
    assert (conflicting.status_code, invalid.status_code) == (409, 400)
    assert not AnnotationRegion.objects.exists()
    assert set(private_media.rglob("*")) - before == set()


def test_a_save_from_an_outdated_revision_is_refused_with_409_and_loses_nothing(api_client, product, image, scratch):
    first = put_annotation(api_client, product, image, [(scratch.pk, mask_png(box=(1, 1, 3, 3)))])
    second = put_annotation(api_client, product, image, [(scratch.pk, mask_png(box=(20, 20, 5, 5)))], base_revision=1)
    assert (first.status_code, second.status_code) == (201, 201)
    late = put_annotation(api_client, product, image, [(scratch.pk, mask_png(box=(30, 2, 2, 2)))], base_revision=1)
    assert late.status_code == 409 and late.data["current_revision"] == 2
    current = api_client.get(annotation_url(product, image)).data
    assert (current["revision"], current["regions"][0]["bbox"]) == (2, [20, 20, 5, 5])


def test_every_save_is_a_revision_and_restoring_one_adds_a_new_revision(api_client, product, image, scratch):
    put_annotation(
        api_client,
        product,
        image,
        [(scratch.pk, mask_png(box=(1, 1, 3, 3))), (scratch.pk, mask_png(box=(40, 30, 4, 4)))],
    )
    cleared = put_annotation(api_client, product, image, [], base_revision=1, note="nothing there")
    assert (cleared.status_code, cleared.data["revision"], cleared.data["regions"]) == (201, 2, [])
    revisions = api_client.get(annotation_url(product, image, "revisions/")).data
    assert [(entry["revision"], entry["region_count"], entry["note"]) for entry in revisions] == [
        (2, 0, "nothing there"),
        (1, 2, ""),
    ]
    old = api_client.get(annotation_url(product, image, "revisions/1/")).data
    assert [region["bbox"] for region in old["regions"]] == [[1, 1, 3, 3], [40, 30, 4, 4]]
    restored = api_client.post(annotation_url(product, image, "revisions/1/restore/"))
    assert restored.status_code == 201 and restored.data["revision"] == 3
    assert [region["bbox"] for region in restored.data["regions"]] == [[1, 1, 3, 3], [40, 30, 4, 4]]
    # The copy has files of its own: revision 1 stays readable whatever happens to 3.
    assert {region["mask_url"] for region in restored.data["regions"]}.isdisjoint(
        {region["mask_url"] for region in old["regions"]}
    )
    assert api_client.post(annotation_url(product, image, "revisions/9/restore/")).status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("put", ""), ("get", "revisions/"), ("post", "revisions/1/restore/")]
)
def test_annotations_need_a_signed_in_user(anonymous_client, product, image, method, suffix):
    response = getattr(anonymous_client, method)(annotation_url(product, image, suffix))
    assert response.status_code in (401, 403)
    assert anonymous_client.get(f"/api/products/{product.pk}/defect-types/").status_code in (401, 403)
