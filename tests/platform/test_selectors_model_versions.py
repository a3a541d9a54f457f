"""Reading model versions: operating points of many versions at once, activations and version lists by API, in queries that do not grow with the rows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspection.models import Product
from inspection.selectors.model_versions import (
    activation_list,
    threshold_current,
    threshold_current_by_version,
)
from tests.platform.factories import (
    ActivationFactory,
    ProductFactory,
    ThresholdSettingFactory,
    TrainedVersionFactory,
)
from tests.platform.fixtures import queries_of


def test_the_operating_points_of_many_versions_are_those_each_version_has_in_force(db):
    product = ProductFactory()
    first, second, unset = TrainedVersionFactory.create_batch(3, product=product)
    ThresholdSettingFactory(version=first, threshold=0.2)
    ThresholdSettingFactory(version=first, threshold=0.25)
    ThresholdSettingFactory(version=second, threshold=None, band_lower=0.1, band_upper=0.3)
    other_product_version = ThresholdSettingFactory(threshold=0.7).version
    versions = [first, second, unset, other_product_version]
    settings = threshold_current_by_version(version_ids=[version.pk for version in versions])
    assert settings[first.pk].threshold == 0.25
    assert (settings[second.pk].band_lower, settings[second.pk].band_upper) == (0.1, 0.3)
    assert unset.pk not in settings
    for version in versions:
        assert settings.get(version.pk) == threshold_current(product=version.product, version=version)


def test_the_activations_of_one_version_are_listed_apart_from_the_others(db):
    product = ProductFactory()
    first, second = TrainedVersionFactory.create_batch(2, product=product)
    mine = [ActivationFactory(version=first), ActivationFactory(version=first)]
    ActivationFactory(version=second)
    assert list(activation_list(product=product, version=first)) == mine[::-1]
    assert activation_list(product=product).count() == 3


def activations_of(product: Product, count: int) -> None:
    for _ in range(count):
        version = TrainedVersionFactory(product=product)
        ThresholdSettingFactory(version=version, threshold=0.1 * (version.number % 9 + 1))
        ActivationFactory(version=version)


def test_the_activation_list_api_shows_each_operating_point_in_queries_that_do_not_grow_with_the_rows(api_client):
    product = ProductFactory()
    activations_of(product, 1)
    url = f"/api/products/{product.pk}/activations/"
    one = queries_of(lambda: api_client.get(url))
    activations_of(product, 6)
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url)
    assert response.status_code == 200 and len(response.data["results"]) == 7
    for item in response.data["results"]:
        setting = threshold_current(product=product, version=product.model_versions.get(pk=item["version"]))
        assert item["operating_point"]["id"] == setting.pk
        assert item["operating_point"]["version_number"] == item["version_number"]
    assert len(captured) == one


def test_an_activation_of_a_version_without_operating_point_shows_none(api_client):
    activation = ActivationFactory()
    response = api_client.get(f"/api/products/{activation.product_id}/activations/")
    assert response.data["results"][0]["operating_point"] is None


def test_the_version_list_api_costs_the_same_queries_however_many_versions_there_are(api_client):
    product = ProductFactory()
    TrainedVersionFactory(product=product)
    url = f"/api/products/{product.pk}/model-versions/"
    one = queries_of(lambda: api_client.get(url))
    TrainedVersionFactory.create_batch(6, product=product)
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(url)
    assert response.status_code == 200 and len(response.data["results"]) == 7
    assert all(item["job"]["created_by"] for item in response.data["results"])
    assert len(captured) == one
