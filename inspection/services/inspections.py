"""Inspecting parts from the line with the product's active model version.

One image: `inspection_run` scores it in the calling (web) process, with the
model loaded once per process (services.bundles); TensorFlow is imported
there on first use only. Several images: `inspection_batch_start` stores them
as pending inspections and queues a job on the engine queue, whose worker
scores them in chunks (`inspection_job_run`); a redelivered job continues
with the images still pending.

Each inspection registers the image against the reference frozen in the
version's bundle (an image of another size or channel count is converted and
resized to the reference first, see the engine's Registrar), scores it, and
stores the decision with the anomaly map (16-bit PNG), the reconstruction,
the registered image and the nearest normal training image. An image that
cannot be aligned is never passed: it gets "review" with the reason. Parts
decided "review" or "reject" enter the product's review queue, once: the same
picture (checksum) inspected again with the same version within the hour
links to the first inspection's review item (`repeat_of`).
"""

from __future__ import annotations

import hashlib
import io
import math
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.errors import EngineError, ImageError
from inspection.engine.registration.result import without_outside_pixels
from inspection.errors import Conflict, InvalidInput
from inspection.lib import score_analysis
from inspection.lib.mask_png import valid_mask_encode
from inspection.lib.png_files import anomaly_map_png, image_png
from inspection.models import Inspection, Job, ModelVersion, ModelVersionImage, Product, ReviewItem, ThresholdSetting
from inspection.selectors.model_versions import threshold_current
from inspection.services.bundles import LoadedModel, ModelUnavailable, bundle_in_use, bundle_load
from inspection.services.job_runner import JobFailed, job_heartbeat, job_run
from inspection.services.jobs import job_create, job_succeed
from inspection.services.scoring import explain_each, registered_as_stored

STAGE = "inspecting images"
# An identical picture inspected again with the same version within this time shares the first one's review item.
REPEAT_WINDOW = timedelta(hours=1)


@dataclass
class _Outcome:
    registered: np.ndarray | None = None
    quality: float | None = None
    failure: str = ""
    registered_png: bytes = b""
    valid_mask: np.ndarray | None = None
    score: float | None = None
    anomaly_map: np.ndarray | None = None
    reconstruction: np.ndarray | None = None
    nearest_index: int | None = None
    engine_seconds: float = 0.0


def inspection_model(*, product: Product) -> tuple[ModelVersion, ThresholdSetting]:
    """The product's active version and its operating point, or Conflict saying what is missing."""
    version = product.active_version
    if version is None:
        raise Conflict("The product has no active model version; train one and activate it first.")
    if version.flagged_damaged:
        raise ModelUnavailable(
            f"The active model version {version.number} is flagged as damaged ({version.damage_reason}); "
            "activate another version or train a new one."
        )
    setting = threshold_current(product=product, version=version)
    if setting is None:
        raise Conflict(f"No operating point is set for the active version {version.number}; set a threshold first.")
    return version, setting


def inspection_run(*, product: Product, file, created_by=None) -> Inspection:
    """Inspect one uploaded image now and return the stored inspection."""
    version, setting = inspection_model(product=product)
    loaded = bundle_load(version=version)
    name = Path(getattr(file, "name", "") or "image").name
    data = file.read()
    pixels = _decode_or_refuse(data, name)
    # Requests for the same model queue on it in turn; a request is answered ModelBusy rather than waiting on.
    outcome = _score(loaded, [pixels], wait=settings.MODEL_WAIT_SECONDS)[0]
    inspection = Inspection(
        product=product,
        version=version,
        created_by=created_by,
        original_name=name,
        checksum=hashlib.sha256(data).hexdigest(),
    )
    token = uuid.uuid4().hex
    inspection.source_file.save(f"{token}-source{_extension(name)}", ContentFile(data), save=False)
    with transaction.atomic():
        _record(inspection, outcome, setting, token)
    return inspection


def inspection_batch_start(*, product: Product, files, created_by=None) -> tuple[Job, list[Inspection]]:
    """Store the images as pending inspections and queue a job that scores them on a worker."""
    files = list(files)
    if not files:
        raise InvalidInput("No images were uploaded; send them in the 'files' field.")
    version, _ = inspection_model(product=product)
    pending = []
    for upload in files:
        name = Path(getattr(upload, "name", "") or "image").name
        data = upload.read()
        _check_header(data, name)
        inspection = Inspection(
            product=product,
            version=version,
            created_by=created_by,
            original_name=name,
            checksum=hashlib.sha256(data).hexdigest(),
        )
        inspection.source_file.save(f"{uuid.uuid4().hex}-source{_extension(name)}", ContentFile(data), save=False)
        pending.append(inspection)
    with transaction.atomic():
        job = job_create(
            kind=Job.Kind.INSPECTION,
            product=product,
            created_by=created_by,
            message=f"{len(pending)} images wait for a worker.",
        )
        for inspection in pending:
            inspection.job = job
        Inspection.objects.bulk_create(pending)
    return job, pending


def inspection_job_run(*, job_id: int, worker: str) -> None:
    """Body of the batch inspection task: score the job's pending inspections in chunks."""
    job_run(
        job_id=job_id,
        worker=worker,
        name="inspection",
        work=_run_batch,
        # An image still pending when the job ends without finishing is failed with the reason.
        when_not_claimed=lambda job_id: _fail_pending(
            job_id, "The inspection job ended before this image was inspected."
        ),
        when_failing=lambda job, error: _fail_pending(job.pk, error),
        when_cancelling=lambda job: _fail_pending(
            job.pk, "The inspection job was cancelled before this image was inspected."
        ),
    )


def _run_batch(job: Job) -> None:
    pending = Inspection.objects.filter(job=job, status=Inspection.Status.PENDING).order_by("id")
    first = pending.select_related("version", "product").first()
    if first is None:
        job_succeed(job=job, message=_batch_summary(job))
        return
    version = first.version
    setting = threshold_current(product=first.product, version=version) if version else None
    if version is None or setting is None:
        raise JobFailed("The model version or its operating point was removed before inspection.")
    try:
        loaded = bundle_load(version=version)
    except ModelUnavailable as error:
        raise JobFailed(error.message) from None
    total = Inspection.objects.filter(job=job).count()
    chunk_size = settings.INSPECTION_BATCH_CHUNK
    while True:
        chunk = list(pending[:chunk_size])
        if not chunk:
            break
        pixels, scored = [], []
        for inspection in chunk:
            try:
                with inspection.source_file.open("rb") as handle:
                    data = handle.read()
                pixels.append(decode_image_bytes(data, inspection.original_name))
                scored.append(inspection)
            except (ImageError, OSError) as error:
                _mark_failed(inspection, f"The image cannot be read: {getattr(error, 'reason', error)}")
        if scored:
            for inspection, outcome in zip(scored, _score(loaded, pixels, wait=None)):
                with transaction.atomic():
                    _record(inspection, outcome, setting, uuid.uuid4().hex)
        done = total - pending.count()
        job_heartbeat(
            job=job,
            progress=min(99, math.floor(100 * done / total)),
            stage=STAGE,
            message=f"Inspected {done} of {total} images.",
            cancelled_message=f"Cancelled after inspecting {done} of {total} images.",
        )
    job_succeed(job=job, message=_batch_summary(job))


def _batch_summary(job: Job) -> str:
    inspections = Inspection.objects.filter(job=job)
    counts = {decision: inspections.filter(decision=decision).count() for decision in Inspection.Decision.values}
    failed = inspections.filter(status=Inspection.Status.FAILED).count()
    return f"{counts['pass']} passed, {counts['review']} to review, {counts['reject']} rejected" + (
        f", {failed} could not be inspected." if failed else "."
    )


def _fail_pending(job_id: int, reason: str) -> None:
    Inspection.objects.filter(job_id=job_id, status=Inspection.Status.PENDING).update(
        status=Inspection.Status.FAILED, reason=reason, inspected_at=timezone.now()
    )


def _mark_failed(inspection: Inspection, reason: str) -> None:
    Inspection.objects.filter(pk=inspection.pk).update(
        status=Inspection.Status.FAILED, reason=reason, inspected_at=timezone.now()
    )


# ----------------------------------------------------------------- scoring


def _score(loaded: LoadedModel, images: list[np.ndarray], *, wait: float | None) -> list[_Outcome]:
    """Register and score images with one loaded model (one thread at a time per model, `wait` s at most)."""
    outcomes = [_Outcome() for _ in images]
    with bundle_in_use(loaded, wait=wait):
        started = time.perf_counter()
        accepted = []
        for index, (image, outcome) in enumerate(zip(images, outcomes)):
            try:
                result = loaded.registrar.register(image)
            except (EngineError, ValueError) as error:
                outcome.failure = str(error)
                continue
            if not result.accepted:
                # A picture is either aligned with its quality or refused with its reason, never both.
                outcome.failure = result.reason
                continue
            outcome.quality = round(float(result.quality), 4)
            outcome.valid_mask = result.valid_mask
            # Scored as stored, as evaluation scores (services.scoring).
            outcome.registered_png = image_png(result.image)
            outcome.registered = registered_as_stored(outcome.registered_png)
            accepted.append(index)
        if accepted:
            explanation = explain_each(loaded.bundle.detector, [outcomes[index].registered for index in accepted])
            for position, index in enumerate(accepted):
                outcome = outcomes[index]
                outcome.score = float(explanation.scores[position])
                # The one rule for maps: 0 where the picture showed nothing of its own (the score is not
                # changed, so it stays the score evaluation gives the same file; docs/engine.md).
                outcome.anomaly_map = without_outside_pixels(explanation.maps[position], outcome.valid_mask)
                if explanation.reconstructions is not None:
                    outcome.reconstruction = explanation.reconstructions[position]
                if explanation.nearest_indices is not None:
                    outcome.nearest_index = int(explanation.nearest_indices[position])
        per_image = (time.perf_counter() - started) / max(1, len(images))
    for outcome in outcomes:
        outcome.engine_seconds = per_image
    return outcomes


def _record(inspection: Inspection, outcome: _Outcome, setting: ThresholdSetting, token: str) -> None:
    """Store files, decision and (if doubtful or rejected) the review item. Runs inside a transaction."""
    inspection.status = Inspection.Status.DONE
    inspection.threshold_setting = setting
    inspection.registration_quality = outcome.quality
    inspection.engine_seconds = round(outcome.engine_seconds, 4)
    inspection.inspected_at = timezone.now()
    if outcome.failure:
        inspection.decision = Inspection.Decision.REVIEW
        inspection.reason = f"The part could not be aligned to the reference image: {outcome.failure}"
    else:
        inspection.score = outcome.score
        inspection.decision, inspection.reason = _decision(outcome.score, setting)
        inspection.registered_file.save(f"{token}-registered.png", ContentFile(outcome.registered_png), save=False)
        valid_png = valid_mask_encode(outcome.valid_mask)
        if valid_png is not None:
            inspection.registered_valid_mask.save(f"{token}-valid.png", ContentFile(valid_png), save=False)
        scale = float(np.max(outcome.anomaly_map)) if outcome.anomaly_map.size else 0.0
        inspection.anomaly_map_scale = scale
        inspection.anomaly_map.save(
            f"{token}-map.png", ContentFile(anomaly_map_png(outcome.anomaly_map, scale)), save=False
        )
        if outcome.reconstruction is not None:
            inspection.reconstruction_file.save(
                f"{token}-reconstruction.png", ContentFile(image_png(outcome.reconstruction)), save=False
            )
        if outcome.nearest_index is not None and inspection.version_id:
            inspection.nearest_image_id = (
                ModelVersionImage.objects.filter(
                    version_id=inspection.version_id, role=ModelVersionImage.Role.TRAIN, position=outcome.nearest_index
                )
                .values_list("image_id", flat=True)
                .first()
            )
    if inspection.decision in (Inspection.Decision.REVIEW, Inspection.Decision.REJECT):
        inspection.repeat_of = _earlier_inspection_in_review(inspection)
    inspection.save()
    if inspection.decision in (Inspection.Decision.REVIEW, Inspection.Decision.REJECT) and inspection.repeat_of is None:
        ReviewItem.objects.get_or_create(
            inspection=inspection,
            defaults={
                "product_id": inspection.product_id,
                "doubt": setting.doubt(
                    inspection.score,
                ),
            },
        )


def _earlier_inspection_in_review(inspection: Inspection) -> Inspection | None:
    """The inspection of the same picture with the same version within REPEAT_WINDOW that owns a review item.

    A part photographed again (or a file sent twice) is one part: a person
    reviews it once, and the repeat links to that review item.
    """
    if inspection.version_id is None:
        return None
    earlier = Inspection.objects.filter(
        product_id=inspection.product_id,
        version_id=inspection.version_id,
        checksum=inspection.checksum,
        review_item__isnull=False,
        inspected_at__gte=timezone.now() - REPEAT_WINDOW,
    )
    if inspection.pk is not None:
        earlier = earlier.exclude(pk=inspection.pk)
    return earlier.order_by("id").first()


def _decision(score: float, setting: ThresholdSetting) -> tuple[str, str]:
    decision = setting.decide(score)
    if setting.threshold is not None:
        relation = "at or above" if decision == score_analysis.REJECT else "below"
        return decision, f"Score {score:.4g} is {relation} the threshold {setting.threshold:.4g}."
    if decision == score_analysis.REJECT:
        return decision, f"Score {score:.4g} is at or above the upper threshold {setting.band_upper:.4g}."
    if decision == score_analysis.REVIEW:
        return decision, (
            f"Score {score:.4g} lies in the review band [{setting.band_lower:.4g}, {setting.band_upper:.4g})."
        )
    return decision, f"Score {score:.4g} is below the lower threshold {setting.band_lower:.4g}."


# ------------------------------------------------------------------- files


def _decode_or_refuse(data: bytes, name: str) -> np.ndarray:
    _check_header(data, name)
    try:
        return decode_image_bytes(data, name)
    except ImageError as error:
        raise InvalidInput(f"{name}: {error.reason}.") from None


def _check_header(data: bytes, name: str) -> None:
    """Refuse empty files, non-images and images over IMAGE_MAX_PIXELS without decoding the pixels."""
    from PIL import Image as PillowImage

    if not data:
        raise InvalidInput(f"{name}: file is empty (0 bytes).")
    try:
        with PillowImage.open(io.BytesIO(data)) as header:
            width, height = header.size
    except (OSError, ValueError, SyntaxError, PillowImage.DecompressionBombError):
        raise InvalidInput(f"{name}: not an image file (format not recognised).") from None
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise InvalidInput(
            f"{name}: image is {width}x{height} pixels, more than the {settings.IMAGE_MAX_PIXELS} allowed."
        )


def _extension(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return suffix if suffix and len(suffix) <= 6 and suffix[1:].isalnum() else ".img"
