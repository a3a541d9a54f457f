"""Parts from the line scored by a model version, and the review items of doubtful ones."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models

from .jobs import Job
from .products import Image, Product
from .versions import ModelVersion, ThresholdSetting


def _inspection_path(inspection: Inspection, filename: str) -> str:
    return f"products/{inspection.product_id}/inspections/{filename}"


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
    version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspections"
    )
    threshold_setting = models.ForeignKey(
        ThresholdSetting, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_file = models.FileField(upload_to=_inspection_path, max_length=500)
    original_name = models.CharField(max_length=500)
    checksum = models.CharField(max_length=64)
    registered_file = models.FileField(upload_to=_inspection_path, max_length=500, blank=True)
    # As Image.aligned_valid_mask, for the registered picture (carried over when the part joins the data set).
    registered_valid_mask = models.FileField(upload_to=_inspection_path, max_length=500, blank=True)
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
    # The same picture (checksum) inspected with the same version within the hour before: this
    # inspection shares its review item instead of putting the part in the queue a second time.
    repeat_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats")
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
            # The line's view: history sorted by time, score or submission, dashboard periods, drift windows.
            # Includes what the dashboard adds up, so PostgreSQL reads a period from the index alone.
            models.Index(
                fields=["product", "inspected_at", "id"],
                include=["decision", "version", "engine_seconds"],
                name="inspection_product_inspected",
            ),
            models.Index(fields=["product", "version", "inspected_at"], name="inspection_version_inspected"),
            models.Index(fields=["product", "score", "id"], name="inspection_product_score"),
            models.Index(fields=["product", "created_at", "id"], name="inspection_product_created"),
            models.Index(fields=["product", "decision", "inspected_at"], name="inspection_decision_inspected"),
            models.Index(fields=["product", "version", "checksum"], name="inspection_same_picture"),
        ]

    def __str__(self) -> str:
        return f"inspection {self.pk}: {self.original_name}"

    @property
    def shared_review_item(self):
        """This inspection's review item, or the one of the earlier inspection of the same picture it repeats."""
        owner = self.repeat_of if self.repeat_of_id else self
        try:
            return owner.review_item
        except ObjectDoesNotExist:
            return None


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
    # What the verdict changed, so that the reviewer can undo it (services.review_undo).
    undo_state = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["doubt", "id"]
        indexes = [models.Index(fields=["product", "status", "doubt"], name="review_product_status_doubt")]

    def __str__(self) -> str:
        return f"review of inspection {self.inspection_id} ({self.status})"
