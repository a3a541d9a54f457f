"""The score a version's evaluation records for an image equals what inspecting the same file gives, for every method.

Through the API and a real worker: the images are registered by the worker's
registration job (so the evaluation reads stored 8-bit aligned copies), a
version is trained by the worker, then every evaluation image's original file
is inspected one at a time (in the web process) and all together (a batch job
on the worker). Tiny images and settings keep each method to seconds.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspection.engine.methods import METHOD_NAMES
from inspection.models import Image, Inspection
from tests.platform.factories import ImageFactory, ProductFactory
from tests.platform.fixtures import wait_for_job
from tests.platform.loop_data import REGISTRATION, TINY_CPCAE
from tests.synthetic_images import SIZE, defective_png, good_png, reference_png

pytestmark = pytest.mark.usefixtures("transactional_db")

RELATIVE_TOLERANCE = 1e-4
# Each method small enough for seconds on two cores; the backbones use their stored ImageNet weights.
_TINY_AUTOENCODER = {key: value for key, value in TINY_CPCAE.items() if key != "n_neighbors"}
ONE_SCORING_PATH_PARAMETERS = {
    "cpcae-knn": {**TINY_CPCAE, "min_steps_per_epoch": 4},
    "ae-l2": {**_TINY_AUTOENCODER, "min_steps_per_epoch": 4},
    "deep-feature": {"backbone": "efficientnet-lite0", "n_neighbors": 2, "batch_size": 4},
    "patch-knn": {"input_side": None, "fine_input_side": 0, "min_bank": 64, "batch_size": 4},
    "variation": {},
    "nearest-image": {},
}
assert set(ONE_SCORING_PATH_PARAMETERS) == set(METHOD_NAMES), "a new method needs its case here"


def registered_product(api_client, worker):
    product = ProductFactory(registration_settings=REGISTRATION)
    for index in range(8):
        ImageFactory(product=product, content=good_png(index), width=SIZE, height=SIZE)
    for index in range(2):
        # Every third good picture and these defects are shifted: their alignment interpolates pixels.
        ImageFactory(product=product, content=good_png(201 + index), split="test", width=SIZE, height=SIZE)
        ImageFactory(
            product=product,
            content=defective_png(index),
            split="test",
            label="defective",
            defect_type="scratch",
            width=SIZE,
            height=SIZE,
        )
    response = api_client.post(
        f"/api/products/{product.pk}/reference-image/",
        {"file": SimpleUploadedFile("reference.png", reference_png())},
        format="multipart",
    )
    assert response.status_code == 202
    assert wait_for_job(response.data["job"]["id"], worker=worker).status == "succeeded"
    assert set(Image.objects.filter(product=product).values_list("registration_status", flat=True)) == {"registered"}
    return product


def original_bytes(image: Image) -> bytes:
    with image.file.open("rb") as handle:
        return handle.read()


@pytest.mark.parametrize("method", list(ONE_SCORING_PATH_PARAMETERS))
def test_inspecting_an_evaluation_image_gives_the_score_its_evaluation_recorded(
    method, celery_worker, api_client, private_media
):
    product = registered_product(api_client, celery_worker)
    url = f"/api/products/{product.pk}"
    created = api_client.post(
        f"{url}/model-versions/", {"method": method, "params": ONE_SCORING_PATH_PARAMETERS[method]}, format="json"
    )
    assert created.status_code == 202, created.data
    job = wait_for_job(created.data["job"]["id"], worker=celery_worker, timeout=300)
    assert job.status == "succeeded", job.error
    version_id = created.data["id"]
    activated = api_client.post(
        f"{url}/model-versions/{version_id}/activate/",
        {"operating_point": "max-f1", "reason": "scoring path check"},
        format="json",
    )
    assert activated.status_code == 200, activated.data
    recorded = api_client.get(f"{url}/model-versions/{version_id}/evaluation/").data["results"]
    assert len(recorded) == 4
    images = {image.pk: image for image in Image.objects.filter(product=product, split="test")}

    batch = api_client.post(
        f"{url}/inspections/",
        {
            "files": [
                SimpleUploadedFile(f"{row['image']}.png", original_bytes(images[row["image"]])) for row in recorded
            ]
        },
        format="multipart",
    )
    assert batch.status_code == 202
    assert wait_for_job(batch.data["job"]["id"], worker=celery_worker, timeout=120).status == "succeeded"
    batch_scores = {
        int(inspection.original_name.split(".")[0]): inspection.score
        for inspection in Inspection.objects.filter(job_id=batch.data["job"]["id"])
    }

    for row in recorded:
        single = api_client.post(
            f"{url}/inspections/",
            {"file": SimpleUploadedFile("part.png", original_bytes(images[row["image"]]))},
            format="multipart",
        )
        assert single.status_code == 201, single.data
        for live in (single.data["score"], batch_scores[row["image"]]):
            assert live == pytest.approx(row["score"], rel=RELATIVE_TOLERANCE), (method, row, live)
        # The decision follows from the same score: the evaluation's label and the live call agree at the threshold.
        threshold = activated.data["operating_point"]["threshold"]
        assert (single.data["decision"] == "reject") == (row["score"] >= threshold)
