from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin

from inspection.models import (
    Activation,
    Annotation,
    AnnotationRegion,
    DefectType,
    DriftWarning,
    EvaluationScore,
    Image,
    Inspection,
    InspectionCount,
    InspectionCountProgress,
    Job,
    ModelVersion,
    ModelVersionImage,
    PixelEvaluation,
    Product,
    ReviewItem,
    Role,
    ThresholdSetting,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at", "updated_at")
    search_fields = ("name", "description")
    # The reference image and registration settings decide how every image is
    # aligned; changing them goes through the API, which re-aligns the images.
    readonly_fields = (
        "reference_image",
        "reference_checksum",
        "registration_settings",
        "registration_revision",
        "created_at",
        "updated_at",
    )


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("original_name", "product", "label", "defect_type", "split", "registration_status")
    list_filter = ("product", "label", "split", "registration_status")
    search_fields = ("original_name", "checksum", "defect_type")
    # Files and checksums come from uploads and jobs; editing them by hand
    # would break de-duplication and alignment.
    readonly_fields = (
        "file",
        "checksum",
        "width",
        "height",
        "aligned_file",
        "registration_status",
        "registration_quality",
        "registration_failure_reason",
        "uploaded_by",
        "uploaded_at",
    )


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "product", "status", "progress", "created_at", "heartbeat_at")
    list_filter = ("kind", "status")
    # Jobs are written by workers only; the admin shows them.
    readonly_fields = [field.name for field in Job._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(DefectType)
class DefectTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "product", "color", "created_at")
    list_filter = ("product",)
    search_fields = ("name",)


class AnnotationRegionInline(admin.TabularInline):
    model = AnnotationRegion
    extra = 0
    # Masks are checked (size, binary, non-empty) by the annotation service;
    # a region edited here would skip those checks.
    readonly_fields = ("defect_type", "mask", "area", "bbox_x", "bbox_y", "bbox_width", "bbox_height")
    can_delete = False


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ("image", "revision", "source", "created_by", "created_at")
    list_filter = ("source", "image__product")
    inlines = (AnnotationRegionInline,)
    # Revisions are never edited: a change is a new revision (API or editor).
    readonly_fields = (
        "image",
        "revision",
        "source",
        "restored_from",
        "registration_revision",
        "created_by",
        "created_at",
    )

    def has_add_permission(self, request):
        return False


@admin.register(PixelEvaluation)
class PixelEvaluationAdmin(admin.ModelAdmin):
    list_display = ("version", "pixel_auroc", "pixel_threshold", "n_images", "computed_at")
    # Computed by the training or a pixel evaluation job.
    readonly_fields = [field.name for field in PixelEvaluation._meta.fields]

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never changed here: the app owns these writes and checks them (trainings, operating
    points, activations, inspections, reviews), and the audit log records them only through the app."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("product", "number", "method", "status", "created_by", "created_at")
    list_filter = ("status", "method", "product")


@admin.register(ModelVersionImage)
class ModelVersionImageAdmin(ReadOnlyAdmin):
    list_display = ("version", "role", "label", "checksum")
    list_filter = ("role", "label")


@admin.register(EvaluationScore)
class EvaluationScoreAdmin(ReadOnlyAdmin):
    list_display = ("version", "label", "score", "checksum")


@admin.register(ThresholdSetting)
class ThresholdSettingAdmin(ReadOnlyAdmin):
    list_display = ("product", "version", "threshold", "band_lower", "band_upper", "set_by", "set_at")
    list_filter = ("product",)


@admin.register(Activation)
class ActivationAdmin(ReadOnlyAdmin):
    list_display = ("product", "version", "previous_version", "forced", "activated_by", "activated_at")
    list_filter = ("product",)


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ("product", "original_name", "status", "decision", "score", "created_by", "created_at")
    list_filter = ("product", "status", "decision")
    search_fields = ("original_name", "checksum")


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("product", "inspection", "status", "decision", "decided_by", "decided_at")
    list_filter = ("product", "status", "decision")


@admin.register(DriftWarning)
class DriftWarningAdmin(ReadOnlyAdmin):
    list_display = ("product", "version", "psi", "limit", "started_at", "cleared_at", "sent_to_review")
    list_filter = ("product",)


@admin.register(InspectionCount)
class InspectionCountAdmin(ReadOnlyAdmin):
    list_display = ("product", "slot_start", "version", "decision", "parts")
    list_filter = ("product", "decision")


@admin.register(InspectionCountProgress)
class InspectionCountProgressAdmin(ReadOnlyAdmin):
    list_display = ("product", "counted_until")


@admin.register(AnnotationRegion)
class AnnotationRegionAdmin(ReadOnlyAdmin):
    list_display = ("annotation", "defect_type", "area")


@admin.register(Role)
class RoleAdmin(ReadOnlyAdmin):
    """The four roles and their permissions; who holds which is set on the Users page."""

    list_display = ("name",)
    filter_horizontal = ()

    def get_readonly_fields(self, request, obj=None):
        return ["name", "permissions"]


# auditlog's own admin lets a superuser delete entries; an audit log is not edited by anyone.
admin.site.unregister(LogEntry)


@admin.register(LogEntry)
class ImmutableLogEntryAdmin(LogEntryAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
