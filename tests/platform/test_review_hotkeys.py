"""The review queue's number keys: a fixed order the engineer sets, never renumbered by a new type, and a typed
new type that becomes a product defect type only once confirmed."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.errors import InvalidInput
from inspection.models import DefectType, ReviewItem
from inspection.selectors.review_hotkeys import defect_types_in_hotkey_order
from inspection.services.inspections import inspection_run
from inspection.services.review_hotkeys import defect_type_move, defect_type_order_set
from tests.platform.factories import DefectTypeFactory, ProductFactory
from tests.platform.loop_data import activated_version, ready_product
from tests.synthetic_images import defective_pixels, png_bytes


def names(product) -> list[str]:
    return [defect_type.name for defect_type in defect_types_in_hotkey_order(product=product)]


def test_types_keep_their_keys_when_a_new_one_is_added_even_one_earlier_in_the_alphabet(db):
    product = ProductFactory()
    for name in ("scratch", "dent"):
        DefectTypeFactory(product=product, name=name)
    assert names(product) == ["scratch", "dent"]
    DefectTypeFactory(product=product, name="abrasion")
    assert names(product) == ["scratch", "dent", "abrasion"]


def test_the_engineer_orders_the_keys_and_later_types_come_after(db):
    product = ProductFactory()
    scratch, dent, crack = (DefectTypeFactory(product=product, name=name) for name in ("scratch", "dent", "crack"))
    defect_type_order_set(product=product, ids=[crack.pk, scratch.pk, dent.pk])
    assert names(product) == ["crack", "scratch", "dent"]
    DefectTypeFactory(product=product, name="burr")
    assert names(product) == ["crack", "scratch", "dent", "burr"]
    defect_type_move(defect_type=DefectType.objects.get(name="burr"), step=-1)
    assert names(product) == ["crack", "scratch", "burr", "dent"]
    with pytest.raises(InvalidInput, match="exactly once"):
        defect_type_order_set(product=product, ids=[crack.pk, crack.pk])


@pytest.fixture
def queued(user, private_media, db):
    product = ready_product(train=10, test_good=4, test_defective=4, name="Clasp")
    activated_version(product, user=user)
    inspection = inspection_run(product=product, file=SimpleUploadedFile("bad.png", png_bytes(defective_pixels(41))))
    return product, inspection.review_item


def test_a_typed_new_type_is_added_with_its_colour_only_after_confirmation(client, user, queued):
    product, item = queued
    client.force_login(user)
    url = f"/products/{product.pk}/review/{item.pk}/decide/"
    asked = client.post(url, {"decision": "defective", "defect_type": "  Hairline crack "})
    page = asked.content.decode()
    assert asked.status_code == 200 and "data-new-defect-type" in page and "Hairline crack" in page
    assert not DefectType.objects.filter(product=product, name="Hairline crack").exists()
    assert ReviewItem.objects.get(pk=item.pk).status != ReviewItem.Status.DECIDED
    confirmed = client.post(
        url, {"decision": "defective", "defect_type": "Hairline crack", "add_defect_type": "yes", "color": "#123456"}
    )
    assert confirmed.status_code == 302
    created = DefectType.objects.get(product=product, name="Hairline crack")
    assert created.color == "#123456" and names(product)[-1] == "Hairline crack"
    decided = ReviewItem.objects.get(pk=item.pk)
    assert (decided.decision, decided.defect_type) == ("defective", "Hairline crack")


def test_a_type_typed_in_another_case_is_the_existing_one(client, user, queued):
    product, item = queued
    DefectTypeFactory(product=product, name="Scratch", color="#00ff00")
    client.force_login(user)
    response = client.post(
        f"/products/{product.pk}/review/{item.pk}/decide/", {"decision": "defective", "defect_type": "scratch"}
    )
    assert response.status_code == 302
    assert ReviewItem.objects.get(pk=item.pk).defect_type == "Scratch"
    assert DefectType.objects.filter(product=product, name__iexact="scratch").count() == 1


def test_a_bad_colour_refuses_the_new_type_and_decides_nothing(client, user, queued):
    product, item = queued
    client.force_login(user)
    response = client.post(
        f"/products/{product.pk}/review/{item.pk}/decide/",
        {"decision": "defective", "defect_type": "warp", "add_defect_type": "yes", "color": "red"},
    )
    assert response.status_code == 409
    assert not DefectType.objects.filter(product=product, name="warp").exists()
    assert ReviewItem.objects.get(pk=item.pk).status != ReviewItem.Status.DECIDED


def test_the_key_order_endpoint_and_the_overview_buttons(api_client, client, user, db):
    product = ProductFactory()
    first, second = (DefectTypeFactory(product=product, name=name) for name in ("dent", "crack"))
    response = api_client.put(f"/api/products/{product.pk}/defect-types/order/", {"ids": [second.pk, first.pk]})
    assert response.status_code == 200 and [row["name"] for row in response.data] == ["crack", "dent"]
    assert api_client.put(f"/api/products/{product.pk}/defect-types/order/", {"ids": [first.pk]}).status_code == 400
    client.force_login(user)
    overview = client.get(f"/products/{product.pk}/review/?overview=1").content.decode()
    assert "Defect type keys" in overview and "Move dent up" in overview
    client.post(f"/products/{product.pk}/review/defect-types/{first.pk}/move/", {"step": "-1"})
    assert names(product) == ["dent", "crack"]
