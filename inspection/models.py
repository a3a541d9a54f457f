"""Products, their images, the background jobs that process them, and the inspection loop.

The loop: a ModelVersion is trained on a frozen snapshot of a product's images
(ModelVersionImage) and scored on its labelled evaluation images
(EvaluationScore); a ThresholdSetting chooses the operating point; an
Activation makes a version the product's active one; each Inspection is scored
by the active version, and doubtful or rejected ones become ReviewItems whose
decisions turn into labelled images for the next training.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


def _reference_path(product: "Product", filename: str) -> str:
    return f"products/{product.pk}/reference/{filename}"


def _image_path(image: "Image", filename: str) -> str:
    return f"products/{image.product_id}/images/{filename}"


def _aligned_path(image: "Image", filename: str) -> str:
    return f"products/{image.product_id}/aligned/{filename}"


def _thumbnail_path(image: "Image", filename: str) -> str:
    return f"products/{image.product_id}/thumbnails/{filename}"


def _mask_path(image: "Image", filename: str) -> str:
    return f"products/{image.product_id}/masks/{filename}"


class Product(models.Model):
    """A kind of part that is inspected; the model learns it from good images."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # Every image is aligned to this one before a model sees it.
    reference_image = models.FileField(upload_to=_reference_path, max_length=500, blank=True)
    reference_checksum = models.CharField(max_length=64, blank=True)
    # Keyword arguments for the engine's Registrar (method, motion, roi, min_quality...).
    registration_settings = models.JSONField(default=dict, blank=True)
    # Bumped whenever the reference or the registration settings change, so a
    # job still aligning against the old ones notices and stops.
    registration_revision = models.PositiveIntegerField(default=0)
    # Free-form notes about thresholds kept from before operating points had a
    # history; decisions use ThresholdSetting (see services.thresholds).
    thresholds = models.JSONField(default=dict, blank=True)
    # The model version that scores inspections; changed only by an Activation.
    active_version = models.ForeignKey(
        "ModelVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Image(models.Model):
    class Label(models.TextChoices):
        NORMAL = "normal"
        DEFECTIVE = "defective"
        UNKNOWN = "unknown"

    class Split(models.TextChoices):
        TRAIN = "train"
        VALIDATION = "validation"
        TEST = "test"
        EXCLUDED = "excluded"

    class RegistrationStatus(models.TextChoices):
        PENDING = "pending"
        REGISTERED = "registered"
        FAILED = "failed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=_image_path, max_length=500)
    # The name the file had on the user's disk or in the archive, for display.
    original_name = models.CharField(max_length=500)
    # SHA-256 of the file's bytes: the same picture uploaded twice is refused.
    checksum = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    label = models.CharField(max_length=16, choices=Label.choices, default=Label.UNKNOWN)
    defect_type = models.CharField(max_length=100, blank=True)
    split = models.CharField(max_length=16, choices=Split.choices, default=Split.TRAIN)
    # Ground-truth defect mask (white = defect), when the data set has one.
    mask_file = models.FileField(upload_to=_mask_path, max_length=500, blank=True)
    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.PENDING
    )
    # Similarity to the reference after alignment, -1..1 (engine's definition).
    registration_quality = models.FloatField(null=True, blank=True)
    registration_failure_reason = models.TextField(blank=True)
    aligned_file = models.FileField(upload_to=_aligned_path, max_length=500, blank=True)
    # Small JPEG copies made once (on upload, on alignment) so that a grid of
    # thousands of images never sends full-resolution files to the browser.
    thumbnail = models.FileField(upload_to=_thumbnail_path, max_length=500, blank=True)
    aligned_thumbnail = models.FileField(upload_to=_thumbnail_path, max_length=500, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "checksum"], name="image_unique_checksum_per_product"),
        ]
        indexes = [
            models.Index(fields=["product", "registration_status"], name="image_product_registration"),
            models.Index(fields=["product", "label", "split"], name="image_product_label_split"),
        ]

    def stored_files(self) -> tuple:
        """Every file this image owns in storage (some may be empty)."""
        return (self.file, self.aligned_file, self.mask_file, self.thumbnail, self.aligned_thumbnail)

    def __str__(self) -> str:
        return f"{self.original_name} ({self.product})"


class Job(models.Model):
    """One background job; the worker reports progress here, clients poll it."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration"
        TRAINING = "training"
        INSPECTION = "inspection"
        PIXEL_EVALUATION = "pixel_evaluation"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.RUNNING)
    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="jobs", null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Cancellation is cooperative: the running task checks this between steps.
    cancel_requested = models.BooleanField(default=False)
    celery_task_id = models.CharField(max_length=64, blank=True)
    # "host:pid" of the worker process running the job, for operators.
    worker = models.CharField(max_length=200, blank=True)
    # How many times a worker started this job; more than one means a worker died.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Refreshed by the worker as it makes progress; a stale one means the worker died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_at_most_100"),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES


def _bundle_path(version: "ModelVersion", filename: str) -> str:
    return f"products/{version.product_id}/models/{filename}"


def _inspection_path(inspection: "Inspection", filename: str) -> str:
    return f"products/{inspection.product_id}/inspections/{filename}"


class ModelVersion(models.Model):
    """One trained (or training) model of a product, numbered 1, 2, ... per product.

    The bundle is the engine's bundle directory stored as one zip through
    Django storage (so S3-compatible storage works); `bundle_checksum` is the
    SHA-256 of that zip. Only a version with status "trained" and a bundle can
    be activated or used for inspection.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        TRAINING = "training"
        TRAINED = "trained"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE_STATUSES = (Status.QUEUED, Status.TRAINING)

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="model_versions")
    number = models.PositiveIntegerField()
    method = models.CharField(max_length=50)
    # Hyper-parameters passed to the engine's create_method(method, **params).
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    error = models.TextField(blank=True)
    # Live training progress: stage, percent, epoch, epochs, loss, losses (one per epoch).
    progress = models.JSONField(default=dict, blank=True)
    # What the images were aligned with when the snapshot was taken.
    registration_revision = models.PositiveIntegerField(default=0)
    reference_checksum = models.CharField(max_length=64, blank=True)
    bundle = models.FileField(upload_to=_bundle_path, max_length=500, blank=True)
    bundle_checksum = models.CharField(max_length=64, blank=True)
    bundle_size = models.PositiveBigIntegerField(null=True, blank=True)
    # Image shape (H, W, C) the model was trained on.
    image_shape = models.JSONField(default=list, blank=True)
    # image_auroc, average_precision, counts, suggested operating points...
    metrics = models.JSONField(default=dict, blank=True)
    # roc, pr and score histogram as plain lists (engine.metrics formats).
    curves = models.JSONField(default=dict, blank=True)
    # True once labelled evaluation images of both classes were scored.
    evaluated = models.BooleanField(default=False)
    train_count = models.PositiveIntegerField(default=0)
    eval_count = models.PositiveIntegerField(default=0)
    train_seconds = models.FloatField(null=True, blank=True)
    engine_version = models.CharField(max_length=32, blank=True)
    # Set when the stored bundle turned out unreadable; such a version is not used.
    flagged_damaged = models.BooleanField(default=False)
    damage_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="model_version_unique_number"),
            # At most one version of a product is queued or training at any time.
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(status__in=["queued", "training"]),
                name="model_version_one_training_per_product",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} v{self.number} ({self.status})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.TRAINED and bool(self.bundle) and not self.flagged_damaged


class ModelVersionImage(models.Model):
    """One image of a version's frozen data set snapshot, as it was when training was requested."""

    class Role(models.TextChoices):
        TRAIN = "train"
        EVAL = "eval"

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="dataset")
    # Kept when the image is later deleted, so the snapshot still says what was used.
    image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    checksum = models.CharField(max_length=64)
    role = models.CharField(max_length=8, choices=Role.choices)
    label = models.CharField(max_length=16, choices=Image.Label.choices)
    defect_type = models.CharField(max_length=100, blank=True)
    # Order within the role: the engine's nearest_indices point into the training order.
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "role", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "role", "position"], name="snapshot_unique_position"),
        ]


class EvaluationScore(models.Model):
    """A version's anomaly score for one labelled evaluation image."""

    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="evaluation_scores")
    image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    checksum = models.CharField(max_length=64)
    score = models.FloatField()
    label = models.CharField(max_length=16, choices=Image.Label.choices)
    defect_type = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["version", "-score", "id"]
        indexes = [models.Index(fields=["version", "checksum"], name="evaluation_version_checksum")]


class ThresholdSetting(models.Model):
    """An operating point chosen for a product, on the scores of one version.

    Either `threshold` (score >= threshold: reject, else pass) or a band
    `band_lower` < `band_upper` (below lower: pass, from lower up to upper:
    review, from upper: reject). Settings are never changed: the product's
    operating point for a version is its latest setting based on that version,
    and rolling back creates a new setting copying an older one.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="threshold_settings")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="threshold_settings")
    threshold = models.FloatField(null=True, blank=True)
    band_lower = models.FloatField(null=True, blank=True)
    band_upper = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    # What the operating point did on the version's evaluation images when chosen.
    expected = models.JSONField(default=dict, blank=True)
    rolled_back_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-set_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(threshold__isnull=False, band_lower__isnull=True, band_upper__isnull=True)
                    | Q(threshold__isnull=True, band_lower__isnull=False, band_upper__isnull=False,
                        band_lower__lt=models.F("band_upper"))
                ),
                name="threshold_single_or_band",
            ),
        ]

    @property
    def is_band(self) -> bool:
        return self.threshold is None

    @property
    def reject_from(self) -> float:
        return self.threshold if self.threshold is not None else self.band_upper

    @property
    def review_from(self) -> float:
        return self.threshold if self.threshold is not None else self.band_lower


class Activation(models.Model):
    """A version made the product's active one: who, when, why, and the promotion gate's report."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="activations")
    version = models.ForeignKey(ModelVersion, on_delete=models.CASCADE, related_name="activations")
    previous_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    # Activated although it was not evaluated (requires a reason).
    forced = models.BooleanField(default=False)
    gate = models.JSONField(default=dict, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-activated_at", "-id"]


class Inspection(models.Model):
    """One part from the line scored by a model version.

    `anomaly_map` is a 16-bit grey PNG at the registered resolution; a pixel
    value v stands for the map value v / 65535 * anomaly_map_scale.
    """

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for a batch job
        DONE = "done"
        FAILED = "failed"  # could not be scored at all (e.g. damaged model); see reason

    class Decision(models.TextChoices):
        PASS = "pass"
        REVIEW = "review"
        REJECT = "reject"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="inspections")
    version = models.ForeignKey(ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspections")
    threshold_setting = models.ForeignKey(
        ThresholdSetting, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_file = models.FileField(upload_to=_inspection_path, max_length=500)
    original_name = models.CharField(max_length=500)
    checksum = models.CharField(max_length=64)
    registered_file = models.FileField(upload_to=_inspection_path, max_length=500, blank=True)
    anomaly_map = models.FileField(upload_to=_inspection_path, max_length=500, blank=True)
    anomaly_map_scale = models.FloatField(null=True, blank=True)
    reconstruction_file = models.FileField(upload_to=_inspection_path, max_length=500, blank=True)
    nearest_image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    score = models.FloatField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices, blank=True)
    reason = models.TextField(blank=True)
    registration_quality = models.FloatField(null=True, blank=True)
    # Seconds the engine spent on registration and scoring.
    engine_seconds = models.FloatField(null=True, blank=True)
    # The labelled image a review made of this part.
    labelled_image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    inspected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["product", "decision"], name="inspection_product_decision"),
            models.Index(fields=["job", "status"], name="inspection_job_status"),
        ]


class ReviewItem(models.Model):
    """An inspection waiting for (or given) a person's verdict.

    `doubt` is the distance of the score from the middle of the decision
    boundary (the threshold, or the middle of the review band), so smaller is
    more doubtful; parts that could not be aligned have doubt 0. A claim lasts
    until `claim_expires_at`; after that anyone may take the item.
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLAIMED = "claimed"
        DECIDED = "decided"

    class Verdict(models.TextChoices):
        DEFECTIVE = "defective"
        NORMAL = "normal"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="review_items")
    inspection = models.OneToOneField(Inspection, on_delete=models.CASCADE, related_name="review_item")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    doubt = models.FloatField(default=0.0)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    defect_type = models.CharField(max_length=100, blank=True)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    resulting_image = models.ForeignKey(Image, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["doubt", "id"]
        indexes = [models.Index(fields=["product", "status", "doubt"], name="review_product_status_doubt")]


# Annotation models live in their own module; importing them here registers
# them with the app and lets callers import every model from inspection.models.
from inspection.annotation_models import (  # noqa: E402, F401
    Annotation,
    AnnotationRegion,
    DefectType,
    PixelEvaluation,
)
