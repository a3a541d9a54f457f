"""An engineer exports a version as a runtime archive (built by a job), downloads it, and the runtime decides as
the platform does. The jobs run here, in this process; tests/platform/test_export_in_a_real_worker.py hands one
to a real worker."""

import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inspection.models import Job
from inspection.runtime import load_model
from inspection.services.model_exports import model_export_job_run
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


def export_url(product, version) -> str:
    return f"/api/products/{product.pk}/model-versions/{version.pk}/export/"


def download(client, product, version, target):
    """Export as a client does: POST, let the job run (here, in this process), then GET the archive."""
    started = client.post(export_url(product, version))
    if started.status_code == 202:
        model_export_job_run(job_id=started.json()["job"]["id"], worker="test:1")
    elif started.status_code != 200:
        return started
    response = client.get(export_url(product, version))
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


def test_export_runs_as_one_job_and_the_kept_archive_is_then_served_at_once(api_client, product, version, tmp_path):
    started = api_client.post(export_url(product, version))
    assert started.status_code == 202, started.data
    job = started.json()["job"]
    assert (job["kind"], job["status"], started.json()["ready"]) == ("export", "queued", False)
    # Asked again while it waits: the same job, not a second one.
    again = api_client.post(export_url(product, version))
    assert again.status_code == 202 and again.json()["job"]["id"] == job["id"]
    assert Job.objects.filter(kind="export", product=product).count() == 1
    waiting = api_client.get(export_url(product, version))
    assert waiting.status_code == 409 and "being built" in waiting.json()["detail"]
    assert waiting.json()["job"]["id"] == job["id"]

    model_export_job_run(job_id=job["id"], worker="test:1")
    finished = Job.objects.get(pk=job["id"])
    assert (finished.status, finished.progress) == ("succeeded", 100) and "ready" in finished.message
    ready = api_client.post(export_url(product, version))
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["download"] == export_url(product, version)
    assert Job.objects.filter(kind="export", product=product).count() == 1
    response = api_client.get(export_url(product, version))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    (tmp_path / "model.zip").write_bytes(b"".join(response.streaming_content))
    assert load_model(tmp_path / "model.zip").operating_point == {"threshold": pytest.approx(gap_threshold(version))}


def test_an_export_delivered_twice_at_once_keeps_one_archive_under_its_key(api_client, product, version, tmp_path):
    # A job message redelivered while its first worker still converts runs the export a second
    # time; both see no archive yet, and the second to store must neither fail nor leave a copy.
    from django.core.files.storage import default_storage

    from inspection.services import model_exports

    first = model_exports.model_version_export(version=version)
    real_exists = default_storage.exists
    checks = []

    def not_yet_stored_at_first_check(name):
        checks.append(name)
        return False if len(checks) == 1 else real_exists(name)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default_storage, "exists", not_yet_stored_at_first_check)
        second = model_exports.model_version_export(version=version)
    assert second == first and checks[0] == first
    # The storage names a second copy after the first (stem, "_", random suffix); none is left.
    kept = first.split("/")[-1]
    _, files = default_storage.listdir("model-exports")
    assert [name for name in files if name.startswith(kept.removesuffix(".zip"))] == [kept]
    (tmp_path / "model.zip").write_bytes(default_storage.open(first).read())
    assert load_model(tmp_path / "model.zip").operating_point == {"threshold": pytest.approx(gap_threshold(version))}


def test_nothing_is_built_by_a_download_before_an_export_was_asked_for(api_client, product, version):
    response = api_client.get(export_url(product, version))
    assert response.status_code == 409 and "POST first" in response.json()["detail"]
    assert response.json()["job"] is None and not Job.objects.filter(kind="export").exists()


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


def test_only_roles_that_may_export_data_export_and_download_a_model(product, anonymous_client, tmp_path):
    version = trained_version(product)
    for role in ("operator", "reviewer"):
        client = APIClient()
        client.force_authenticate(UserFactory(role=role))
        for response in (client.post(export_url(product, version)), client.get(export_url(product, version))):
            assert response.status_code == 403 and "engineer role" in response.json()["detail"]
    assert not Job.objects.filter(kind="export").exists()
    assert download(anonymous_client, product, version, tmp_path / "model.zip").status_code in (401, 403)


def test_a_version_that_is_not_trained_cannot_be_exported(api_client, product, tmp_path):
    from unittest import mock

    with mock.patch("inspection.services.jobs.job_dispatch"):
        version = model_version_create(product=product, method="variation", params={})
    response = download(api_client, product, version, tmp_path / "model.zip")
    assert response.status_code == 409 and "no usable model" in response.json()["detail"]


def test_the_version_page_exports_in_the_background_and_then_offers_the_download(client, product):
    version = trained_version(product)
    page_url = f"/products/{product.pk}/versions/{version.pk}/"
    client.force_login(UserFactory(role="engineer"))
    html = client.get(page_url).content.decode()
    form = html[html.index('id="export-form"') - 80 : html.index("Export</button>")]
    assert f'hx-post="/products/{product.pk}/versions/{version.pk}/export/"' in form
    assert "disabled" not in form
    # The button answers at once with the job's live progress in place of the form.
    part = client.post(f"/products/{product.pk}/versions/{version.pk}/export/", HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert part.status_code == 200 and 'id="export-form"' not in html
    job = Job.objects.get(kind="export", product=product)
    assert f'data-job-id="{job.pk}"' in html and "Export" in html and 'hx-trigger="every 1s"' in html
    assert f'data-job-id="{job.pk}"' in client.get(page_url).content.decode()
    model_export_job_run(job_id=job.pk, worker="test:1")
    live = client.get(f"/products/{product.pk}/versions/{version.pk}/live/export/").content.decode()
    assert f'href="/api/products/{product.pk}/model-versions/{version.pk}/export/"' in live
    assert "Download the archive" in live and 'id="export-form"' not in live
    response = client.get(f"/api/products/{product.pk}/model-versions/{version.pk}/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    client.force_login(UserFactory(role="operator"))
    html = client.get(page_url).content.decode()
    button = html[html.index('id="export-ready"') : html.index("Download the archive</button>")]
    assert "disabled" in button and "engineer" in button


def test_the_export_button_names_the_role_to_others_and_refuses_their_post(client, product):
    version = trained_version(product)
    client.force_login(UserFactory(role="reviewer"))
    html = client.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    button = html[html.index('id="export-form"') : html.index("Export</button>")]
    assert "disabled" in button and "engineer" in button
    refused = client.post(f"/products/{product.pk}/versions/{version.pk}/export/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 403 and not Job.objects.filter(kind="export").exists()


def test_a_version_trained_with_precision_auto_on_a_bfloat16_cpu_says_so_and_inspects_in_that_precision(
    client, product, monkeypatch
):
    from inspection.engine.networks import precision
    from inspection.services.bundles import bundle_forget, bundle_load

    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: ["amx_bf16"])
    version = trained_version(
        product, "cpcae-knn", **TINY_CPCAE, backbone="efficientnet-lite0", weights="random", precision="auto"
    )
    assert version.metrics["precision"] == "bfloat16"
    client.force_login(UserFactory(role="operator"))
    html = client.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert "<dt>Precision</dt>" in html and "bfloat16" in html
    # Loaded for live inspection on a CPU without bfloat16, the model still runs as it was evaluated.
    monkeypatch.setattr(precision, "bfloat16_instructions", lambda cpuinfo=None: [])
    bundle_forget()
    assert bundle_load(version=version).bundle.detector.precision_ == "bfloat16"
    response = client.post(export_url(product, version))
    assert response.status_code == 403  # operators may not export; an engineer is told why it cannot be
    client.force_login(UserFactory(role="engineer"))
    started = client.post(export_url(product, version))
    assert started.status_code == 202
    model_export_job_run(job_id=started.json()["job"]["id"], worker="test:1")
    job = Job.objects.get(pk=started.json()["job"]["id"])
    assert job.status == "failed" and "precision=float32" in job.error
    refused = client.get(export_url(product, version))
    assert refused.status_code == 409 and "failed" in refused.json()["detail"]
    assert "precision=float32" in refused.json()["detail"] and refused.json()["job"]["status"] == "failed"
    html = client.get(f"/products/{product.pk}/versions/{version.pk}/").content.decode()
    assert "The last export failed" in html and "precision=float32" in html and 'id="export-form"' in html
