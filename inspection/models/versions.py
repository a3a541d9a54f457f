"""Model versions, the data set each froze, their evaluation scores, operating points and activations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from inspection.lib import score_analysis

from .jobs import Job
from .products import Image, Product


def _bundle_path(version: ModelVersion, filename: str) -> str:
    return f"products/{version.product_id}/models/{filename}"


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
    # The latest job that builds the version's runtime archive (services.model_exports).
    export_job = models.ForeignKey(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
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
    # roc, pr and score histogram as plain lists (engine.scoring.metrics formats).
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

    @property
    def method_name(self) -> str:
        """The method's current name: versions saved under a former one (nn) show the new one."""
        from inspection.engine.methods import canonical_method_name

        return canonical_method_name(self.method)


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

    def __str__(self) -> str:
        return f"{self.role} image {self.position} of version {self.version_id}"


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

    def __str__(self) -> str:
        return f"score {self.score:.4g} of version {self.version_id} ({self.label})"


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
    rolled_back_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The version's setting that was in force before this one, so the history
    # says what each change replaced (this setting's set_by and reason say who and why).
    replaces = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
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
                    | Q(
                        threshold__isnull=True,
                        band_lower__isnull=False,
                        band_upper__isnull=False,
                        band_lower__lt=models.F("band_upper"),
                    )
                ),
                name="threshold_single_or_band",
            ),
        ]

    def __str__(self) -> str:
        if self.threshold is not None:
            return f"threshold {self.threshold:.4g} on version {self.version_id}"
        return f"band {self.band_lower} - {self.band_upper} on version {self.version_id}"

    @property
    def is_band(self) -> bool:
        return self.threshold is None

    @property
    def reject_from(self) -> float:
        return self.threshold if self.threshold is not None else self.band_upper

    @property
    def review_from(self) -> float:
        return self.threshold if self.threshold is not None else self.band_lower

    def decide(self, score: float) -> str:
        """pass / review / reject for `score` at this operating point."""
        return score_analysis.decide(
            score, threshold=self.threshold, band_lower=self.band_lower, band_upper=self.band_upper
        )

    def doubt(self, score: float | None) -> float:
        """How close `score` lies to this operating point's boundary (0 for a part that was not scored)."""
        return score_analysis.doubt(
            score, threshold=self.threshold, band_lower=self.band_lower, band_upper=self.band_upper
        )


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
    # The operating point named in the activation, and the one in force for the product until then.
    operating_point = models.ForeignKey(
        "ThresholdSetting", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaced_operating_point = models.ForeignKey(
        "ThresholdSetting", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    gate = models.JSONField(default=dict, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-activated_at", "-id"]

    def __str__(self) -> str:
        return f"activation of version {self.version_id} on product {self.product_id}"
