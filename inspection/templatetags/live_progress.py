"""Filters for the live-progress partials: numbers as people read them, and data for the loss chart."""

from __future__ import annotations

import json
import math

from django import template

from inspection.models import ModelVersion
from inspection.web.common import number

register = template.Library()


@register.filter
def significant(value) -> str:
    """A loss or score with four significant digits ("0.01234"), or a dash when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    try:
        return number(float(value))
    except (TypeError, ValueError):
        return "–"


@register.filter
def finite_json(values) -> str:
    """The finite numbers of a list as a JSON array, for a chart drawn in the browser."""
    finite = []
    for value in values or []:
        if isinstance(value, (int, float)) and math.isfinite(value):
            finite.append(value)
    return json.dumps(finite)


@register.filter
def is_training(version) -> bool:
    """Whether a model version is still queued or training, so that its progress is still worth asking for."""
    return version.status in ModelVersion.ACTIVE_STATUSES
