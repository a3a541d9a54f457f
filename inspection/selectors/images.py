from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from inspection.errors import InvalidInput
from inspection.models import Image, Product

_FILTERS = {
    "label": Image.Label.values,
    "split": Image.Split.values,
    "registration_status": Image.RegistrationStatus.values,
}


def image_list(*, product: Product, filters: dict | None = None) -> QuerySet[Image]:
    """The product's images, optionally narrowed by label, split, registration status or defect type.

    An unknown filter value is refused rather than silently matching nothing.
    """
    images = Image.objects.filter(product=product).select_related("uploaded_by").order_by("id")
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


def image_find(*, product: Product, image_id: int) -> Image | None:
    """The product's image `image_id`, or None when the product has no such image."""
    return Image.objects.filter(product=product, pk=image_id).first()


def image_list_by_ids(*, product: Product, image_ids) -> list[Image]:
    """Those of the images `image_ids` that belong to the product, by id."""
    return list(image_list(product=product).filter(pk__in=list(image_ids)))


def image_defect_type_names(*, product: Product) -> list[str]:
    """The defect types written on the product's images, sorted, each once."""
    return sorted(
        set(
            Image.objects.filter(product=product)
            .exclude(defect_type="")
            .order_by()
            .values_list("defect_type", flat=True)
            .distinct()
        )
    )


def image_aligned_neighbours(*, image: Image) -> tuple[Image | None, Image | None]:
    """The product's aligned images just before and just after `image` (by id), to go through them in turn."""
    aligned = Image.objects.filter(
        product_id=image.product_id, registration_status=Image.RegistrationStatus.REGISTERED
    ).exclude(aligned_file="")
    previous = aligned.filter(pk__lt=image.pk).order_by("-id").first()
    following = aligned.filter(pk__gt=image.pk).order_by("id").first()
    return previous, following


def image_training_counts(*, product: Product) -> dict[str, int]:
    """How many of the product's images a training would use now, and how many it would not, in one query.

    {train: aligned normal train images, train_not_aligned: normal train images
     not aligned, eval_normal / eval_defective: aligned validation and test
     images of each label, unlabelled: images of unknown label}
    """
    registered = Q(registration_status=Image.RegistrationStatus.REGISTERED)
    normal_train = Q(label=Image.Label.NORMAL, split=Image.Split.TRAIN)
    evaluation = Q(split__in=(Image.Split.VALIDATION, Image.Split.TEST))
    return Image.objects.filter(product=product).aggregate(
        train=Count("id", filter=normal_train & registered),
        train_not_aligned=Count("id", filter=normal_train & ~registered),
        eval_normal=Count("id", filter=evaluation & registered & Q(label=Image.Label.NORMAL)),
        eval_defective=Count("id", filter=evaluation & registered & Q(label=Image.Label.DEFECTIVE)),
        unlabelled=Count("id", filter=Q(label=Image.Label.UNKNOWN)),
    )
