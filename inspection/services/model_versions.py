"""Requesting, cancelling and settling the training of model versions.

Requesting a training freezes the data set (ModelVersionImage rows: the
registered normal training images and the labelled evaluation images, with
their checksums) and queues a job that services.training runs.

Concurrency rule: a product has at most one version queued or training (a
partial unique constraint guarantees it even under races). A second request
while one is in progress is refused with 409 naming the running version, so
two trainings never race; training never changes the active version (only
an activation does).
"""

from __future__ import annotations

import json

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from inspection.engine.methods import (
    METHOD_NAMES,
    accepted_parameters,
    canonical_method_name,
    create_method,
    method_class,
)
from inspection.errors import Conflict, InvalidInput
from inspection.lib.numeric_arguments import numeric_arguments_check
from inspection.models import Image, Job, ModelVersion, ModelVersionImage, Product
from inspection.services.jobs import (
    job_cancel,
    job_create,
)
from inspection.services.training_checkpoints import training_checkpoints_discard

DEFAULT_METHOD = "cpcae-knn"


MIN_TRAINING_IMAGES = 2


EVALUATION_SPLITS = (Image.Split.VALIDATION, Image.Split.TEST)


def model_version_params_check(*, method: str, params: dict) -> dict:
    """`params` if the engine's `method` accepts them, else InvalidInput saying why."""
    method = canonical_method_name(method)
    if method not in METHOD_NAMES:
        raise InvalidInput(f"method must be one of {', '.join(METHOD_NAMES)}, not {method!r}.")
    if not isinstance(params, dict):
        raise InvalidInput('params must be an object such as {"epochs": 6}.')
    unknown = set(params) - accepted_parameters(method)
    if unknown:
        raise InvalidInput(
            f"Method {method} takes no parameter(s) {', '.join(sorted(unknown))}; "
            f"it accepts {', '.join(sorted(accepted_parameters(method)))}."
        )
    numeric_arguments_check(target=method_class(method), values=params, what=f"Parameter of {method}:")
    try:
        json.dumps(params)
        create_method(method, **params)  # constructors only store values: cheap, no TensorFlow
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"Invalid parameters for {method}: {error}.") from None
    return params


def model_version_create(
    *, product: Product, method: str = DEFAULT_METHOD, params: dict | None = None, created_by=None
) -> ModelVersion:
    """Freeze the product's data set as it stands and queue training a new version (409 if one is running)."""
    method = canonical_method_name(method)  # a former name (nn) is stored as the current one
    params = model_version_params_check(method=method, params=params or {})
    with transaction.atomic():
        product = Product.objects.select_for_update().get(pk=product.pk)
        model_version_settle_orphans(product=product)
        running = ModelVersion.objects.filter(product=product, status__in=ModelVersion.ACTIVE_STATUSES).first()
        if running is not None:
            raise _already_training(running)
        if not product.reference_image:
            raise Conflict("The product has no reference image; set one and let its images be aligned first.")
        train = list(_training_images(product))
        evaluation_images = list(_evaluation_images(product))
        if len(train) < MIN_TRAINING_IMAGES:
            pending = Image.objects.filter(
                product=product, registration_status=Image.RegistrationStatus.PENDING
            ).count()
            raise Conflict(
                f"Training needs at least {MIN_TRAINING_IMAGES} aligned normal images in the train split; "
                f"the product has {len(train)}"
                + (f" ({pending} images are still waiting to be aligned)." if pending else ".")
            )
        number = (ModelVersion.objects.filter(product=product).aggregate(top=Max("number"))["top"] or 0) + 1
        job = job_create(
            kind=Job.Kind.TRAINING,
            product=product,
            created_by=created_by,
            message=f"Version {number} waits for a worker.",
        )
        version = ModelVersion(
            product=product,
            number=number,
            method=method,
            params=params,
            job=job,
            created_by=created_by,
            registration_revision=product.registration_revision,
            reference_checksum=product.reference_checksum,
            train_count=len(train),
            eval_count=len(evaluation_images),
        )
        try:
            with transaction.atomic():
                version.save()
        except IntegrityError:
            running = ModelVersion.objects.filter(product=product, status__in=ModelVersion.ACTIVE_STATUSES).first()
            if running is not None:
                raise _already_training(running) from None
            raise Conflict("Another training of this product was requested at the same moment; try again.") from None
        ModelVersionImage.objects.bulk_create(
            [_snapshot_row(version, image, ModelVersionImage.Role.TRAIN, index) for index, image in enumerate(train)]
            + [
                _snapshot_row(version, image, ModelVersionImage.Role.EVAL, index)
                for index, image in enumerate(evaluation_images)
            ]
        )
    return version


def model_version_retrain(*, product: Product, created_by=None) -> ModelVersion:
    """Train a new version with the method and parameters of the active (or latest) version."""
    template = (
        product.active_version
        or (
            ModelVersion.objects.filter(product=product, status=ModelVersion.Status.TRAINED).order_by("-number").first()
        )
        or ModelVersion.objects.filter(product=product).order_by("-number").first()
    )
    if template is None:
        return model_version_create(product=product, created_by=created_by)
    return model_version_create(product=product, method=template.method, params=template.params, created_by=created_by)


def model_version_cancel(*, version: ModelVersion) -> ModelVersion:
    """Stop a queued or running training; the version ends "cancelled" and is never usable."""
    if version.status not in ModelVersion.ACTIVE_STATUSES or version.job is None:
        raise Conflict(f"Version {version.number} is {version.status}; there is no training to cancel.")
    try:
        job = job_cancel(job=version.job)
    except Conflict:
        # The job ended already; the version only has to catch up with it.
        model_version_settle_orphans(product=version.product)
    else:
        if job.status == Job.Status.CANCELLED:  # it had not started: no worker will report back
            model_version_finish(version=version, status=ModelVersion.Status.CANCELLED)
    version.refresh_from_db()
    return version


def model_version_settle_orphans(*, product: Product | None = None) -> int:
    """Mark queued/training versions whose job already ended (cancelled, failed, reaped) accordingly."""
    versions = ModelVersion.objects.filter(
        status__in=ModelVersion.ACTIVE_STATUSES, job__status__in=Job.FINISHED_STATUSES
    )
    if product is not None:
        versions = versions.filter(product=product)
    settled = 0
    for version in versions.select_related("job"):
        status = (
            ModelVersion.Status.CANCELLED if version.job.status == Job.Status.CANCELLED else ModelVersion.Status.FAILED
        )
        error = "" if status == ModelVersion.Status.CANCELLED else (version.job.error or "The training job ended.")
        settled += model_version_finish(version=version, status=status, error=error)
    return settled


def model_version_finish(*, version: ModelVersion, status: str, error: str = "", **fields) -> int:
    """Move a version out of queued/training; a version already finished keeps its state."""
    updated = ModelVersion.objects.filter(pk=version.pk, status__in=ModelVersion.ACTIVE_STATUSES).update(
        status=status, error=error, finished_at=timezone.now(), **fields
    )
    if updated:
        training_checkpoints_discard(version=version)
    return updated


def _already_training(running: ModelVersion) -> Conflict:
    return Conflict(
        f"Version {running.number} of this product is still {running.status} (job {running.job_id}); "
        "wait for it to finish or cancel it before requesting another training.",
        details={"running_version": running.pk, "job": running.job_id},
    )


def _training_images(product: Product):
    return Image.objects.filter(
        product=product,
        label=Image.Label.NORMAL,
        split=Image.Split.TRAIN,
        registration_status=Image.RegistrationStatus.REGISTERED,
    ).order_by("id")


def _evaluation_images(product: Product):
    return Image.objects.filter(
        product=product,
        split__in=EVALUATION_SPLITS,
        label__in=(Image.Label.NORMAL, Image.Label.DEFECTIVE),
        registration_status=Image.RegistrationStatus.REGISTERED,
    ).order_by("id")


def _snapshot_row(version: ModelVersion, image: Image, role: str, position: int) -> ModelVersionImage:
    return ModelVersionImage(
        version=version,
        image=image,
        checksum=image.checksum,
        role=role,
        label=image.label,
        defect_type=image.defect_type,
        position=position,
    )
