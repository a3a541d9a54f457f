"""Background jobs: the rows workers report progress to and clients poll."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .products import Product


class Job(models.Model):
    """One background job; the worker reports progress here, clients poll it."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration"
        TRAINING = "training"
        INSPECTION = "inspection"
        PIXEL_EVALUATION = "pixel_evaluation"
        EXPORT = "export"

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
