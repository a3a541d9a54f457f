"""The annotation editor page and the links that lead to it (the drawing itself is tested in the browser)."""

import numpy as np
import pytest
from django.db.models import F

from inspection.models import Image
from tests.platform.factories import ImageFactory, ProductFactory, RegisteredImageFactory
from tests.platform.test_pages_training import assert_every_control_is_labelled


@pytest.fixture
def product(db):
    return ProductFactory(name="Zipper cursor")


def editor_url(image) -> str:
    return f"/products/{image.product_id}/images/{image.pk}/annotate/"


def test_the_editor_needs_a_signed_in_user(client, product):
    image = RegisteredImageFactory(product=product)
    response = client.get(editor_url(image))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_the_editor_opens_on_a_registered_image_with_the_api_addresses_it_uses(signed_in, product):
    image = RegisteredImageFactory(product=product, label="defective", defect_type="scratch", split="test")
    response = signed_in.get(editor_url(image))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-annotation-url="/api/products/{product.pk}/images/{image.pk}/annotation/"' in html
    assert f'data-defect-types-url="/api/products/{product.pk}/defect-types/"' in html
    assert f'src="{image.aligned_file.url}"' in html
    assert "js/annotate.js" in html
    # The shortcuts are written on the page.
    assert "Keyboard shortcuts" in html and "<kbd>[</kbd>" in html
    assert_every_control_is_labelled(html)


def test_an_image_of_another_product_is_not_found(signed_in, product):
    other = RegisteredImageFactory(product=ProductFactory(name="Hinge"))
    assert signed_in.get(f"/products/{product.pk}/images/{other.pk}/annotate/").status_code == 404
    assert signed_in.get(f"/products/{product.pk}/images/999999/annotate/").status_code == 404


def test_an_image_not_yet_aligned_is_refused_with_the_reason_in_words(signed_in, product):
    image = ImageFactory(product=product, original_name="part_7.png")
    response = signed_in.get(editor_url(image))
    assert response.status_code == 409
    html = response.content.decode()
    assert "part_7.png is not aligned to the reference image yet, so it cannot be annotated" in html
    assert "data-annotator" not in html


def test_an_image_that_could_not_be_aligned_says_why(signed_in, product):
    image = ImageFactory(
        product=product, registration_status="failed", registration_failure_reason="too little overlap"
    )
    response = signed_in.get(editor_url(image))
    assert response.status_code == 409
    assert "could not be aligned to the reference image (too little overlap)" in response.content.decode()


def test_the_editor_links_to_the_previous_and_next_aligned_images(signed_in, product):
    first = RegisteredImageFactory(product=product)
    ImageFactory(product=product)  # not aligned: skipped
    middle = RegisteredImageFactory(product=product)
    last = RegisteredImageFactory(product=product)
    html = signed_in.get(editor_url(middle)).content.decode()
    assert f'href="{editor_url(first)}" rel="prev"' in html
    assert f'href="{editor_url(last)}" rel="next"' in html
    assert 'rel="prev"' not in signed_in.get(editor_url(first)).content.decode()


def test_the_data_set_grid_offers_annotate_only_for_aligned_images(signed_in, product):
    aligned = RegisteredImageFactory(product=product)
    pending = ImageFactory(product=product)
    html = signed_in.get(f"/products/{product.pk}/images/").content.decode()
    assert f'href="{editor_url(aligned)}"' in html
    assert editor_url(pending) not in html


# --- From review and inspection to the editor, and the regions over the heatmap ------------------


@pytest.fixture
def rejected(db):
    """A part the active model rejected, waiting in the review queue."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from inspection.services.inspections import inspection_run
    from tests.platform.loop_data import activated_version, ready_product
    from tests.synthetic_images import defective_png

    product = ready_product(train=8, test_good=4, test_defective=4)
    activated_version(product)
    product.refresh_from_db()
    inspection = inspection_run(product=product, file=SimpleUploadedFile("flagged.png", defective_png(7)))
    assert inspection.decision == "reject"
    return inspection


def square_mask(size: int, top_left: tuple[int, int], side: int) -> bytes:
    from tests.synthetic_images import png_bytes

    mask = np.zeros((size, size), np.uint8)
    x, y = top_left
    mask[y : y + side, x : x + side] = 255
    return png_bytes(mask)


def confirm_and_draw(client, inspection):
    item = inspection.review_item
    return client.post(
        f"/products/{inspection.product_id}/review/{item.pk}/decide/",
        {"decision": "defective", "defect_type": "scratch", "then": "annotate"},
    )


def test_confirming_a_defect_can_lead_straight_to_drawing_its_region(signed_in, rejected):
    page = signed_in.get(f"/products/{rejected.product_id}/review/{rejected.review_item.pk}/").content.decode()
    assert "Confirm and draw the defect region" in page
    response = confirm_and_draw(signed_in, rejected)
    rejected.review_item.refresh_from_db()
    image = rejected.review_item.resulting_image
    assert response.status_code == 302 and response.url == editor_url(image)
    assert signed_in.get(response.url).status_code == 200
    # The decided item and the inspection page lead there too.
    decided = signed_in.get(f"/products/{rejected.product_id}/review/{rejected.review_item.pk}/").content.decode()
    assert f'<a href="{editor_url(image)}">Draw the defect region</a>' in decided
    inspection_page = signed_in.get(f"/products/{rejected.product_id}/inspections/{rejected.pk}/").content.decode()
    assert f'href="{editor_url(image)}" data-annotate-link>Draw the defect region</a>' in inspection_page
    assert "data-region-outlines" not in inspection_page


def test_the_inspection_page_outlines_the_drawn_regions_over_the_heatmap(signed_in, rejected, user):
    from inspection.services.annotations import RegionInput, annotation_save
    from tests.platform.factories import DefectTypeFactory

    confirm_and_draw(signed_in, rejected)
    image = Image.objects.get(checksum=rejected.checksum)
    dent = DefectTypeFactory(product=image.product, name="dent", color="#4363d8")
    annotation_save(
        image=image,
        base_revision=0,
        created_by=user,
        regions=[RegionInput(dent.pk, square_mask(96, (10, 20), 5), "dent")],
    )
    html = signed_in.get(f"/products/{rejected.product_id}/inspections/{rejected.pk}/").content.decode()
    assert 'viewBox="0 0 96 96"' in html
    assert '<path d="M10.5 20.5 L10.5 24.5 L14.5 24.5 L14.5 20.5 Z" stroke="#4363d8"><title>dent</title></path>' in html
    assert "Outline the drawn defect regions" in html and "Edit the defect regions" in html


def test_regions_drawn_after_the_images_were_aligned_again_are_not_outlined_over_an_older_alignment(
    signed_in, rejected, user
):
    from inspection.models import Product
    from inspection.services.annotations import RegionInput, annotation_save
    from tests.platform.factories import DefectTypeFactory

    confirm_and_draw(signed_in, rejected)
    image = Image.objects.get(checksum=rejected.checksum)
    Product.objects.filter(pk=image.product_id).update(registration_revision=F("registration_revision") + 1)
    dent = DefectTypeFactory(product=image.product, name="dent")
    annotation_save(
        image=image,
        base_revision=0,
        created_by=user,
        regions=[RegionInput(dent.pk, square_mask(96, (10, 20), 5), "dent")],
    )
    html = signed_in.get(f"/products/{rejected.product_id}/inspections/{rejected.pk}/").content.decode()
    assert "data-region-outlines" not in html
    assert "they may not line up with this model's alignment" in html


def test_outlines_follow_holes_and_separate_parts_of_a_region():
    from inspection.selectors.annotation_outlines import svg_path

    ring = np.zeros((20, 20), bool)
    ring[2:9, 2:9] = True
    ring[4:7, 4:7] = False  # a hole
    ring[15, 15] = True  # a lone pixel: a dot
    path = svg_path(ring)
    assert path.count("M") == 3 and path.count("Z") == 3
    assert "M15.5 15.5 Z" in path
