from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from inspection.models import Image, Product
from inspection.errors import InvalidInput

_FILTERS = {
    "label": Image.Label.values,
    "split": Image.Split.values,
    "registration_status": Image.RegistrationStatus.values,
}


def image_list(*, product: Product, filters: dict | None = None) -> QuerySet[Image]:
    """The product's images, optionally narrowed by label, split, registration status or defect type.

    An unknown filter value is refused rather than silently matching nothing.
    """
    images = Image.objects.filter(product=product).order_by("id")
    for name, value in (filters or {}).items():
        if value in (None, ""):
            continue
        if name == "defect_type":
            images = images.filter(defect_type=value)
            continue
        if name not in _FILTERS:
            raise InvalidInput(f"Cannot filter images by {name!r}.")
        if value not in _FILTERS[name]:
            raise InvalidInput(f"{name} must be one of {', '.join(_FILTERS[name])}, not {value!r}.")
        images = images.filter(**{name: value})
    return images


def image_get(*, product: Product, image_id: int) -> Image:
    return get_object_or_404(Image, product=product, pk=image_id)
