"""Labelling, assigning and deleting images once they are stored."""

from __future__ import annotations

import copy

from django.db import transaction

from inspection.audit import record_bulk_update
from inspection.errors import InvalidInput
from inspection.models import Image, Product
from inspection.services.annotations import annotation_mask_names

_EDITABLE_FIELDS = ("label", "split", "defect_type")


def image_update(*, image: Image, data: dict) -> Image:
    """Change label, split and/or defect type of one image."""
    changes = _checked_changes(data)
    for name, value in changes.items():
        setattr(image, name, value)
    _keep_defect_type_consistent(image, changes)
    image.save(update_fields=list(_EDITABLE_FIELDS))
    return image


def image_bulk_update(*, product: Product, image_ids: list[int], data: dict) -> int:
    """Apply the same change to many images of one product; all or none. Returns the count."""
    changes = _checked_changes(data)
    if not image_ids:
        raise InvalidInput("Give at least one image id.")
    wanted = set(image_ids)
    with transaction.atomic():
        images = list(Image.objects.select_for_update().filter(product=product, pk__in=wanted))
        missing = wanted - {image.pk for image in images}
        if missing:
            raise InvalidInput(
                f"These images do not belong to product {product.pk}: {', '.join(map(str, sorted(missing)))}; "
                "nothing was changed."
            )
        originals = {image.pk: copy.copy(image) for image in images}
        for image in images:
            for name, value in changes.items():
                setattr(image, name, value)
            _keep_defect_type_consistent(image, changes)
        Image.objects.bulk_update(images, list(_EDITABLE_FIELDS))
        record_bulk_update(originals, images)
    return len(images)


def image_delete(*, image: Image) -> None:
    """Delete the image and, once that is committed, its stored files."""
    names = [stored.name for stored in image.stored_files() if stored]
    names += annotation_mask_names(images=[image])
    storage = Image._meta.get_field("file").storage
    with transaction.atomic():
        image.delete()
        transaction.on_commit(lambda: [storage.delete(name) for name in names])


def _checked_changes(data: dict) -> dict:
    unknown = set(data) - set(_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if not data:
        raise InvalidInput(f"Nothing to change: give one or more of {', '.join(_EDITABLE_FIELDS)}.")
    if "label" in data and data["label"] not in Image.Label.values:
        raise InvalidInput(f"label must be one of {', '.join(Image.Label.values)}, not {data['label']!r}.")
    if "split" in data and data["split"] not in Image.Split.values:
        raise InvalidInput(f"split must be one of {', '.join(Image.Split.values)}, not {data['split']!r}.")
    if "defect_type" in data:
        data = {**data, "defect_type": (data["defect_type"] or "").strip()}
    return data


def _keep_defect_type_consistent(image: Image, changes: dict) -> None:
    # A defect type only describes a defective part: giving one to another
    # image is a mistake, and relabelling an image as normal drops it.
    if image.label == Image.Label.DEFECTIVE or not image.defect_type:
        return
    if changes.get("defect_type"):
        raise InvalidInput(
            f"Image {image.pk} is labelled {image.label}; only a defective image can have a defect type."
        )
    image.defect_type = ""
