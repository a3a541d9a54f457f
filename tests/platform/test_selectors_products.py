"""Reading products: the products page's overview of every product, and its cost in queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from inspection.models import Product
from inspection.selectors.products import product_overview_list
from tests.platform.factories import (
    ImageFactory,
    JobFactory,
    ProductFactory,
    ThresholdSettingFactory,
    TrainedVersionFactory,
    UserFactory,
)
from tests.platform.fixtures import queries_of


def a_product_in_use(name: str) -> Product:
    """A product with images, an active version with two operating points in turn, and jobs by a person."""
    product = ProductFactory(name=name)
    ImageFactory.create_batch(2, product=product)
    version = TrainedVersionFactory(product=product)
    ThresholdSettingFactory(version=version, threshold=0.3)
    ThresholdSettingFactory(version=version, threshold=0.4)
    Product.objects.filter(pk=product.pk).update(active_version=version)
    JobFactory(product=product, status="succeeded", created_by=UserFactory())
    JobFactory(product=product, status="failed", created_by=UserFactory(), error=f"{name} stopped")
    return product


def test_each_product_comes_with_its_newest_job_and_its_active_versions_operating_point(db):
    busy = a_product_in_use("Bracket")
    idle = ProductFactory(name="Zipper")
    products = {product.name: product for product in product_overview_list()}
    assert products["Bracket"].last_job.error == "Bracket stopped"
    assert products["Bracket"].last_job.created_by.username
    assert products["Bracket"].current_setting.threshold == 0.4
    assert products["Bracket"].active_version.pk == Product.objects.get(pk=busy.pk).active_version_id
    assert products["Bracket"].image_count == 2
    assert (products["Zipper"].last_job, products["Zipper"].current_setting, products["Zipper"].pk) == (
        None,
        None,
        idle.pk,
    )


def test_an_operating_point_of_another_version_is_not_taken_for_the_active_ones(db):
    product = a_product_in_use("Bracket")
    ThresholdSettingFactory(version=TrainedVersionFactory(product=product), threshold=0.9)
    (overview,) = product_overview_list()
    assert overview.current_setting.threshold == 0.4


def test_the_overview_costs_the_same_queries_for_one_product_as_for_five(db):
    a_product_in_use("Product A")

    def read_everything_the_page_shows():
        return [
            (product.active_version.number, product.last_job.created_by.username, product.current_setting.threshold)
            for product in product_overview_list()
        ]

    one = queries_of(read_everything_the_page_shows)
    for name in "BCDE":
        a_product_in_use(f"Product {name}")
    assert queries_of(read_everything_the_page_shows) == one == 4


def test_the_products_page_costs_the_same_queries_however_many_products_there_are(client, user):
    client.force_login(user)
    a_product_in_use("Product A")
    one = queries_of(lambda: client.get("/"))
    for name in "BCDE":
        a_product_in_use(f"Product {name}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200 and response.content.decode().count("data-job-status=") == 5
    assert len(captured) == one


def test_the_products_api_costs_the_same_queries_however_many_products_there_are(api_client):
    a_product_in_use("Product A")
    one = queries_of(lambda: api_client.get("/api/products/"))
    for name in "BCDE":
        a_product_in_use(f"Product {name}")
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get("/api/products/")
    assert response.status_code == 200 and len(response.data["results"]) == 5
    assert {item["created_by"] for item in response.data["results"]} != {None}
    assert len(captured) == one
