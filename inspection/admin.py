from django.contrib import admin

from inspection.models import Image, Job, Product


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
