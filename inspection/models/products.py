"""Products and their images: what is inspected, and the pictures it is learned from."""

from __future__ import annotations

from django.conf import settings
from django.db import models


def _reference_path(product: Product, filename: str) -> str:
    return f"products/{product.pk}/reference/{filename}"


def _image_path(image: Image, filename: str) -> str:
    return f"products/{image.product_id}/images/{filename}"


def _aligned_path(image: Image, filename: str) -> str:
    return f"products/{image.product_id}/aligned/{filename}"


def _thumbnail_path(image: Image, filename: str) -> str:
    return f"products/{image.product_id}/thumbnails/{filename}"


def _mask_path(image: Image, filename: str) -> str:
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
    # How the registration was chosen and calibrated on the good training
    # pictures (engine's fit_registration report) for `revision`: the choice,
    # every candidate's figures, refused pictures, rotation and shift spread.
    registration_report = models.JSONField(default=dict, blank=True)
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

    @property
    def registration_report_is_current(self) -> bool:
        """Whether the registration report was made for the current reference and registration settings."""
        report = self.registration_report or {}
        return (
            report.get("revision") == self.registration_revision
            and report.get("requested_settings") == self.registration_settings
            and bool(report.get("settings"))
        )


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
    # Where the aligned copy shows the picture's own pixels (8-bit PNG, white = the picture's own): pixels a
    # warp brought in from outside the picture hold the reference's, and every anomaly map is 0 there.
    # Empty when every pixel is the picture's own, and for copies aligned before the mask was kept.
    aligned_valid_mask = models.FileField(upload_to=_aligned_path, max_length=500, blank=True)
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

    def __str__(self) -> str:
        return f"{self.original_name} ({self.product})"

    def stored_files(self) -> tuple:
        """Every file this image owns in storage (some may be empty)."""
        return (
            self.file,
            self.aligned_file,
            self.aligned_valid_mask,
            self.mask_file,
            self.thumbnail,
            self.aligned_thumbnail,
        )
