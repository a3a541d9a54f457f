"""The live partials htmx refreshes: sign-in required, polling only while something runs, the end announced
in HX-Trigger, and a fixed number of queries however many rows they show."""

import json
from unittest import mock

from django.core.files.base import ContentFile

from inspection.models import Image, Inspection, Job, ModelVersion
from inspection.services.model_versions import model_version_cancel, model_version_create
from tests.platform.factories import ImageFactory, JobFactory, ProductFactory, UserFactory
from tests.platform.loop_data import ready_product
from tests.synthetic_images import part_png


def queued_version(product) -> ModelVersion:
    # Not handed to a worker, so it stays queued until the test moves it on.
    with mock.patch("inspection.services.jobs.job_dispatch"):
        return model_version_create(product=product, method="variation")


def inspection(product, name: str, status: str = Inspection.Status.DONE) -> Inspection:
    done = status == Inspection.Status.DONE
    return Inspection.objects.create(
        product=product,
        status=status,
        original_name=name,
        checksum=name,
        source_file=ContentFile(part_png(), name=name),
        score=0.25 if done else None,
        decision=Inspection.Decision.PASS if done else "",
    )


def events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger", "{}"))


def test_every_live_partial_needs_a_signed_in_user(client, db):
    product = ProductFactory()
    job = JobFactory(product=product)
    for method, path in (
        ("get", f"/live/jobs/{job.pk}/"),
        ("post", f"/live/jobs/{job.pk}/cancel/"),
        ("get", f"/products/{product.pk}/versions/1/live/training/"),
        ("post", f"/products/{product.pk}/versions/1/live/training/cancel/"),
        ("get", f"/products/{product.pk}/live/versions/"),
        ("get", f"/products/{product.pk}/live/images/"),
        ("get", f"/products/{product.pk}/live/inspections/"),
        ("get", f"/products/{product.pk}/versions/1/live/pixel-evaluation/"),
    ):
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response.url.startswith("/accounts/login/"), path
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and not job.cancel_requested


def test_a_partial_asked_for_by_htmx_after_the_session_ended_sends_the_page_to_the_sign_in_form(client, db):
    job = JobFactory(status=Job.Status.RUNNING)
    response = client.get(
        f"/live/jobs/{job.pk}/",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/products/7/images/?page=2"},
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/accounts/login/?next=%2Fproducts%2F7%2Fimages%2F"


def test_a_running_job_asks_for_its_partial_again_and_a_finished_one_stops_and_says_so(signed_in):
    job = JobFactory(status=Job.Status.RUNNING, progress=40, stage="aligning", message="8 of 20 images")
    response = signed_in.get(f"/live/jobs/{job.pk}/?title=Alignment")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'hx-get="/live/jobs/{job.pk}/?title=Alignment"' in html and 'hx-trigger="every 1s"' in html
    assert 'data-job-status="running"' in html and "40 %" in html and "Aligning: 8 of 20 images" in html
    assert "<strong>Alignment</strong>" in html
    assert "HX-Trigger" not in response.headers

    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=100, message="20 images aligned.")
    response = signed_in.get(f"/live/jobs/{job.pk}/?title=Alignment")
    html = response.content.decode()
    assert 'data-job-status="succeeded"' in html and "20 images aligned." in html
    assert "hx-get" not in html and "hx-trigger" not in html and "data-job-cancel" not in html
    assert events(response) == {"job-finished": {"id": job.pk, "kind": "registration", "status": "succeeded"}}


def test_an_unknown_job_is_not_found(signed_in):
    assert signed_in.get("/live/jobs/999999/").status_code == 404


def test_cancelling_a_queued_job_from_its_partial_ends_it_and_a_second_try_is_refused_in_words(signed_in):
    job = JobFactory(status=Job.Status.QUEUED)
    response = signed_in.post(f"/live/jobs/{job.pk}/cancel/")
    assert response.status_code == 200
    assert 'data-job-status="cancelled"' in response.content.decode()
    assert events(response)["job-finished"]["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED

    again = signed_in.post(f"/live/jobs/{job.pk}/cancel/").content.decode()
    assert f"Job {job.pk} has already cancelled; there is nothing to cancel." in again


def test_the_job_partial_reads_in_a_fixed_number_of_queries(signed_in, django_assert_max_num_queries):
    job = JobFactory(status=Job.Status.RUNNING, created_by=UserFactory(username="operator"))
    # The session, its user, and the job with its author.
    # Two of them are the role check reading the user's and groups' permissions, once per request.
    with django_assert_max_num_queries(5):
        html = signed_in.get(f"/live/jobs/{job.pk}/").content.decode()
    assert "by operator" in html


def test_training_progress_shows_epoch_and_loss_while_it_trains_and_stops_once_trained(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = queued_version(product)
    url = f"/products/{product.pk}/versions/{version.pk}/live/training/"
    queued = signed_in.get(url).content.decode()
    assert "data-training-state>queued<" in queued and "waiting for a worker" in queued
    assert f'hx-get="{url}"' in queued and 'hx-trigger="every 1s"' in queued and "Cancel training" in queued

    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.TRAINING,
        progress={"stage": "training", "epoch": 2, "epochs": 5, "loss": 0.012345678, "losses": [0.5, 0.012345678]},
    )
    Job.objects.filter(pk=version.job_id).update(status=Job.Status.RUNNING, progress=35)
    response = signed_in.get(url)
    training = response.content.decode()
    assert "data-training-epoch>2 of 5<" in training and "data-training-loss>0.01235<" in training
    assert "data-training-percent>35 %<" in training and 'data-losses="[0.5, 0.012345678]"' in training
    assert 'hx-trigger="every 1s"' in training and "HX-Trigger" not in response.headers

    ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.TRAINED)
    response = signed_in.get(url)
    trained = response.content.decode()
    assert "data-training-percent>100 %<" in trained and f"Open version {version.number}" in trained
    assert "hx-get" not in trained and "hx-trigger" not in trained and "Cancel training" not in trained
    assert events(response) == {"training-finished": {"version": version.pk, "status": "trained"}}


def test_cancelling_a_queued_training_from_its_partial_ends_it_and_tells_the_page(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = queued_version(product)
    response = signed_in.post(f"/products/{product.pk}/versions/{version.pk}/live/training/cancel/")
    assert "data-training-state>cancelled<" in response.content.decode()
    assert events(response)["training-finished"] == {"version": version.pk, "status": "cancelled"}
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.CANCELLED

    again = signed_in.post(f"/products/{product.pk}/versions/{version.pk}/live/training/cancel/").content.decode()
    assert f"Version {version.number} is cancelled; there is no training to cancel." in again


def test_the_version_history_partial_reads_in_the_same_queries_for_one_or_many_versions(
    signed_in, django_assert_num_queries
):
    product = ready_product(train=3, test_good=0, test_defective=0)
    model_version_cancel(version=queued_version(product))
    url = f"/products/{product.pk}/live/versions/"
    with django_assert_num_queries(6) as one:
        signed_in.get(url)
    for _ in range(3):
        model_version_cancel(version=queued_version(product))
    queued_version(product)
    with django_assert_num_queries(len(one.captured_queries)):
        html = signed_in.get(url).content.decode()
    assert html.count("badge-cancelled") == 4 and html.count("badge-queued") == 1
    assert 'hx-trigger="training-finished from:body"' in html


def test_batch_results_ask_again_while_a_part_waits_and_stop_when_all_are_answered(signed_in):
    product = ProductFactory()
    waiting = inspection(product, "part-1.png", status=Inspection.Status.PENDING)
    inspection(product, "part-2.png")
    url = f"/products/{product.pk}/live/inspections/"
    html = signed_in.get(url).content.decode()
    assert "every 1s" in html and html.count("<tr data-inspection=") == 2 and ">waiting<" in html

    Inspection.objects.filter(pk=waiting.pk).update(status=Inspection.Status.DONE, decision="reject", score=0.9)
    html = signed_in.get(url).content.decode()
    assert "every 1s" not in html and "badge-reject" in html and ">waiting<" not in html
    # Still listening for the end of a batch started later on the page.
    assert "job-finished[detail.kind=='inspection'] from:body" in html


def test_batch_results_read_in_the_same_queries_for_two_or_twelve_parts(signed_in, django_assert_num_queries):
    product = ProductFactory()
    for index in range(2):
        inspection(product, f"part-{index}.png")
    url = f"/products/{product.pk}/live/inspections/"
    with django_assert_num_queries(6) as two:
        signed_in.get(url)
    for index in range(2, 12):
        inspection(product, f"part-{index}.png")
    with django_assert_num_queries(len(two.captured_queries)):
        html = signed_in.get(url).content.decode()
    assert html.count("<tr data-inspection=") == 12


def test_the_image_grid_partial_keeps_the_filters_and_brings_the_counts_out_of_band(
    signed_in, django_assert_num_queries
):
    product = ProductFactory()
    ImageFactory.create_batch(2, product=product, registration_status=Image.RegistrationStatus.REGISTERED)
    ImageFactory(product=product, registration_status=Image.RegistrationStatus.FAILED, original_name="blurred.png")
    url = f"/products/{product.pk}/live/images/?registration_status=failed"
    with django_assert_num_queries(8) as few:
        html = signed_in.get(url).content.decode()
    assert html.count('<li class="tile') == 1 and "blurred.png" in html
    assert f'hx-get="/products/{product.pk}/live/images/?registration_status=failed&amp;page=1"' in html
    assert '<p class="muted" id="dataset-head-counts" hx-swap-oob="true">3 images · 2 aligned' in html
    assert 'id="alignment-counts" hx-swap-oob="true"' in html
    ImageFactory.create_batch(5, product=product, registration_status=Image.RegistrationStatus.FAILED)
    with django_assert_num_queries(len(few.captured_queries)):
        html = signed_in.get(url).content.decode()
    assert html.count('<li class="tile') == 6


def test_the_pixel_evaluation_section_asks_for_itself_when_its_job_ends(signed_in):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = queued_version(product)
    response = signed_in.get(f"/products/{product.pk}/versions/{version.pk}/live/pixel-evaluation/")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="pixel-evaluation"' in html and "Not computed yet." in html
    assert "job-finished[detail.kind=='pixel_evaluation'] from:body" in html


def test_pages_with_live_parts_load_the_vendored_htmx_and_send_the_csrf_token(signed_in):
    html = signed_in.get("/").content.decode()
    assert '<script src="/static/vendor/htmx/2.0.11/htmx.min.js" defer></script>' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_the_product_list_follows_a_running_latest_job_and_leaves_a_finished_one_alone(signed_in):
    running = JobFactory(product=ProductFactory(name="Hinge"), status=Job.Status.RUNNING, progress=30)
    finished = JobFactory(product=ProductFactory(name="Bracket"), status=Job.Status.SUCCEEDED, progress=100)
    html = signed_in.get("/").content.decode()
    assert f'hx-get="/live/jobs/{running.pk}/"' in html
    assert (
        f"/live/jobs/{finished.pk}/" not in html and f'data-job-id="{finished.pk}" data-job-status="succeeded"' in html
    )
