"""An engineer downloads a version as a runtime archive; the runtime then decides as the platform does."""

import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inspection.runtime import load_model
from inspection.services.model_versions import model_version_create
from tests.platform.factories import UserFactory
from tests.platform.loop_data import TINY_CPCAE, gap_threshold, ready_product, trained_version
from tests.synthetic_images import defective_pixels, good_pixels, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return ready_product(train=10, test_good=4, test_defective=4)


@pytest.fixture
def version(api_client, product):
    version = trained_version(
        product, "cpcae-knn", **TINY_CPCAE, backbone="efficientnet-lite0", weights="random", precision="float32"
    )
    api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "threshold": gap_threshold(version), "reason": "gap"},
        format="json",
    )
    assert (
        api_client.post(
            f"/api/products/{product.pk}/model-versions/{version.pk}/activate/",
            {"operating_point": "saved", "reason": "line trial"},
            format="json",
        ).status_code
        == 200
    )
    return version


def download(client, product, version, target):
    response = client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/export/")
    if response.status_code == 200:
        target.write_bytes(b"".join(response.streaming_content))
    return response


def test_the_exported_version_scores_and_decides_parts_as_the_platform_does(api_client, product, version, tmp_path):
    response = download(api_client, product, version, tmp_path / "model.zip")
    assert response.status_code == 200
    assert f"-v{version.number}-cpcae-knn.zip" in response["Content-Disposition"]
    model = load_model(tmp_path / "model.zip")
    assert model.operating_point == {"threshold": pytest.approx(gap_threshold(version))}
    for name, pixels in (("good.png", good_pixels(300)), ("bad.png", defective_pixels(7))):
        (tmp_path / name).write_bytes(png_bytes(pixels))
        inspected = api_client.post(
            f"/api/products/{product.pk}/inspections/",
            {"file": SimpleUploadedFile(name, png_bytes(pixels), content_type="image/png")},
            format="multipart",
        )
        assert inspected.status_code == 201, inspected.data
        decision = model.inspect_file(tmp_path / name)
        assert decision.score == pytest.approx(inspected.data["score"], rel=1e-3)
        assert decision.decision == inspected.data["decision"]


def test_a_new_operating_point_gives_a_new_archive_and_the_same_one_is_served_again(
    api_client, product, version, tmp_path
):
    download(api_client, product, version, tmp_path / "first.zip")
    download(api_client, product, version, tmp_path / "again.zip")
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "again.zip").read_bytes()
    changed = api_client.post(
        f"/api/products/{product.pk}/thresholds/",
        {"version": version.pk, "band_lower": 0.5, "band_upper": 2.5, "reason": "review band"},
        format="json",
    )
    assert changed.status_code == 201, changed.data
    download(api_client, product, version, tmp_path / "band.zip")
    assert load_model(tmp_path / "band.zip").operating_point == {"band_lower": 0.5, "band_upper": 2.5}
    with zipfile.ZipFile(tmp_path / "band.zip") as archive:
        assert {"metadata.json", "arrays.npz", "reference.npz", "cpcae.onnx", "embedding.onnx"} <= set(
            archive.namelist()
        )


def test_only_roles_that_may_export_data_download_a_model(product, anonymous_client, tmp_path):
    version = trained_version(product)
    operator = APIClient()
    operator.force_authenticate(UserFactory(role="operator"))
    response = download(operator, product, version, tmp_path / "model.zip")
    assert response.status_code == 403 and "engineer role" in response.json()["detail"]
    assert download(anonymous_client, product, version, tmp_path / "model.zip").status_code in (401, 403)


def test_a_version_that_is_not_trained_cannot_be_exported(api_client, product, tmp_path):
    from unittest import mock

    with mock.patch("inspection.services.jobs.job_dispatch"):
        version = model_version_create(product=product, method="variation", params={})
    response = download(api_client, product, version, tmp_path / "model.zip")
    assert response.status_code == 409 and "no usable model" in response.json()["detail"]


def test_the_version_page_offers_export_to_engineers_and_names_the_role_to_others(client, product, tmp_path):
    version = trained_version(product)
    page_url = f"/products/{product.pk}/versions/{version.pk}/"
    client.force_login(UserFactory(role="engineer"))
    html = client.get(page_url).content.decode()
    form = html[html.index('id="export-form"') - 80 : html.index("Export</button>")]
    assert f'action="/api/products/{product.pk}/model-versions/{version.pk}/export/"' in form
    assert "disabled" not in form
    response = client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    client.force_login(UserFactory(role="operator"))
    html = client.get(page_url).content.decode()
    button = html[html.index('id="export-form"') : html.index("Export</button>")]
    assert "disabled" in button and "engineer" in button


def test_a_version_trained_on_a_bfloat16_cpu_says_so_and_inspects_in_the_precision_it_was_evaluated_in(
    client, product, monkeypatch
):
    from inspection.engine.networks import precision
    from inspection.services.bundles import bundle_forget, bundle_load

    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: ["amx_bf16"])
    version = trained_version(product, "cpcae-knn", **TINY_CPCAE, backbone="efficientnet-lite0", weights="random")
    assert version.metrics["precision"] == "bfloat16"
    client.force_login(UserFactory(role="operator"))
    html = client.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert "<dt>Precision</dt>" in html and "bfloat16" in html
    # Loaded for live inspection on a CPU without bfloat16, the model still runs as it was evaluated.
    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: [])
    bundle_forget()
    assert bundle_load(version=version).bundle.detector.precision_ == "bfloat16"
    response = client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/export/")
    assert response.status_code == 403  # operators may not export; an engineer is told why it cannot be
    client.force_login(UserFactory(role="engineer"))
    refused = client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/export/")
    assert refused.status_code == 409 and "precision=float32" in refused.json()["detail"]
