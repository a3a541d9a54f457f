"""Defect annotations drawn on registered images, and the pixel-level evaluation they allow.

An image's annotation is a stack of revisions: every save adds a revision and
nothing is overwritten, so a mistaken save is undone by restoring an earlier
one. The current annotation is the highest revision. Each revision holds
regions: one binary mask (8-bit PNG, 0 or 255, white = defect) at the
registered image's size, with the region's defect type, area and bounding box.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


def _annotation_mask_path(region: AnnotationRegion, filename: str) -> str:
    annotation = region.annotation
    return f"products/{annotation.image.product_id}/annotations/{annotation.image_id}/{filename}"


class DefectType(models.Model):
    """A kind of defect of one product (scratch, dent...), with the colour it is drawn in."""

    product = models.ForeignKey("inspection.Product", on_delete=models.CASCADE, related_name="defect_types")
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=7)  # "#rrggbb"
    # Place in the review queue's hotkeys 1-9, as the engineer ordered them; a type added later has
    # none and comes after all others, so adding one never renumbers the keys people learned.
    position = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "name"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="defect_type_unique_name_per_product"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.product_id})"


class Annotation(models.Model):
    """One revision of an image's annotation; the highest revision is the current one."""

    class Source(models.TextChoices):
        DRAWN = "drawn"  # saved from the editor or the API
        GROUND_TRUTH = "ground_truth"  # the mask an imported data set came with, aligned
        RESTORED = "restored"  # a copy of an earlier revision

    image = models.ForeignKey("inspection.Image", on_delete=models.CASCADE, related_name="annotations")
    revision = models.PositiveIntegerField()
    note = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.DRAWN)
    restored_from = models.PositiveIntegerField(null=True, blank=True)
    # The product's registration revision the masks were drawn in: after the
    # reference changes, the registered frame moves and old masks no longer fit.
    registration_revision = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["image", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["image", "revision"], name="annotation_unique_revision"),
            models.CheckConstraint(condition=Q(revision__gte=1), name="annotation_revision_from_1"),
        ]

    def __str__(self) -> str:
        return f"annotation r{self.revision} of image {self.image_id}"


class AnnotationRegion(models.Model):
    """One defect region of an annotation revision: a binary mask in the registered frame."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="regions")
    # RESTRICT rather than PROTECT: a defect type in use cannot be deleted on
    # its own, but deleting the whole product (which cascades to both the
    # regions and the types) must still work, which PROTECT would refuse.
    defect_type = models.ForeignKey(DefectType, on_delete=models.RESTRICT, related_name="regions")
    mask = models.FileField(upload_to=_annotation_mask_path, max_length=500)
    area = models.PositiveIntegerField()  # defect pixels
    bbox_x = models.PositiveIntegerField()
    bbox_y = models.PositiveIntegerField()
    bbox_width = models.PositiveIntegerField()
    bbox_height = models.PositiveIntegerField()

    class Meta:
        ordering = ["annotation", "id"]

    def __str__(self) -> str:
        return f"region {self.pk} of annotation {self.annotation_id} ({self.area} px)"

    @property
    def bbox(self) -> list[int]:
        return [self.bbox_x, self.bbox_y, self.bbox_width, self.bbox_height]


class PixelEvaluation(models.Model):
    """How well a model version's anomaly maps outline the annotated defects (one per version).

    Computed on the version's evaluation images that carry an annotation with
    regions, plus its normal evaluation images (all-zero masks). `regions`
    keeps, per annotated region, its image's score and the highest map value
    inside it, so that detection at the version's current operating point is
    worked out when read, without recomputing maps. `annotation_revisions`
    ({image id: revision, 0 = none}) records what was used: any change makes
    the evaluation stale.
    """

    version = models.OneToOneField("inspection.ModelVersion", on_delete=models.CASCADE, related_name="pixel_evaluation")
    # The latest job that (re)computes it; None when training computed it.
    job = models.ForeignKey("inspection.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    pixel_auroc = models.FloatField(null=True, blank=True)
    # Smallest map value exceeded by at most 1% of the normal evaluation images' pixels.
    pixel_threshold = models.FloatField(null=True, blank=True)
    n_images = models.PositiveIntegerField(default=0)
    n_annotated_images = models.PositiveIntegerField(default=0)
    n_normal_images = models.PositiveIntegerField(default=0)
    # [{image, revision, region, defect_type, defect_type_name, color, area, max_value, image_score}]
    regions = models.JSONField(default=list, blank=True)
    annotation_revisions = models.JSONField(default=dict, blank=True)
    # Why a number is missing (no annotated images, no normal images...), in words.
    note = models.TextField(blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"pixel evaluation of version {self.version_id}"
