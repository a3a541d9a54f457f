"""The training page: starting a version with its settings, refusals in words, progress and history."""

import re

from inspection.models import ModelVersion
from inspection.services.model_versions import model_version_create
from tests.platform.factories import ProductFactory
from tests.platform.loop_data import ready_product


def test_every_page_of_the_loop_needs_a_signed_in_user(client, db):
    product = ProductFactory()
    for path in (
        f"/products/{product.pk}/training/",
        f"/products/{product.pk}/versions/1/",
        f"/products/{product.pk}/versions/compare/",
        f"/products/{product.pk}/inspect/",
        f"/products/{product.pk}/inspections/1/",
        f"/products/{product.pk}/review/",
        f"/products/{product.pk}/review/1/",
    ):
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path
    for path in (
        f"/products/{product.pk}/training/",
        f"/products/{product.pk}/retrain/",
        f"/products/{product.pk}/review/next/",
    ):
        assert client.post(path).status_code == 302, path
    assert not ModelVersion.objects.exists()


def test_the_training_page_says_what_a_training_would_use(signed_in):
    product = ready_product(train=5, test_good=2, test_defective=3)
    html = signed_in.get(f"/products/{product.pk}/training/").content.decode()
    assert re.search(r"<dt>Training images</dt><dd>5</dd>", html)
    assert re.search(r"<dt>Normal for evaluation</dt><dd>2</dd>", html)
    assert re.search(r"<dt>Defective for evaluation</dt><dd>3</dd>", html)
    assert "No training is running." in html
    assert '<option value="cpcae-knn" selected>' in html


def test_a_product_without_defective_images_is_warned_that_it_cannot_be_evaluated(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    html = signed_in.get(f"/products/{product.pk}/training/").content.decode()
    assert "cannot be evaluated" in html


def test_starting_a_training_queues_a_version_with_only_the_settings_of_its_method(signed_in, user):
    product = ready_product(train=4, test_good=1, test_defective=1)
    response = signed_in.post(
        f"/products/{product.pk}/training/",
        {"method": "nearest-image", "working_side": "48", "epochs": "3", "learning_rate": ""},
        follow=True,
    )
    html = response.content.decode()
    version = ModelVersion.objects.get()
    assert (version.method, version.params, version.status, version.created_by) == (
        "nearest-image",
        {"working_side": 48},
        "queued",
        user,
    )
    assert "Version 1 is queued for training." in html
    # The running training is shown with its progress partial, which asks the server for itself again.
    assert "data-training " in html and f'hx-get="/products/{product.pk}/versions/{version.pk}/live/training/"' in html
    assert 'aria-label="Training progress of version 1"' in html


def test_a_version_saved_under_the_former_name_nn_is_shown_as_nearest_image(signed_in, user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    model_version_create(product=product, method="nn", params={"working_side": 48}, created_by=user)
    assert ModelVersion.objects.get().method == "nearest-image"
    ModelVersion.objects.update(method="nn")  # as saved before the rename
    html = signed_in.get(f"/products/{product.pk}/training/").content.decode()
    assert "<td>nearest-image<br>" in html and "<td>nn<" not in html


def test_empty_settings_keep_the_methods_defaults(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    signed_in.post(f"/products/{product.pk}/training/", {"method": "cpcae-knn", "epochs": "", "batch_size": ""})
    assert ModelVersion.objects.get().params == {}


def test_a_ticked_box_a_zero_and_off_are_settings_and_an_unticked_box_or_blank_choice_is_the_default(signed_in):
    requests = [
        {"method": "patch-knn", "enlarge": "on", "input_side": "768"},
        {"method": "patch-knn", "input_side": "768"},
        {"method": "cpcae-knn", "variance_shrinkage": "0"},
        {"method": "patch-knn", "fine_input_side": "0"},
        {"method": "cpcae-knn", "residual_normalisation": "off"},
        {"method": "cpcae-knn", "residual_normalisation": ""},
        {"method": "cpcae-knn", "pooling_grid": "1"},
        {"method": "deep-feature", "precision": "float32"},
        {"method": "patch-knn", "precision": ""},
    ]
    for settings in requests:  # one product each: a product trains one version at a time
        product = ready_product(train=3, test_good=0, test_defective=0)
        signed_in.post(f"/products/{product.pk}/training/", settings)
    params = [version.params for version in ModelVersion.objects.order_by("pk")]
    assert params == [
        {"enlarge": True, "input_side": 768},
        {"input_side": 768},
        {"variance_shrinkage": 0.0},
        {"fine_input_side": 0},
        {"residual_normalisation": False},
        {},
        {"pooling_grid": 1},
        {"precision": "float32"},
        {},
    ]


def test_bad_settings_are_explained_next_to_their_field(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    response = signed_in.post(f"/products/{product.pk}/training/", {"method": "cpcae-knn", "epochs": "0"})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert not ModelVersion.objects.exists()


def test_refusals_of_the_training_service_are_shown_in_its_words(signed_in):
    no_reference = ProductFactory()
    response = signed_in.post(f"/products/{no_reference.pk}/training/", {"method": "variation"})
    assert response.status_code == 400
    assert "The product has no reference image" in response.content.decode()

    product = ready_product(train=3, test_good=0, test_defective=0)
    signed_in.post(f"/products/{product.pk}/training/", {"method": "variation"})
    second = signed_in.post(f"/products/{product.pk}/training/", {"method": "variation"})
    assert second.status_code == 400
    assert "Version 1 of this product is still queued" in second.content.decode()
    assert ModelVersion.objects.filter(product=product).count() == 1


def test_the_history_shows_each_version_with_its_error_in_words(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_create(product=product, method="variation")
    ModelVersion.objects.filter(pk=version.pk).update(
        status="failed", error="The data set cannot be used: the aligned images have different shapes."
    )
    html = signed_in.get(f"/products/{product.pk}/training/").content.decode()
    assert "The data set cannot be used: the aligned images have different shapes." in html
    assert f'href="/products/{product.pk}/versions/{version.pk}/">Version 1</a>' in html


def test_cancelling_a_queued_training_without_javascript(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_create(product=product, method="variation")
    response = signed_in.post(f"/products/{product.pk}/versions/{version.pk}/cancel/", follow=True)
    assert "Cancelling version 1." in response.content.decode()
    version.refresh_from_db()
    assert version.status == "cancelled"
    again = signed_in.post(f"/products/{product.pk}/versions/{version.pk}/cancel/", follow=True)
    assert "there is no training to cancel" in again.content.decode()


def test_every_form_control_on_the_training_page_has_a_label(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    model_version_create(product=product, method="variation")
    html = signed_in.get(f"/products/{product.pk}/training/").content.decode()
    assert_every_control_is_labelled(html)


def assert_every_control_is_labelled(html: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), f"repeated ids: {sorted({i for i in ids if ids.count(i) > 1})}"
    for control in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if 'type="hidden"' in control:
            continue
        control_id = re.search(r'\bid="([^"]+)"', control)
        assert control_id, f"control without id: {control}"
        assert f'for="{control_id.group(1)}"' in html, f"no label for {control}"
