from django.contrib import admin

from inspection.models import Annotation, AnnotationRegion, DefectType, Image, Job, PixelEvaluation, Product


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
    readonly_fields = ("image", "revision", "source", "restored_from", "registration_revision", "created_by",
                       "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(PixelEvaluation)
class PixelEvaluationAdmin(admin.ModelAdmin):
    list_display = ("version", "pixel_auroc", "pixel_threshold", "n_images", "computed_at")
    # Computed by the training or a pixel evaluation job.
    readonly_fields = [field.name for field in PixelEvaluation._meta.fields]

    def has_add_permission(self, request):
        return False
