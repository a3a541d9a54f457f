"""Pixel-level evaluation of a model version: do its anomaly maps outline the annotated defects?

Images used: the version's evaluation images whose current annotation has
regions (mask = union of the regions), plus its normal evaluation images
without regions (all-zero masks). Defective images without annotation are
left out: their defect pixels are unknown, and counting them as normal would
punish the model for finding them.

Numbers stored (see PixelEvaluation):

* pixel AUROC over all pixels of those images (engine.scoring.metrics.pixel_auroc,
  equal to scikit-learn's roc_auc_score on the flattened masks and maps);
* the pixel threshold: the smallest map value exceeded by at most 1% of the
  pixels of the normal evaluation images (their 99th percentile, taken as
  an observed value). Without normal evaluation images there is none, and
  region recall is unavailable;
* per annotated region, its image's score and the highest map value inside
  it. Whether a region counts as detected is decided when read, against the
  version's operating point of that moment (selectors.pixel_evaluation).

Computed by the training job right after scoring the evaluation images (the
maps are at hand), and again on request by a job on the engine queue, e.g.
after annotations were added.
"""

from __future__ import annotations

import math

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.errors import EngineError, ImageError
from inspection.engine.registration.result import without_outside_pixels
from inspection.engine.scoring.metrics import pixel_auroc
from inspection.errors import Conflict
from inspection.lib.mask_png import mask_read, valid_mask_read
from inspection.models import Image, Job, ModelVersion, ModelVersionImage, PixelEvaluation
from inspection.selectors.annotations import annotation_current_by_image
from inspection.services.bundles import ModelUnavailable, bundle_load
from inspection.services.job_runner import JobFailed, job_heartbeat, job_run
from inspection.services.jobs import job_create, job_succeed

# Share of the normal evaluation images' pixels allowed above the pixel threshold.
PIXEL_FALSE_POSITIVE_RATE = 0.01
STAGE = "pixel evaluation"


def pixel_threshold(normal_maps: list[np.ndarray], rate: float = PIXEL_FALSE_POSITIVE_RATE) -> float:
    """The smallest map value exceeded by at most `rate` of all pixels of `normal_maps`.

    That is the k-th largest value with k = floor(rate * pixels) + 1: exactly
    k - 1 or fewer pixels lie above it, and any smaller value has at least k
    above it. Found keeping only the k largest values seen, one map at a time.
    """
    total = sum(anomaly_map.size for anomaly_map in normal_maps)
    if not total:
        raise ValueError("no normal map pixels")
    keep = math.floor(rate * total) + 1
    top = np.empty(0, dtype=np.float64)
    for anomaly_map in normal_maps:
        values = np.concatenate([top, np.asarray(anomaly_map, dtype=np.float64).ravel()])
        top = np.partition(values, values.size - keep)[-keep:] if values.size > keep else values
    return float(top.min())


class PixelCollector:
    """Gathers masks and maps of one version's evaluation images, one chunk of maps at a time."""

    def __init__(self, *, version: ModelVersion, rows: list[ModelVersionImage]):
        self.version = version
        image_ids = [row.image_id for row in rows if row.image_id is not None]
        self.annotations = annotation_current_by_image(images=image_ids)
        self.revisions = {str(image_id): 0 for image_id in image_ids}
        self.revisions.update({str(image_id): annotation.revision for image_id, annotation in self.annotations.items()})
        self.masks: list[np.ndarray] = []
        self.maps: list[np.ndarray] = []
        self.normal_maps: list[np.ndarray] = []
        self.regions: list[dict] = []
        self.problems: list[str] = []
        self.annotated_count = 0

    def wants(self, row: ModelVersionImage) -> bool:
        """Whether this evaluation image takes part (annotated with regions, or normal)."""
        annotation = self.annotations.get(row.image_id)
        if annotation is not None and annotation.regions.all():
            return True
        return row.label == Image.Label.NORMAL

    def add(self, row: ModelVersionImage, anomaly_map: np.ndarray, score: float) -> None:
        if not self.wants(row):
            return
        anomaly_map = np.asarray(anomaly_map, dtype=np.float32)
        annotation = self.annotations.get(row.image_id)
        regions = list(annotation.regions.all()) if annotation is not None else []
        if not regions:
            self.masks.append(np.zeros(anomaly_map.shape, dtype=bool))
            self.maps.append(anomaly_map)
            self.normal_maps.append(anomaly_map)
            return
        name = row.image.original_name if row.image else f"image {row.image_id}"
        if annotation.registration_revision != self.version.registration_revision:
            self.problems.append(f"{name}: annotated before the images were aligned to the current reference")
            return
        try:
            region_masks = [mask_read(region.mask) for region in regions]
        except (OSError, ValueError) as error:
            self.problems.append(f"{name}: a mask cannot be read ({error})")
            return
        if any(mask.shape != anomaly_map.shape for mask in region_masks):
            self.problems.append(f"{name}: masks are not the size of the anomaly map {anomaly_map.shape[::-1]}")
            return
        self.annotated_count += 1
        self.masks.append(np.logical_or.reduce(region_masks))
        self.maps.append(anomaly_map)
        for region, mask in zip(regions, region_masks):
            self.regions.append(
                {
                    "image": row.image_id,
                    "revision": annotation.revision,
                    "region": region.pk,
                    "defect_type": region.defect_type_id,
                    "defect_type_name": region.defect_type.name,
                    "color": region.defect_type.color,
                    "area": region.area,
                    "max_value": float(anomaly_map[mask].max()),
                    "image_score": float(score),
                }
            )

    def result(self) -> dict:
        """The fields of a PixelEvaluation."""
        notes = []
        auroc = threshold = None
        has_defect = any(mask.any() for mask in self.masks)
        has_normal = any(not mask.all() for mask in self.masks)
        if has_defect and has_normal:
            try:
                auroc = pixel_auroc(self.masks, self.maps)
            except ValueError as error:  # e.g. NaN in a map: the image scores still stand
                notes.append(f"Pixel AUROC could not be computed ({error}).")
        else:
            notes.append("No evaluation image with annotated regions: pixel AUROC needs defect pixels.")
        if self.normal_maps:
            threshold = pixel_threshold(self.normal_maps)
        else:
            notes.append("No normal evaluation images: there is no pixel threshold, so region recall is unavailable.")
        if self.problems:
            notes.append(f"Left out: {'; '.join(self.problems)}.")
        return {
            "pixel_auroc": auroc,
            "pixel_threshold": threshold,
            "n_images": len(self.maps),
            "n_annotated_images": self.annotated_count,
            "n_normal_images": len(self.normal_maps),
            "regions": self.regions,
            "annotation_revisions": self.revisions,
            "note": " ".join(notes),
        }


def pixel_evaluation_store(*, version: ModelVersion, result: dict, job: Job | None = None) -> PixelEvaluation:
    evaluation, _ = PixelEvaluation.objects.update_or_create(
        version=version,
        defaults={**result, "computed_at": timezone.now(), **({"job": job} if job else {})},
    )
    return evaluation


def pixel_evaluation_start(*, version: ModelVersion, started_by=None) -> Job:
    """Queue recomputing the version's pixel evaluation (with the annotations as they are now)."""
    if not version.is_usable:
        raise Conflict(f"Version {version.number} is {version.status} and has no usable model to compute maps with.")
    if version.product.registration_revision != version.registration_revision:
        raise Conflict(
            f"The product's images were aligned to another reference after version {version.number} was trained, "
            "so its maps and the annotations are no longer in the same frame."
        )
    with transaction.atomic():
        evaluation, _ = PixelEvaluation.objects.select_for_update().get_or_create(version=version)
        if evaluation.job is not None and evaluation.job.status in Job.ACTIVE_STATUSES:
            return evaluation.job
        job = job_create(
            kind=Job.Kind.PIXEL_EVALUATION,
            product=version.product,
            created_by=started_by,
            message=f"Pixel evaluation of version {version.number} waits for a worker.",
        )
        evaluation.job = job
        evaluation.save(update_fields=["job"])
    return job


def pixel_evaluation_job_run(*, job_id: int, worker: str) -> None:
    """Body of the pixel evaluation task: maps of the evaluation images, then the numbers."""
    job_run(job_id=job_id, worker=worker, name="pixel evaluation", work=_evaluate)


def _evaluate(job: Job) -> None:
    evaluation = PixelEvaluation.objects.select_related("version", "version__product").filter(job_id=job.pk).first()
    if evaluation is None:
        raise JobFailed("The model version of this job no longer exists.")
    try:
        _run(job, evaluation.version)
    except ModelUnavailable as error:
        raise JobFailed(error.message) from None


def _run(job: Job, version: ModelVersion) -> None:
    loaded = bundle_load(version=version)
    rows = list(version.dataset.filter(role=ModelVersionImage.Role.EVAL).select_related("image"))
    collector = PixelCollector(version=version, rows=rows)
    wanted = [row for row in rows if collector.wants(row)]
    chunk = settings.INSPECTION_BATCH_CHUNK
    for start in range(0, len(wanted), chunk):
        job_heartbeat(
            job=job,
            progress=int(95 * start / len(wanted)),
            stage=STAGE,
            message=f"Mapped {start} of {len(wanted)} evaluation images.",
            cancelled_message="Cancelled; the earlier pixel evaluation is kept.",
        )
        batch = []
        for row in wanted[start : start + chunk]:
            registered = _registered_pixels(row, collector)
            if registered is not None:
                batch.append((row, *registered))
        if not batch:
            continue
        # Each image alone, as training and inspections score it, so a region's image score here is the one
        # the version's evaluation recorded (imported here: services.scoring builds on this module's collector).
        from inspection.services.scoring import explain_each

        with loaded.lock:
            explanation = explain_each(loaded.bundle.detector, [pixels for _, pixels, _ in batch])
        for (row, _, valid_mask), anomaly_map, score in zip(batch, explanation.maps, explanation.scores):
            collector.add(row, without_outside_pixels(anomaly_map, valid_mask), float(score))
    result = collector.result()
    pixel_evaluation_store(version=version, result=result, job=job)
    auroc = result["pixel_auroc"]
    job_succeed(
        job=job,
        message=f"Pixel evaluation of version {version.number} on {result['n_images']} images"
        + (f": pixel AUROC {auroc:.3f}." if auroc is not None else "."),
    )


def _registered_pixels(row: ModelVersionImage, collector: PixelCollector):
    image = row.image
    if image is None or image.checksum != row.checksum or not image.aligned_file:
        collector.problems.append(f"evaluation image {row.checksum[:12]}... was deleted, changed or is not aligned")
        return None
    try:
        with image.aligned_file.open("rb") as handle:
            pixels = decode_image_bytes(handle.read(), image.original_name)
        return pixels, valid_mask_read(image.aligned_valid_mask)
    except (OSError, ValueError, ImageError, EngineError) as error:
        collector.problems.append(f"{image.original_name}: the aligned copy cannot be read ({error})")
        return None
