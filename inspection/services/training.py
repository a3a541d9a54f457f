"""Training a product's model versions, as background jobs on the engine queue.

A training is requested by services.model_versions, which freezes the data
set (ModelVersionImage rows: the registered normal training images and the
labelled evaluation images, with their checksums) and queues a job. The
worker trains the chosen engine method
on exactly those images, scores the evaluation images, and stores the bundle
(services.bundles), metrics, curves and per-image EvaluationScores. The
version becomes "trained" in one final update, after the bundle is stored; a
cancelled, failed or interrupted training never leaves a usable version.

A worker killed mid-training: the job's message is redelivered (late
acknowledgement) and the training starts again from the snapshot, resuming
from the last epoch checkpoint for methods that train in epochs (see
services.training_checkpoints); after JOB_MAX_ATTEMPTS, or when the reaper
fails the job, the version is marked failed (see model_version_settle_orphans).
"""

from __future__ import annotations

import inspect
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inspection.engine import ENGINE_VERSION
from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.errors import EngineError, ImageError, TrainingCancelled
from inspection.engine.methods import (
    create_method,
)
from inspection.engine.progress import ProgressEvent
from inspection.lib import score_analysis
from inspection.lib.mask_png import valid_mask_read
from inspection.models import EvaluationScore, Image, Job, ModelVersion, ModelVersionImage
from inspection.services.bundles import bundle_store
from inspection.services.job_runner import JobFailed, job_run
from inspection.services.jobs import (
    job_mark_cancelled,
    job_report_progress,
    job_succeed,
)
from inspection.services.model_versions import model_version_finish, model_version_settle_orphans
from inspection.services.pixel_evaluation import pixel_evaluation_store
from inspection.services.registration import registration_fit
from inspection.services.scoring import evaluation_scores_compute
from inspection.services.training_checkpoints import StoredCheckpoints

# Percent of the job each stage covers: (start, end).
_STAGES = {
    "loading": (0, 5, "loading images"),
    "train-cpcae": (5, 70, "training the autoencoder"),
    "embed": (70, 85, "embedding anomaly maps"),
    "fit-knn": (85, 88, "fitting k-NN"),
    "evaluate": (88, 96, "scoring evaluation images"),
    "save": (96, 99, "saving the model"),
}
_OTHER_ENGINE_STAGE = (5, 88)


# --------------------------------------------------------------------- worker


class _Stop(Exception):
    """Training ends early: cancelled, or the job was taken away (reaped, product deleted)."""


class _DataProblem(Exception):
    pass


class _Progress:
    """Relays engine progress to the job and the version; its answer cancels training."""

    def __init__(self, job: Job, version: ModelVersion):
        self.job, self.version = job, version
        self.state = {"stage": "", "percent": 0, "epoch": None, "epochs": None, "loss": None, "losses": []}

    def stage(self, key: str, fraction: float = 0.0, message: str = "", event: ProgressEvent | None = None) -> bool:
        start, end, label = _STAGES.get(key, (*_OTHER_ENGINE_STAGE, key.replace("-", " ")))
        percent = int(start + (end - start) * max(0.0, min(1.0, fraction)))
        percent = max(percent, self.state["percent"])
        self.state.update(stage=label, percent=percent)
        if event is not None and event.epoch is not None:
            self.state.update(epoch=event.epoch, epochs=event.epochs)
            if event.loss is not None:
                self.state["loss"] = event.loss
                losses = self.state["losses"]
                if len(losses) < event.epoch:
                    losses.append(event.loss)
        ModelVersion.objects.filter(pk=self.version.pk).update(progress=score_analysis.json_safe(self.state))
        return job_report_progress(job=self.job, progress=percent, stage=label, message=message)

    def engine_callback(self, event: ProgressEvent) -> bool:
        message = event.message
        if message.startswith("resumed from the checkpoint"):
            lost = self.job.attempts > 1
            message = f"Resumed at epoch {event.epoch} {'after the worker was lost' if lost else 'from a checkpoint'}."
            self.state["resumed"] = message
        return self.stage(event.stage, event.fraction, message, event)

    def check(self, key: str, fraction: float = 0.0, message: str = "") -> None:
        if self.stage(key, fraction, message):
            raise _Stop()


def training_job_run(*, job_id: int, worker: str) -> None:
    """Body of the training task: train, evaluate and store the job's model version."""
    job_run(
        job_id=job_id,
        worker=worker,
        name="training",
        work=_train_version_of_job,
        when_not_claimed=_settle_version_of_job,
        when_failing=_fail_version_of_job,
    )


def _train_version_of_job(job: Job) -> None:
    version = ModelVersion.objects.select_related("product").filter(job_id=job.pk).first()
    if version is None:
        raise JobFailed("The model version of this job no longer exists.")
    if version.status not in ModelVersion.ACTIVE_STATUSES:
        # The same message again after the work was finished (worker died before acknowledging).
        job_succeed(job=job, message=f"Version {version.number} is already {version.status}.")
        return
    try:
        _train(job, version)
    except _Stop:
        _stopped(job, version)


def _settle_version_of_job(job_id: int) -> None:
    version = ModelVersion.objects.select_related("product").filter(job_id=job_id).first()
    if version is not None:
        model_version_settle_orphans(product=version.product)


def _fail_version_of_job(job: Job, error: str) -> None:
    for version in ModelVersion.objects.filter(job_id=job.pk):
        model_version_finish(version=version, status=ModelVersion.Status.FAILED, error=error)


def _stopped(job: Job, version: ModelVersion) -> None:
    try:
        job.refresh_from_db()
    except Job.DoesNotExist:  # the product was deleted, and with it the version
        return
    if job.cancel_requested or job.status == Job.Status.CANCELLED:
        model_version_finish(version=version, status=ModelVersion.Status.CANCELLED)
        job_mark_cancelled(job=job, message=f"Training of version {version.number} was cancelled; no model was kept.")
    else:
        model_version_finish(
            version=version, status=ModelVersion.Status.FAILED, error=job.error or "The training job was stopped."
        )


def _train(job: Job, version: ModelVersion) -> None:
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelVersion.Status.TRAINING, started_at=timezone.now(), error="", progress={}
    )
    EvaluationScore.objects.filter(version=version).delete()  # left by an interrupted earlier attempt
    progress = _Progress(job, version)
    progress.check("loading", 0.0, "Loading the aligned training images.")
    product = version.product
    if product.registration_revision != version.registration_revision:
        raise JobFailed(
            "The product's reference image or registration settings changed after this training "
            "was requested, so its images are being aligned again; request a new training once they are."
        )
    try:
        registrar = registration_fit(product=product)
        train_rows = list(version.dataset.filter(role=ModelVersionImage.Role.TRAIN).select_related("image"))
        eval_rows = list(version.dataset.filter(role=ModelVersionImage.Role.EVAL).select_related("image"))
        train_images = [_registered_pixels(row) for row in train_rows]
        progress.check("loading", 0.7, f"Loaded {len(train_images)} training images.")
        eval_images = [_registered_pixels(row) for row in eval_rows]
        eval_valid_masks = [_valid_mask(row) for row in eval_rows]
        shapes = {image.shape for image in train_images + eval_images}
        if len(shapes) != 1:
            raise _DataProblem(f"The aligned images have different shapes ({', '.join(map(str, sorted(shapes)))}).")
    except (_DataProblem, EngineError, ValueError, OSError) as error:
        raise JobFailed(f"The data set cannot be used: {error}") from None

    detector = create_method(version.method, **version.params)
    # Methods that train in epochs checkpoint each one, so a job taken over after its worker was lost resumes.
    resumable = "checkpoints" in inspect.signature(detector.fit).parameters
    fit_options = {"checkpoints": StoredCheckpoints(version=version)} if resumable else {}
    started = time.perf_counter()
    try:
        detector.fit(train_images, progress=progress.engine_callback, **fit_options)
    except TrainingCancelled:
        raise _Stop() from None
    except EngineError as error:
        raise JobFailed(f"Training failed: {error}") from None
    train_seconds = time.perf_counter() - started

    progress.check("evaluate", 0.0, "Saving the model to evaluate it as inspections will load it.")
    image_shape = list(train_images[0].shape)
    scratch_root = Path(settings.MODEL_CACHE_DIR)
    scratch_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="training-", dir=scratch_root) as scratch:
        from inspection.engine.bundle import load_bundle, save_bundle

        context = {
            "image_shape": tuple(image_shape),
            "registration": registrar.get_config(),
            "reference": registrar.reference_,
        }
        # Evaluated with the model as saved and loaded, the one every inspection uses, not the one in memory.
        saved_detector = load_bundle(save_bundle(Path(scratch) / "evaluated", detector=detector, **context)).detector
        scores, normal_map_peaks, pixels = evaluation_scores_compute(
            detector=saved_detector,
            rows=eval_rows,
            images=eval_images,
            valid_masks=eval_valid_masks,
            check=progress.check,
            version=version,
        )
        labels = [row.label for row in eval_rows]
        metrics, curves, evaluated = score_analysis.summarise(labels, scores, detector.training_scores_)
        # What a good part's anomaly map peaks at: the inspection page's colour
        # scale starts above it, so that good parts do not glow from the first one.
        metrics["normal_map_peak"] = float(np.median(normal_map_peaks)) if normal_map_peaks else None
        metrics["train_count"] = len(train_images)
        # A resumed training reported only its last epochs; the autoencoder keeps every epoch's loss.
        autoencoder = getattr(detector, "autoencoder_", None)
        metrics["loss_history"] = list(getattr(autoencoder, "loss_history_", None) or progress.state["losses"])
        # The number format the networks ran in, as fitted and as every later load of this version runs them.
        metrics["precision"] = getattr(detector, "precision_", "float32")
        progress.check("save", 0.0, "Saving the model.")
        directory = save_bundle(
            Path(scratch) / "bundle",
            detector=saved_detector,
            **context,
            thresholds=metrics.get("suggested") or {},
            metrics=score_analysis.json_safe(metrics),
        )
        progress.check("save", 0.5, "Storing the model.")
        bundle_store(version=version, directory=directory)
    with transaction.atomic():
        EvaluationScore.objects.bulk_create(
            [
                EvaluationScore(
                    version=version,
                    image=row.image,
                    checksum=row.checksum,
                    score=score,
                    label=row.label,
                    defect_type=row.defect_type,
                )
                for row, score in zip(eval_rows, scores)
            ]
        )
        pixel_evaluation_store(version=version, result=pixels.result())
        done = model_version_finish(
            version=version,
            status=ModelVersion.Status.TRAINED,
            bundle=version.bundle.name,
            bundle_checksum=version.bundle_checksum,
            bundle_size=version.bundle_size,
            image_shape=image_shape,
            metrics=score_analysis.json_safe(metrics),
            curves=score_analysis.json_safe(curves),
            evaluated=evaluated,
            train_seconds=round(train_seconds, 3),
            engine_version=ENGINE_VERSION,
            progress=score_analysis.json_safe({**progress.state, "stage": "done", "percent": 100}),
        )
        if not done:
            # Cancelled or failed meanwhile: the stored bundle must not be used.
            transaction.set_rollback(True)
    if not done:
        version.bundle.storage.delete(version.bundle.name)
        _stopped(job, version)
        return
    auroc = metrics.get("image_auroc")
    summary = f"Version {version.number} trained on {len(train_images)} images in {train_seconds:.0f} s"
    summary += (
        f"; image AUROC {auroc:.3f} on {len(scores)} evaluation images."
        if auroc is not None
        else (f"; {len(scores)} evaluation images scored (not evaluated: it needs normal and defective ones).")
    )
    job_succeed(job=job, message=summary)


def _registered_pixels(row: ModelVersionImage):
    image = row.image
    if image is None:
        raise _DataProblem(f"an image of the snapshot (SHA-256 {row.checksum[:12]}...) was deleted")
    if image.checksum != row.checksum or image.registration_status != Image.RegistrationStatus.REGISTERED:
        raise _DataProblem(f"{image.original_name} changed since the training was requested")
    try:
        with image.aligned_file.open("rb") as handle:
            data = handle.read()
    except (OSError, ValueError) as error:
        raise _DataProblem(f"the aligned copy of {image.original_name} cannot be read ({error})") from None
    try:
        return decode_image_bytes(data, image.original_name)
    except ImageError as error:
        raise _DataProblem(str(error)) from None


def _valid_mask(row: ModelVersionImage):
    """Where the image's aligned copy shows its own pixels (None: everywhere, or aligned before masks were kept)."""
    try:
        return valid_mask_read(row.image.aligned_valid_mask)
    except (OSError, ValueError) as error:
        raise _DataProblem(f"the validity mask of {row.image.original_name} cannot be read ({error})") from None
