"""Reads for the live parts of the pages, which a page asks for every second while a job runs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from inspection.models import Job


def job_live_get(*, job_id: int) -> Job:
    """The job with who started it, in one query; Http404 if there is none."""
    return get_object_or_404(Job.objects.select_related("product", "created_by"), pk=job_id)
