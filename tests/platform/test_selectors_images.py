"""Reading a product's images: by ids, defect types in use, aligned neighbours, and what a training would use."""

from inspection.models import Image
from inspection.selectors.images import (
    image_aligned_neighbours,
    image_defect_type_names,
    image_find,
    image_list,
    image_list_by_ids,
    image_training_counts,
)
from tests.platform.factories import ImageFactory, ProductFactory, RegisteredImageFactory
from tests.synthetic_images import distinct_part_pngs


def test_images_are_found_by_id_only_within_their_product(db):
    product, other = ProductFactory(), ProductFactory()
    mine, theirs = ImageFactory(product=product), ImageFactory(product=other)
    assert image_find(product=product, image_id=mine.pk) == mine
    assert image_find(product=product, image_id=theirs.pk) is None
    assert image_list_by_ids(product=product, image_ids=[theirs.pk, mine.pk, 987654]) == [mine]


def test_the_defect_types_in_use_are_listed_once_each_in_order(db):
    product = ProductFactory()
    pictures = iter(distinct_part_pngs(4, size=16))
    for defect_type in ("scratch", "dent", "scratch", ""):
        ImageFactory(product=product, content=next(pictures), label="defective", defect_type=defect_type)
    ImageFactory(product=ProductFactory(), defect_type="crack")
    assert image_defect_type_names(product=product) == ["dent", "scratch"]


def test_the_neighbours_of_an_image_are_the_nearest_aligned_ones_on_each_side(db):
    product = ProductFactory()
    pictures = iter(distinct_part_pngs(6, size=16))
    first = RegisteredImageFactory(product=product, content=next(pictures))
    ImageFactory(product=product, content=next(pictures))  # not aligned: skipped
    current = RegisteredImageFactory(product=product, content=next(pictures))
    RegisteredImageFactory(product=product, content=next(pictures), aligned_file="")  # no aligned copy: skipped
    last = RegisteredImageFactory(product=product, content=next(pictures))
    assert image_aligned_neighbours(image=current) == (first, last)
    assert image_aligned_neighbours(image=first) == (None, current)
    assert image_aligned_neighbours(image=last) == (current, None)


def test_the_training_counts_are_those_of_the_image_filters_in_one_query(db, django_assert_num_queries):
    product = ProductFactory()
    pictures = iter(distinct_part_pngs(12, size=16))
    kinds = [
        ("normal", "train", "registered"),
        ("normal", "train", "registered"),
        ("normal", "train", "pending"),
        ("normal", "train", "failed"),
        ("normal", "validation", "registered"),
        ("normal", "test", "pending"),
        ("defective", "test", "registered"),
        ("defective", "validation", "registered"),
        ("defective", "train", "registered"),
        ("unknown", "train", "registered"),
        ("unknown", "test", "pending"),
    ]
    for label, split, status in kinds:
        ImageFactory(product=product, content=next(pictures), label=label, split=split, registration_status=status)
    ImageFactory(product=ProductFactory(), content=next(pictures))

    def count(**filters) -> int:
        return image_list(product=product, filters=filters).count()

    with django_assert_num_queries(1):
        counts = image_training_counts(product=product)
    assert counts == {
        "train": count(label="normal", split="train", registration_status="registered"),
        "train_not_aligned": count(label="normal", split="train")
        - count(label="normal", split="train", registration_status="registered"),
        "eval_normal": sum(
            count(label="normal", split=split, registration_status="registered") for split in ("validation", "test")
        ),
        "eval_defective": sum(
            count(label="defective", split=split, registration_status="registered") for split in ("validation", "test")
        ),
        "unlabelled": count(label=Image.Label.UNKNOWN),
    }
    assert counts == {"train": 2, "train_not_aligned": 2, "eval_normal": 1, "eval_defective": 2, "unlabelled": 2}


def test_the_image_list_api_costs_the_same_queries_however_many_images_there_are(api_client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    product = ProductFactory()
    pictures = iter(distinct_part_pngs(8, size=16))
    ImageFactory(product=product, content=next(pictures), uploaded_by=user)
    with CaptureQueriesContext(connection) as one:
        api_client.get(f"/api/products/{product.pk}/images/")
    for picture in pictures:
        ImageFactory(product=product, content=picture, uploaded_by=user)
    with CaptureQueriesContext(connection) as eight:
        response = api_client.get(f"/api/products/{product.pk}/images/")
    assert len(response.data["results"]) == 8
    assert {item["uploaded_by"] for item in response.data["results"]} == {user.username}
    assert len(eight) == len(one)
