"""Every endpoint that takes a number refuses NaN, infinity, text and out-of-range values with a 400 and a message.

One table: (what is sent, where, what the refusal must say). The version is
trained with "variation", whose scores are distances, so negative thresholds
are out of range. Nothing refused may leave a setting behind.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.models import ThresholdSetting
from tests.platform.factories import RegisteredImageFactory
from tests.platform.loop_data import ready_product, trained_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(db):
    product = ready_product(train=6, test_good=2, test_defective=2)
    version = trained_version(product)
    return product, version


def _urls(product, version):
    base = f"/api/products/{product.pk}/"
    return {
        "operating_point": f"{base}model-versions/{version.pk}/operating-point/",
        "thresholds": f"{base}thresholds/",
        "inspections": f"{base}inspections/",
        "jobs": "/api/jobs/",
        "products": "/api/products/",
        "images": f"{base}images/",
        "versions": f"{base}model-versions/",
    }


# (name, method, url key, query or body, words the message must contain)
QUERY_CASES = [
    ("threshold nan", "operating_point", {"threshold": "nan"}, "threshold must be a finite number"),
    ("threshold NaN", "operating_point", {"threshold": "NaN"}, "threshold must be a finite number"),
    ("threshold inf", "operating_point", {"threshold": "inf"}, "threshold must be a finite number"),
    ("threshold -Infinity", "operating_point", {"threshold": "-Infinity"}, "threshold must be a finite number"),
    ("threshold overflowing", "operating_point", {"threshold": "1e400"}, "threshold must be a finite number"),
    ("threshold text", "operating_point", {"threshold": "high"}, "threshold must be a finite number"),
    ("threshold with underscores", "operating_point", {"threshold": "1_0"}, "threshold must be a finite number"),
    ("threshold in other digits", "operating_point", {"threshold": "\u0663"}, "threshold must be a finite number"),
    ("threshold negative", "operating_point", {"threshold": "-1"}, "never negative"),
    ("band_lower nan", "operating_point", {"band_lower": "nan", "band_upper": "2"}, "band_lower must be a finite"),
    ("band_upper inf", "operating_point", {"band_lower": "1", "band_upper": "inf"}, "band_upper must be a finite"),
    ("band_lower negative", "operating_point", {"band_lower": "-0.5", "band_upper": "2"}, "never negative"),
    ("band upside down", "operating_point", {"band_lower": "3", "band_upper": "2"}, "must be below band_upper"),
    ("band half given", "operating_point", {"band_lower": "3"}, "both band_lower and band_upper"),
    ("threshold and band", "operating_point", {"threshold": "1", "band_lower": "0", "band_upper": "2"}, "not both"),
    ("version text", "thresholds", {"version": "two"}, "version must be a version id"),
    ("version nan", "thresholds", {"version": "nan"}, "version must be a version id"),
    ("version superscript", "thresholds", {"version": "\u00b2"}, "version must be a version id"),
    ("job nan", "inspections", {"job": "nan"}, "job must be a job id"),
    ("job negative", "inspections", {"job": "-3"}, "job must be a job id"),
    ("product inf", "jobs", {"product": "inf"}, "product must be a product id"),
    ("page nan", "products", {"page": "nan"}, "page must be a page number"),
    ("page zero", "images", {"page": "0"}, "page must be a page number"),
    ("page_size inf", "products", {"page_size": "inf"}, "page_size must be the number of results per page"),
    ("page_size negative", "versions", {"page_size": "-5"}, "page_size must be the number of results per page"),
]


def _message(response) -> str:
    return json.dumps(response.data)


@pytest.mark.parametrize("name,key,query,words", QUERY_CASES, ids=[case[0] for case in QUERY_CASES])
def test_a_bad_number_in_a_query_parameter_is_refused_with_a_message(api_client, setup, name, key, query, words):
    product, version = setup
    response = api_client.get(_urls(product, version)[key], query)
    assert response.status_code == 400, (name, response.status_code)
    assert words in _message(response)


BODY_CASES = [
    ("threshold text", {"threshold": "high", "reason": "r"}, "valid number"),
    ("threshold nan", {"threshold": "nan", "reason": "r"}, "valid number"),
    ("threshold inf", {"threshold": "Infinity", "reason": "r"}, "valid number"),
    ("threshold overflowing", {"threshold": "1e400", "reason": "r"}, "valid number"),
    ("threshold negative", {"threshold": -1, "reason": "r"}, "never negative"),
    ("band_lower negative", {"band_lower": -1, "band_upper": 2, "reason": "r"}, "never negative"),
    ("band upside down", {"band_lower": 3, "band_upper": 2, "reason": "r"}, "must be below band_upper"),
    ("band equal", {"band_lower": 2, "band_upper": 2, "reason": "r"}, "must be below band_upper"),
    ("threshold and band", {"threshold": 1, "band_lower": 0, "band_upper": 2, "reason": "r"}, "not both"),
    ("no reason", {"threshold": 1}, "reason"),
    ("blank reason", {"threshold": 1, "reason": "   "}, "reason"),
    ("version text", {"version": "two", "threshold": 1, "reason": "r"}, "valid integer"),
]


@pytest.mark.parametrize("name,body,words", BODY_CASES, ids=[case[0] for case in BODY_CASES])
def test_a_bad_threshold_setting_is_refused_and_nothing_is_recorded(api_client, setup, name, body, words):
    product, version = setup
    response = api_client.post(_urls(product, version)["thresholds"], {"version": version.pk, **body}, format="json")
    assert response.status_code == 400, (name, response.status_code)
    assert words in _message(response)
    assert not ThresholdSetting.objects.filter(product=product).exists()


def test_an_infinite_number_written_as_json_is_refused(api_client, setup):
    product, version = setup
    raw = f'{{"version": {version.pk}, "threshold": 1e400, "reason": "r"}}'
    response = api_client.post(_urls(product, version)["thresholds"], raw, content_type="application/json")
    assert response.status_code == 400 and "valid number" in _message(response)
    nan = f'{{"version": {version.pk}, "threshold": NaN, "reason": "r"}}'
    assert (
        api_client.post(_urls(product, version)["thresholds"], nan, content_type="application/json").status_code == 400
    )


def test_a_rollback_without_a_reason_is_refused(api_client, setup):
    product, version = setup
    first = api_client.post(
        _urls(product, version)["thresholds"],
        {"version": version.pk, "threshold": 1.0, "reason": "first"},
        format="json",
    )
    assert first.status_code == 201
    response = api_client.post(f"/api/products/{product.pk}/thresholds/{first.data['id']}/rollback/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.data["detail"]
    assert ThresholdSetting.objects.filter(product=product).count() == 1


TRAINING_PARAMETER_CASES = [
    ("text", {"min_std": "small"}, "must be a number"),
    ("negative", {"min_std": -0.1}, "cannot be negative"),
    ("boolean", {"min_std": True}, "must be a number"),
    ("overflowing", '{"method": "variation", "params": {"min_std": 1e400}}', "valid JSON"),
]


@pytest.mark.parametrize(
    "name,params,words", TRAINING_PARAMETER_CASES, ids=[case[0] for case in TRAINING_PARAMETER_CASES]
)
def test_a_bad_training_parameter_is_refused_before_a_job_starts(api_client, setup, name, params, words):
    product, version = setup
    url = _urls(product, version)["versions"]
    if isinstance(params, str):
        response = api_client.post(url, params, content_type="application/json")
    else:
        response = api_client.post(url, {"method": "variation", "params": params}, format="json")
    assert response.status_code == 400, (name, response.status_code)
    assert words in _message(response)
    assert product.model_versions.count() == 1


def test_a_whole_number_parameter_refuses_a_fraction(api_client, setup):
    product, version = setup
    response = api_client.post(
        _urls(product, version)["versions"], {"method": "nn", "params": {"working_side": 64.5}}, format="json"
    )
    assert response.status_code == 400 and "whole number" in response.data["detail"]


def test_a_mask_that_is_not_a_png_is_refused_naming_the_file_not_a_python_object(api_client, setup):
    product, _ = setup
    image = RegisteredImageFactory(product=product, aligned_size=(32, 32))
    type_id = api_client.post(
        f"/api/products/{product.pk}/defect-types/", {"name": "hairline", "color": "#112233"}, format="json"
    ).data["id"]
    response = api_client.put(
        f"/api/products/{product.pk}/images/{image.pk}/annotation/",
        {
            "base_revision": "0",
            "regions": json.dumps([{"defect_type": type_id, "mask": "m"}]),
            "m": SimpleUploadedFile("scratch-mask.txt", b"this is not an image", content_type="text/plain"),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.data["detail"] == 'Mask "scratch-mask.txt" is not a PNG file (not an image at all).'


@pytest.mark.parametrize(
    "value,words", [("nan", "Enter a number"), ("inf", "Enter a number"), ("-2", "never negative")]
)
def test_the_version_page_refuses_the_same_thresholds_as_the_api(client, user, setup, value, words):
    product, version = setup
    client.force_login(user)
    response = client.post(
        f"/products/{product.pk}/versions/{version.pk}/threshold/",
        {"mode": "single", "threshold": value, "reason": "try"},
    )
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not ThresholdSetting.objects.filter(product=product).exists()


def test_the_version_page_refuses_a_rollback_without_a_reason(client, user, setup):
    product, version = setup
    client.force_login(user)
    url = f"/products/{product.pk}/versions/{version.pk}/threshold/"
    client.post(url, {"mode": "single", "threshold": "1", "reason": "first"})
    first = ThresholdSetting.objects.get(product=product)
    response = client.post(f"{url}{first.pk}/rollback/", {"reason": " "}, follow=True)
    assert "Say why the earlier operating point comes back" in response.content.decode()
    assert ThresholdSetting.objects.filter(product=product).count() == 1


REGISTRATION_CASES = [
    ("text", {"min_quality": "high"}, "min_quality must be a number"),
    ("negative", {"working_side": -5}, "Registration setting working_side cannot be negative"),
    ("fraction of a whole number", {"max_iterations": 10.5}, "must be a whole number"),
    ("boolean", {"min_coverage": True}, "must be a number"),
]


@pytest.mark.parametrize("name,values,words", REGISTRATION_CASES, ids=[case[0] for case in REGISTRATION_CASES])
def test_a_bad_registration_setting_is_refused_when_a_product_is_created_or_changed(
    api_client, setup, name, values, words
):
    product, _ = setup
    created = api_client.post(
        "/api/products/", {"name": f"Part {name}", "registration_settings": values}, format="json"
    )
    assert created.status_code == 400 and words in _message(created)
    changed = api_client.patch(f"/api/products/{product.pk}/", {"registration_settings": values}, format="json")
    assert changed.status_code == 400 and words in _message(changed)
    product.refresh_from_db()
    assert product.registration_settings.get(next(iter(values))) != values[next(iter(values))]
