"""Creating, changing and deleting products, and choosing their reference image."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from inspection.engine.errors import EngineError, ImageError
from inspection.engine.registration.auto import SUGGESTED
from inspection.errors import Conflict, InvalidInput
from inspection.models import Image, Job, Product
from inspection.services.annotations import annotation_mask_names
from inspection.services.registration import registration_fit, registration_settings_check, registration_start
from inspection.services.uploads import image_bytes_check

_EDITABLE_FIELDS = ("name", "description", "registration_settings", "thresholds")


def product_create(
    *,
    name: str,
    created_by=None,
    description: str = "",
    registration_settings: dict | None = None,
    thresholds: dict | None = None,
    reference_image=None,
) -> Product:
    """Create a product; with `reference_image` (an uploaded file) it is set as well."""
    product = Product(
        name=_clean_name(name),
        description=description,
        registration_settings=registration_settings_check(registration_settings=registration_settings or {}),
        thresholds=_checked_thresholds(thresholds or {}),
        created_by=created_by,
    )
    with transaction.atomic():
        _save_unique(product)
        if reference_image is not None:
            product_set_reference_image(product=product, file=reference_image, set_by=created_by)
    return product


def product_update(*, product: Product, data: dict, updated_by=None) -> Product:
    """Change the fields in `data`; new registration settings re-align every image.

    Except when they only save the suggested region the images are already
    aligned with (the panel's Accept): the report then stays current, the
    region becomes the product's own, and no image is aligned again.
    """
    unknown = set(data) - set(_EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    realign = False
    if "name" in data:
        product.name = _clean_name(data["name"])
    if "description" in data:
        product.description = data["description"] or ""
    if "thresholds" in data:
        product.thresholds = _checked_thresholds(data["thresholds"])
    if "registration_settings" in data:
        config = registration_settings_check(registration_settings=data["registration_settings"])
        realign = config != product.registration_settings
        if realign and _confirms_region_in_force(product, config):
            # Accepting the suggested region changes nothing the images were aligned with:
            # the report stays current (its region now saved) and no image is aligned again.
            realign = False
            report = product.registration_report
            product.registration_report = {
                **report,
                "requested_settings": config,
                "settings": {**report["settings"], "roi": config["roi"]},
                "region": {**report["region"], "source": "saved", "why": "suggested, then accepted as it was in force"},
            }
        product.registration_settings = config
        if realign and product.reference_image:
            # A region of interest that does not fit the reference is refused now,
            # not discovered later by the job.
            _fit_or_refuse(product, None)
    with transaction.atomic():
        _save_unique(product)
        if realign:
            registration_start(product=product, started_by=updated_by, reset="all")
    product.refresh_from_db()
    return product


def _confirms_region_in_force(product: Product, config: dict) -> bool:
    """Whether `config` only saves, as the product's own, the suggested region its images are aligned with."""
    if not product.registration_report_is_current:
        return False
    report = product.registration_report
    if (report.get("region") or {}).get("source") != SUGGESTED or product.registration_settings.get("roi") is not None:
        return False
    unchanged = _without_region(config) == _without_region(product.registration_settings)
    # The region in force is the one the registrar cropped to (the whole frame when its setting was None).
    roi = config.get("roi")
    return unchanged and isinstance(roi, list) and roi == report["region"].get("roi")


def _without_region(settings: dict) -> dict:
    return {key: value for key, value in settings.items() if key != "roi"}


def product_delete(*, product: Product) -> None:
    """Delete the product with its images, jobs, model versions, inspections and stored files."""
    names = [product.reference_image.name] if product.reference_image else []
    for image in product.images.all().only(
        "file", "aligned_file", "aligned_valid_mask", "mask_file", "thumbnail", "aligned_thumbnail"
    ):
        names += [stored.name for stored in image.stored_files() if stored]
    names += annotation_mask_names(images=product.images.all())
    for inspection in product.inspections.all().only(
        "source_file", "registered_file", "registered_valid_mask", "anomaly_map", "reconstruction_file"
    ):
        stored_files = (
            inspection.source_file,
            inspection.registered_file,
            inspection.registered_valid_mask,
            inspection.anomaly_map,
            inspection.reconstruction_file,
        )
        names += [stored.name for stored in stored_files if stored]
    names += [name for name in product.model_versions.exclude(bundle="").values_list("bundle", flat=True)]
    storage = Product._meta.get_field("reference_image").storage
    with transaction.atomic():
        # A running job notices at its next progress report that its row is gone.
        Job.objects.filter(product=product, status__in=Job.ACTIVE_STATUSES).update(cancel_requested=True)
        product.delete()
        transaction.on_commit(lambda: [storage.delete(name) for name in names])


def product_set_reference_image(*, product: Product, file=None, image: Image | None = None, set_by=None) -> Job | None:
    """Make an uploaded file, or one of the product's images, the reference; re-align every image.

    Returns the registration job that was queued.
    """
    if (file is None) == (image is None):
        raise InvalidInput("Give either a reference image file or the id of one of the product's images.")
    if image is not None:
        if image.product_id != product.pk:
            raise InvalidInput(f"Image {image.pk} does not belong to product {product.pk}.")
        name = image.original_name
        with image.file.open("rb") as handle:
            data = handle.read()
    else:
        name = getattr(file, "name", "") or "reference image"
        data = file.read()
    try:
        checked = image_bytes_check(data=data, name=name)
    except ImageError as error:
        raise InvalidInput(f"{name}: {error.reason}.") from None
    _fit_or_refuse(product, data)
    checksum = hashlib.sha256(data).hexdigest()
    previous = product.reference_image.name if product.reference_image else ""
    storage = Product._meta.get_field("reference_image").storage
    with transaction.atomic():
        if checksum != product.reference_checksum or not previous:
            product.reference_image.save(f"{checksum}{checked.extension}", ContentFile(data), save=False)
            product.reference_checksum = checksum
            product.save(update_fields=["reference_image", "reference_checksum", "updated_at"])
            if previous and previous != product.reference_image.name:
                transaction.on_commit(lambda: storage.delete(previous))
        return registration_start(product=product, started_by=set_by, reset="all")


def _fit_or_refuse(product: Product, reference_bytes: bytes | None) -> None:
    try:
        registration_fit(product=product, reference_bytes=reference_bytes)
    except (EngineError, ValueError) as error:
        raise InvalidInput(f"The reference image cannot be used with these registration settings: {error}") from None


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("A product needs a name.")
    return name


def _checked_thresholds(thresholds) -> dict:
    if not isinstance(thresholds, dict):
        raise InvalidInput('thresholds must be an object such as {"image": 0.5}.')
    return thresholds


def _save_unique(product: Product) -> None:
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise Conflict(f"A product named {product.name!r} already exists.") from None
