"""A model version as an archive for the stand-alone runtime (``python -m inspection.runtime``).

POST builds it in a background job (202 with the job; 200 when it is kept
already); GET downloads it once built.
"""

from django.core.files.storage import default_storage
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.serializers import JobOutputSerializer
from inspection.errors import Conflict
from inspection.models import Job
from inspection.selectors.model_versions import model_version_get
from inspection.selectors.products import product_get
from inspection.services.model_exports import export_file_name, model_export_start, model_export_state

ExportOutputSerializer = inline_serializer(
    "ModelExportOutput",
    {
        "ready": serializers.BooleanField(help_text="The archive is built: GET the download address."),
        "download": serializers.CharField(),
        "job": JobOutputSerializer(allow_null=True, help_text="The job building it, or the latest one."),
    },
)


class ModelVersionExportApi(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(description="Runtime archive (ONNX graphs, arrays)."),
            409: OpenApiResponse(description="Not built yet (POST first), being built, or the export failed."),
        },
        description=(
            "The version as a self-contained archive: the networks as ONNX graphs, the learned arrays, the "
            "registration reference and settings, the operating point in force and checksummed metadata. "
            "Run it on a PC without the platform: python -m inspection.runtime ARCHIVE IMAGES... "
            "Available once built by POST to this address (a new operating point needs a new archive); "
            "until then 409, with the export job if there is one."
        ),
    )
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        state = model_export_state(version=version)
        if state.archive is None:
            job = state.job
            if state.building:
                message = f"The archive of version {version.number} is being built (job {job.pk}): try again then."
            elif job is not None and job.status == Job.Status.FAILED:
                message = f"The last export of version {version.number} failed: {job.error} POST to try again."
            else:
                message = f"No archive of version {version.number} is built for its operating point: POST first."
            raise Conflict(message, details={"job": JobOutputSerializer(job).data if job else None})
        return FileResponse(
            default_storage.open(state.archive, "rb"),
            as_attachment=True,
            filename=export_file_name(version=version),
            content_type="application/zip",
        )

    @extend_schema(
        request=None,
        responses={200: ExportOutputSerializer, 202: ExportOutputSerializer, 409: None},
        description=(
            "Build the version's archive in a background job (engine queue): 202 with the job, which is the "
            "running one if an export is under way. 200 when the archive is kept already; then GET downloads it. "
            "A refusal (a model that cannot be exported, e.g. one that runs in bfloat16) ends the job failed, "
            "with the reason as its error."
        ),
    )
    def post(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        state = model_export_start(version=version, started_by=request.user)
        body = {
            "ready": state.archive is not None,
            "download": reverse("model-version-export", args=[version.product_id, version.pk]),
            "job": JobOutputSerializer(state.job).data if state.job else None,
        }
        return Response(body, status=200 if state.archive is not None else 202)
