"""Defect types and annotation revisions: everything that writes them.

Saving never overwrites: each save adds revision current + 1 with its own
mask files, and a client that started from an older revision than the
current one is refused with Conflict (someone else saved in between; the
client reloads, nothing is lost). Mask files are written before the rows
that point at them and deleted again if the rows are not committed, so a
stored region always has its file and a refused save leaves no file behind.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max

from inspection.errors import Conflict, InvalidInput
from inspection.lib.mask_png import mask_area_and_bbox, mask_decode, mask_encode, mask_read, registered_size
from inspection.models import Annotation, AnnotationRegion, DefectType, Image, Product

logger = logging.getLogger(__name__)

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Colours given to defect types created without one (ground-truth imports):
# distinct from each other and from the heatmap's palette.
PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#469990",
    "#9a6324",
    "#800000",
    "#000075",
)
DEFAULT_DEFECT_TYPE = "defect"


@dataclass(frozen=True)
class RegionInput:
    """One region as a client sent it: a defect type id and the PNG bytes of its mask."""

    defect_type: int
    mask: bytes
    name: str  # the file field it came in, for messages


# ----------------------------------------------------------------- defect types


def defect_type_create(*, product: Product, name: str, color: str) -> DefectType:
    name, color = _checked_name(name), _checked_color(color)
    if DefectType.objects.filter(product=product, name=name).exists():
        raise InvalidInput(f"The product already has a defect type named {name!r}.")
    try:
        with transaction.atomic():
            return DefectType.objects.create(product=product, name=name, color=color)
    except IntegrityError:  # created by another request at the same moment
        raise InvalidInput(f"The product already has a defect type named {name!r}.") from None


def defect_type_update(*, defect_type: DefectType, data: dict) -> DefectType:
    unknown = set(data) - {"name", "color"}
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    if "name" in data:
        name = _checked_name(data["name"])
        duplicate = DefectType.objects.filter(product_id=defect_type.product_id, name=name).exclude(pk=defect_type.pk)
        if duplicate.exists():
            raise InvalidInput(f"The product already has a defect type named {name!r}.")
        defect_type.name = name
    if "color" in data:
        defect_type.color = _checked_color(data["color"])
    try:
        with transaction.atomic():
            defect_type.save(update_fields=["name", "color"])
    except IntegrityError:
        raise InvalidInput(f"The product already has a defect type named {defect_type.name!r}.") from None
    return defect_type


def defect_type_delete(*, defect_type: DefectType) -> None:
    """Delete an unused defect type; Conflict when any region (in any revision) uses it."""
    used = AnnotationRegion.objects.filter(defect_type=defect_type).count()
    if used:
        raise Conflict(
            f"Defect type {defect_type.name!r} is used by {used} annotated region(s), counting earlier revisions; "
            "it cannot be deleted. Rename it, or redraw those regions with another type first.",
            details={"region_count": used},
        )
    defect_type.delete()


def defect_type_get_or_create(*, product: Product, name: str) -> DefectType:
    """The product's defect type `name`, created with the next palette colour when missing."""
    name = _checked_name(name or DEFAULT_DEFECT_TYPE)
    existing = DefectType.objects.filter(product=product, name=name).first()
    if existing is not None:
        return existing
    used = set(DefectType.objects.filter(product=product).values_list("color", flat=True))
    count = DefectType.objects.filter(product=product).count()
    color = next((color for color in PALETTE if color not in used), PALETTE[count % len(PALETTE)])
    try:
        with transaction.atomic():
            return DefectType.objects.create(product=product, name=name, color=color)
    except IntegrityError:
        return DefectType.objects.get(product=product, name=name)


def defect_types_import(*, product: Product, entries) -> list[DefectType]:
    """Create the listed defect types ([{"name", "color"}]) the product lacks; existing ones are kept as they are."""
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise InvalidInput('defect types must be a list of {"name": ..., "color": "#rrggbb"}.')
    checked = [(_checked_name(entry.get("name")), _checked_color(entry.get("color"))) for entry in entries]
    created = []
    for name, color in checked:
        if not DefectType.objects.filter(product=product, name=name).exists():
            created.append(defect_type_create(product=product, name=name, color=color))
    return created


def _checked_name(name) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise InvalidInput("A defect type needs a name.")
    if len(name) > 100:
        raise InvalidInput("A defect type's name can have at most 100 characters.")
    return name


def _checked_color(color) -> str:
    if not isinstance(color, str) or not _COLOR.match(color.strip()):
        raise InvalidInput(f"color must be written #rrggbb (for example #e6194b), not {color!r}.")
    return color.strip().lower()


# ------------------------------------------------------------------ annotations


def annotation_save(
    *, image: Image, base_revision: int, regions: list[RegionInput], note: str = "", created_by=None
) -> Annotation:
    """Check every mask, then store them as a new revision on top of `base_revision`.

    An empty `regions` list is a valid save: it clears the annotation (as a
    new revision, so the earlier one can still be restored).
    """
    width, height = _registered_size_or_conflict(image)
    types = {defect_type.pk: defect_type for defect_type in DefectType.objects.filter(product_id=image.product_id)}
    masks: list[tuple[DefectType, np.ndarray]] = []
    for index, region in enumerate(regions):
        defect_type = types.get(region.defect_type)
        if defect_type is None:
            raise InvalidInput(
                f"Region {index + 1}: defect type {region.defect_type!r} is not a defect type of this product."
            )
        mask = mask_decode(data=region.mask, name=region.name, width=width, height=height)
        if not mask.any():
            raise InvalidInput(f"Mask {region.name!r} (region {index + 1}) is empty: it has no white (defect) pixel.")
        masks.append((defect_type, mask))
    return _store_revision(
        image=image,
        base_revision=base_revision,
        masks=masks,
        note=note,
        created_by=created_by,
        source=Annotation.Source.DRAWN,
    )


def annotation_restore(*, image: Image, revision: int, created_by=None) -> Annotation:
    """A new revision with copies of revision `revision`'s regions (the later revisions stay as they are)."""
    _registered_size_or_conflict(image)
    source = Annotation.objects.filter(image=image, revision=revision).first()
    if source is None:
        raise InvalidInput(f"Image {image.pk} has no annotation revision {revision}.")
    masks = []
    for region in source.regions.select_related("defect_type").order_by("id"):
        try:
            masks.append((region.defect_type, mask_read(region.mask)))
        except (OSError, ValueError) as error:
            raise Conflict(f"The mask of a region of revision {revision} cannot be read ({error}).") from None
    return _store_revision(
        image=image,
        base_revision=None,
        masks=masks,
        note=f"Restored revision {revision}.",
        created_by=created_by,
        source=Annotation.Source.RESTORED,
        restored_from=revision,
        registration_revision=source.registration_revision,
    )


def annotation_from_ground_truth(*, image: Image, mask: np.ndarray) -> Annotation | None:
    """Save a ground-truth mask (already in the registered frame) as a new revision.

    One region per connected component (8-connectivity), all of the image's
    defect type (created on the fly when the product lacks it). An all-black
    mask saves nothing. Called by the registration job; the job may run again
    after a worker died, so a mask already saved for this frame is not saved twice.
    """
    import cv2

    binary = (np.asarray(mask) != 0).astype(np.uint8)
    if not binary.any():
        return None
    current = Annotation.objects.filter(image=image).order_by("-revision").first()
    registration_revision = _product_registration_revision(image)
    if current is not None and (
        current.source != Annotation.Source.GROUND_TRUTH or current.registration_revision == registration_revision
    ):
        # A person's work is never replaced by the imported mask.
        return None
    defect_type = defect_type_get_or_create(product=image.product, name=image.defect_type)
    count, labels = cv2.connectedComponents(binary, connectivity=8)
    masks = [(defect_type, labels == label) for label in range(1, count)]
    note = "Ground-truth mask of the imported data set, aligned to the reference."
    return _store_revision(
        image=image, base_revision=None, masks=masks, note=note, created_by=None, source=Annotation.Source.GROUND_TRUTH
    )


def _registered_size_or_conflict(image: Image) -> tuple[int, int]:
    if image.registration_status != Image.RegistrationStatus.REGISTERED or not image.aligned_file:
        raise Conflict(
            f"Image {image.pk} is not aligned to the reference ({image.registration_status}); "
            "only aligned images can be annotated."
        )
    try:
        return registered_size(image)
    except (OSError, ValueError) as error:
        raise Conflict(f"The aligned copy of image {image.pk} cannot be read ({error}).") from None


def _product_registration_revision(image: Image) -> int:
    return Product.objects.filter(pk=image.product_id).values_list("registration_revision", flat=True).first() or 0


def _store_revision(
    *,
    image: Image,
    base_revision: int | None,
    masks: list,
    note: str,
    created_by,
    source: str,
    restored_from: int | None = None,
    registration_revision: int | None = None,
) -> Annotation:
    if registration_revision is None:
        registration_revision = _product_registration_revision(image)
    field = AnnotationRegion._meta.get_field("mask")
    written: list[str] = []
    try:
        with transaction.atomic():
            # Locking the image serialises saves of one image (PostgreSQL); the
            # unique (image, revision) constraint catches the rest.
            Image.objects.select_for_update().filter(pk=image.pk).first()
            current = Annotation.objects.filter(image=image).aggregate(top=Max("revision"))["top"] or 0
            if base_revision is not None and base_revision != current:
                raise _stale(image, base_revision, current)
            annotation = Annotation.objects.create(
                image=image,
                revision=current + 1,
                note=note or "",
                created_by=created_by,
                source=source,
                restored_from=restored_from,
                registration_revision=registration_revision,
            )
            rows = []
            for index, (defect_type, mask) in enumerate(masks):
                area, (x, y, width, height) = mask_area_and_bbox(mask)
                region = AnnotationRegion(
                    annotation=annotation,
                    defect_type=defect_type,
                    area=area,
                    bbox_x=x,
                    bbox_y=y,
                    bbox_width=width,
                    bbox_height=height,
                )
                name = field.generate_filename(region, f"r{annotation.revision}-{index + 1}-{uuid.uuid4().hex[:8]}.png")
                stored = field.storage.save(name, ContentFile(mask_encode(mask)))
                written.append(stored)
                region.mask = stored
                rows.append(region)
            AnnotationRegion.objects.bulk_create(rows)
    except IntegrityError:
        _delete_files(written)
        current = Annotation.objects.filter(image=image).aggregate(top=Max("revision"))["top"] or 0
        raise _stale(image, base_revision, current) from None
    except BaseException:
        _delete_files(written)
        raise
    return annotation


def _stale(image: Image, base_revision: int | None, current: int) -> Conflict:
    return Conflict(
        f"The annotation of image {image.pk} changed meanwhile: you started from revision {base_revision}, "
        f"the current one is {current}. Nothing was lost; reload the annotation and apply your change again.",
        details={"current_revision": current},
    )


def _delete_files(names: list[str]) -> None:
    if not names:
        return
    storage = AnnotationRegion._meta.get_field("mask").storage
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("could not delete the mask file %s of a refused save", name)


def annotation_mask_names(*, images) -> list[str]:
    """Names of every stored mask of these images' annotations (all revisions), to delete with them."""
    return list(
        AnnotationRegion.objects.filter(annotation__image__in=images).exclude(mask="").values_list("mask", flat=True)
    )
