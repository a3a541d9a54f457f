"""A model export handed to a real `celery -A config worker` process, then downloaded from the web side.

The archive is kept through the media storage that web and workers share, so
the worker's local model cache does not need to be the web process's.
"""

import pytest

from inspection.runtime import load_model
from tests.platform.fixtures import wait_for_job
from tests.platform.loop_data import activated_version, gap_threshold, ready_product

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_a_real_worker_builds_the_archive_that_the_api_then_serves(celery_worker, api_client, tmp_path):
    product = ready_product(train=8, test_good=3, test_defective=3)
    version = activated_version(product)
    url = f"/api/products/{product.pk}/model-versions/{version.pk}/export/"
    started = api_client.post(url)
    assert started.status_code == 202, started.data
    job = wait_for_job(started.json()["job"]["id"], worker=celery_worker, timeout=120)
    assert (job.kind, job.status, job.attempts) == ("export", "succeeded", 1), job.error
    assert job.worker.split(":")[1] != "" and "ready" in job.message
    response = api_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    (tmp_path / "model.zip").write_bytes(b"".join(response.streaming_content))
    model = load_model(tmp_path / "model.zip")
    assert model.operating_point == {"threshold": pytest.approx(gap_threshold(version))}
