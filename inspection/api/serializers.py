"""How products, images and jobs look in API responses (output only)."""

from rest_framework import serializers

from inspection.models import Image, Job, Product


class JobOutputSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Job
        fields = (
            "id",
            "kind",
            "product",
            "status",
            "progress",
            "stage",
            "message",
            "error",
            "cancel_requested",
            "attempts",
            "worker",
            "celery_task_id",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        )
        read_only_fields = fields


class ProductOutputSerializer(serializers.ModelSerializer):
    image_count = serializers.IntegerField(read_only=True, default=0)
    registered_count = serializers.IntegerField(read_only=True, default=0)
    registration_failed_count = serializers.IntegerField(read_only=True, default=0)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Product
        fields = (
            "id",
            "name",
            "description",
            "reference_image",
            "reference_checksum",
            "registration_settings",
            "registration_revision",
            "thresholds",
            "active_version",
            "image_count",
            "registered_count",
            "registration_failed_count",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class ImageOutputSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Image
        fields = (
            "id",
            "product",
            "original_name",
            "file",
            "checksum",
            "width",
            "height",
            "label",
            "defect_type",
            "split",
            "mask_file",
            "registration_status",
            "registration_quality",
            "registration_failure_reason",
            "aligned_file",
            "thumbnail",
            "aligned_thumbnail",
            "uploaded_by",
            "uploaded_at",
        )
        read_only_fields = fields


class DuplicateSerializer(serializers.Serializer):
    name = serializers.CharField()
    existing_image_id = serializers.IntegerField()


class RefusedFileSerializer(serializers.Serializer):
    name = serializers.CharField()
    reason = serializers.CharField()


class UploadReportSerializer(serializers.Serializer):
    detail = serializers.CharField()
    created_count = serializers.IntegerField()
    created = ImageOutputSerializer(many=True)
    duplicates = DuplicateSerializer(many=True)
    invalid = RefusedFileSerializer(many=True)
    skipped = RefusedFileSerializer(many=True)
    job = JobOutputSerializer(allow_null=True)


class ProductWithJobSerializer(serializers.Serializer):
    product = ProductOutputSerializer()
    job = JobOutputSerializer(allow_null=True)
