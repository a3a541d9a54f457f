"""Download of a model version as an archive for the stand-alone runtime (``python -m inspection.runtime``)."""

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.views import APIView

from inspection.selectors.model_versions import model_version_get
from inspection.selectors.products import product_get
from inspection.services.model_exports import export_file_name, model_version_export


class ModelVersionExportApi(APIView):
    @extend_schema(
        responses={(200, "application/zip"): OpenApiResponse(description="Runtime archive (ONNX graphs, arrays).")},
        description=(
            "The version as a self-contained archive: the networks as ONNX graphs, the learned arrays, the "
            "registration reference and settings, the operating point in force and checksummed metadata. "
            "Run it on a PC without the platform: python -m inspection.runtime ARCHIVE IMAGES..."
        ),
    )
    def get(self, request, product_id: int, version_id: int):
        version = model_version_get(product=product_get(product_id=product_id), version_id=version_id)
        path = model_version_export(version=version)
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=export_file_name(version=version),
            content_type="application/zip",
        )
