"""Products, their images, and the background jobs that process them."""

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
    # Decision thresholds; filled in when a model is trained.
    thresholds = models.JSONField(default=dict, blank=True)
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

    def __str__(self) -> str:
        return f"{self.original_name} ({self.product})"


class Job(models.Model):
    """One background job; the worker reports progress here, clients poll it."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration"

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
