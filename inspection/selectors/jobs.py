from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from inspection.errors import InvalidInput
from inspection.models import Job


def job_list(*, product_id: int | None = None, status: str | None = None, kind: str | None = None) -> QuerySet[Job]:
    """Jobs, newest first, optionally for one product, in one status or of one kind."""
    jobs = Job.objects.select_related("product", "created_by").order_by("-created_at", "-id")
    if product_id is not None:
        jobs = jobs.filter(product_id=product_id)
    if status:
        if status not in Job.Status.values:
            raise InvalidInput(f"status must be one of {', '.join(Job.Status.values)}, not {status!r}.")
        jobs = jobs.filter(status=status)
    if kind:
        if kind not in Job.Kind.values:
            raise InvalidInput(f"kind must be one of {', '.join(Job.Kind.values)}, not {kind!r}.")
        jobs = jobs.filter(kind=kind)
    return jobs


def job_latest(*, product_id: int, kind: str | None = None) -> Job | None:
    """The product's newest job (of one kind), or None."""
    return job_list(product_id=product_id, kind=kind).first()


def job_get(*, job_id: int) -> Job:
    return get_object_or_404(Job.objects.select_related("product", "created_by"), pk=job_id)
