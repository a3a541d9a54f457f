from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from inspection.api.pagination import StandardPagination
from inspection.api.parameters import query_id
from inspection.api.serializers import JobOutputSerializer
from inspection.models import Job
from inspection.selectors.jobs import job_get, job_list
from inspection.services.jobs import job_cancel


class JobListApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("product", int),
            OpenApiParameter("status", enum=Job.Status.values),
            OpenApiParameter("kind", enum=Job.Kind.values),
        ],
        responses=JobOutputSerializer(many=True),
    )
    def get(self, request):
        jobs = job_list(
            product_id=query_id(request, "product", what="a product id"),
            status=request.query_params.get("status"),
            kind=request.query_params.get("kind"),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)


class JobDetailApi(APIView):
    @extend_schema(responses=JobOutputSerializer)
    def get(self, request, job_id: int):
        return Response(JobOutputSerializer(job_get(job_id=job_id)).data)


class JobCancelApi(APIView):
    """Ask a job to stop: a queued job is cancelled at once, a running one at its next step."""

    @extend_schema(request=None, responses={202: JobOutputSerializer, 409: None})
    def post(self, request, job_id: int):
        job = job_cancel(job=job_get(job_id=job_id))
        return Response(JobOutputSerializer(job).data, status=202)
