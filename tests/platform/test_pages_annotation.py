"""The annotation editor page and the links that lead to it (the drawing itself is tested in the browser)."""

import pytest

from tests.platform.factories import ImageFactory, ProductFactory, RegisteredImageFactory


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


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
