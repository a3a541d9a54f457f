"""Training services in this process: the frozen snapshot, the one-training-per-product rule,
the training job body (fast "variation" method, no TensorFlow), cancel and orphaned versions."""

import pytest
from django.db import IntegrityError, transaction

from inspection.errors import Conflict, InvalidInput
from inspection.models import EvaluationScore, Image, Job, ModelVersion, ModelVersionImage
from inspection.services.jobs import job_reap_stale
from inspection.services.model_versions import (
    model_version_cancel,
    model_version_create,
    model_version_retrain,
    model_version_settle_orphans,
)
from inspection.services.training import training_job_run
from tests.platform.factories import ProductFactory
from tests.platform.loop_data import _aligned_image, ready_product
from tests.synthetic_images import good_png

pytestmark = pytest.mark.django_db


def test_a_new_version_freezes_the_data_set_as_it_stands(user):
    product = ready_product(train=5, test_good=2, test_defective=3)
    version = model_version_create(product=product, method="variation", params={"min_std": 0.01}, created_by=user)
    assert (version.number, version.status, version.method, version.params) == (
        1,
        "queued",
        "variation",
        {"min_std": 0.01},
    )
    assert (version.job.kind, version.job.status, version.train_count, version.eval_count) == (
        "training",
        "queued",
        5,
        5,
    )
    rows = list(ModelVersionImage.objects.filter(version=version).order_by("role", "position"))
    assert [row.role for row in rows].count("train") == 5
    evaluation = [(row.label, row.defect_type) for row in rows if row.role == "eval"]
    assert sorted(evaluation) == [
        ("defective", "blob"),
        ("defective", "scratch"),
        ("defective", "scratch"),
        ("normal", ""),
        ("normal", ""),
    ]
    assert all(row.checksum == row.image.checksum for row in rows)
    # Images added or relabelled later do not change what this version trains on.
    _aligned_image(product, good_png(99), Image.Label.NORMAL, Image.Split.TRAIN)
    Image.objects.filter(product=product, label="defective").update(label="normal")
    assert ModelVersionImage.objects.filter(version=version, role="train").count() == 5
    assert ModelVersionImage.objects.filter(version=version, label="defective").count() == 3


def test_unknown_methods_and_parameters_are_refused_with_what_is_accepted(user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    with pytest.raises(InvalidInput, match="method must be one of cpcae-knn"):
        model_version_create(product=product, method="magic")
    with pytest.raises(InvalidInput, match="takes no parameter.*wings.*it accepts"):
        model_version_create(product=product, method="cpcae-knn", params={"wings": 2})
    assert not ModelVersion.objects.exists()


def test_training_needs_aligned_normal_training_images(user):
    product = ready_product(train=1, test_good=0, test_defective=0)
    with pytest.raises(Conflict, match="at least 2 aligned normal images.*has 1"):
        model_version_create(product=product, method="variation")
    with pytest.raises(Conflict, match="no reference image"):
        model_version_create(product=ProductFactory(), method="variation")


def test_a_second_training_request_while_one_is_queued_is_refused_naming_it(user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    first = model_version_create(product=product, method="variation")
    with pytest.raises(
        Conflict, match=f"Version 1 of this product is still queued \\(job {first.job_id}\\)"
    ) as refused:
        model_version_create(product=product, method="variation")
    assert refused.value.details == {"running_version": first.pk, "job": first.job_id}
    # The database enforces the rule too, whoever writes the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(product=product, number=2, method="variation", status="training")
    # Another product trains independently.
    assert (
        model_version_create(product=ready_product(train=2, test_good=0, test_defective=0), method="variation").number
        == 1
    )


def test_the_training_job_trains_evaluates_and_stores_the_version(user, private_media):
    product = ready_product(train=8, test_good=3, test_defective=3)
    version = model_version_create(product=product, method="variation", created_by=user)
    training_job_run(job_id=version.job_id, worker="here:1")
    version.refresh_from_db()
    job = Job.objects.get(pk=version.job_id)
    assert (job.status, job.progress) == ("succeeded", 100), job.error
    assert "Version 1 trained on 8 images" in job.message and "image AUROC 1.000 on 6 evaluation images" in job.message
    assert (version.status, version.evaluated, version.engine_version) == ("trained", True, "0.1.0")
    assert version.metrics["image_auroc"] == 1.0 and version.metrics["average_precision"] == 1.0
    assert set(version.curves) == {"roc", "pr", "histogram"}
    assert version.metrics["suggested"]["rule"].startswith("max-f1")
    assert version.train_seconds is not None and version.bundle_checksum and version.image_shape == [96, 96, 1]
    assert (private_media / version.bundle.name).is_file()
    scores = EvaluationScore.objects.filter(version=version)
    assert scores.count() == 6
    assert min(s.score for s in scores if s.label == "defective") > max(s.score for s in scores if s.label == "normal")
    assert version.progress["percent"] == 100


def test_a_version_without_labelled_defects_is_trained_but_not_evaluated(user):
    product = ready_product(train=6, test_good=2, test_defective=0)
    version = model_version_create(product=product, method="variation")
    training_job_run(job_id=version.job_id, worker="here:1")
    version.refresh_from_db()
    assert (version.status, version.evaluated, version.metrics["image_auroc"]) == ("trained", False, None)
    assert version.metrics["suggested"]["rule"] == "false-call budget on normal evaluation images"


def test_a_training_whose_images_were_realigned_meanwhile_fails_with_the_reason(user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_create(product=product, method="variation")
    type(product).objects.filter(pk=product.pk).update(registration_revision=5)
    training_job_run(job_id=version.job_id, worker="here:1")
    version.refresh_from_db()
    assert version.status == "failed" and "reference image or registration settings changed" in version.error
    assert Job.objects.get(pk=version.job_id).status == "failed"


def test_cancelling_a_queued_training_cancels_the_version_and_frees_the_product(user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_cancel(version=model_version_create(product=product, method="variation"))
    assert (version.status, version.job.status) == ("cancelled", "cancelled")
    # The worker that receives the message later skips it, and the product can train again.
    training_job_run(job_id=version.job_id, worker="here:1")
    assert model_version_create(product=product, method="variation").number == 2
    with pytest.raises(Conflict, match="Version 1 is cancelled"):
        model_version_cancel(version=version)


def test_a_version_whose_job_was_reaped_is_marked_failed(user, settings):
    product = ready_product(train=3, test_good=0, test_defective=0)
    version = model_version_create(product=product, method="variation")
    Job.objects.filter(pk=version.job_id).update(status="running", heartbeat_at="2000-01-01T00:00:00Z")
    ModelVersion.objects.filter(pk=version.pk).update(status="training")
    assert job_reap_stale() == 1
    assert model_version_settle_orphans() == 1
    version.refresh_from_db()
    assert version.status == "failed" and "stopped reporting" in version.error


def test_retraining_reuses_the_method_and_parameters_of_the_active_version(user):
    product = ready_product(train=3, test_good=0, test_defective=0)
    first = model_version_create(product=product, method="variation", params={"min_std": 0.02})
    training_job_run(job_id=first.job_id, worker="here:1")
    second = model_version_retrain(product=product, created_by=user)
    assert (second.number, second.method, second.params) == (2, "variation", {"min_std": 0.02})
