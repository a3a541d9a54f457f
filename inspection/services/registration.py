"""Aligning a product's images to its reference image, as a background job.

The job works through the product's pending images one at a time, so it can
stop cleanly between two images (cancel), resume after its worker died (the
redelivered job simply continues with what is still pending) and pick up
images uploaded while it runs. An image that cannot be aligned is kept and
marked failed with the engine's reason.
"""

from __future__ import annotations

import io
import logging
import math

import numpy as np
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from inspection.engine.data.imageio import decode_image_bytes
from inspection.engine.errors import EngineError, ImageError
from inspection.engine.registration.alignment import METHODS, MOTIONS, Registrar
from inspection.engine.registration.auto import AUTO, UNCHOSEN_METHOD, fit_registration
from inspection.errors import InvalidInput, ServiceError
from inspection.lib.mask_png import valid_mask_encode
from inspection.lib.numeric_arguments import numeric_arguments_check
from inspection.lib.png_files import image_png
from inspection.models import Image, Job, Product
from inspection.services.annotations import annotation_from_ground_truth
from inspection.services.job_runner import JobCancelled, JobFailed, job_heartbeat, job_run
from inspection.services.jobs import job_create, job_report_progress, job_succeed
from inspection.services.thumbnails import thumbnail_from_pixels

logger = logging.getLogger(__name__)

STAGE = "aligning images"
#: At most this many good training pictures choose and calibrate the registration (evenly spread, in upload
#: order); they are held decoded in memory while it runs (40 RGB pictures of 1000x667: about 320 MB).
CHOICE_PICTURES = 40
# What a product's settings hold unless told otherwise: the registration and
# the largest rotation are chosen on its good training pictures.
_DEFAULTS = {"method": AUTO, "max_rotation": AUTO}
# Stand-ins for "auto" until the pictures have chosen (and to check the
# other settings): the engine's own defaults.
_UNCHOSEN = {"method": UNCHOSEN_METHOD, "max_rotation": Registrar().max_rotation}


def registration_settings_check(*, registration_settings: dict) -> dict:
    """The full registration settings for `registration_settings`, or InvalidInput saying what is wrong.

    "auto" (the default) for the method, the largest rotation or the minimum
    similarity means: chosen on the product's good training pictures.
    """
    if not isinstance(registration_settings, dict):
        raise InvalidInput('registration_settings must be an object such as {"method": "ecc"}.')
    # "auto" and "any" are words some settings take; every other value must be a usable number.
    numeric_arguments_check(
        target=Registrar,
        values={name: value for name, value in registration_settings.items() if value not in ("auto", "any")},
        what="Registration setting",
    )
    settings = {**_DEFAULTS, **registration_settings}
    if settings["method"] not in METHODS + (AUTO,):
        choices = ", ".join(METHODS + (AUTO,))
        raise InvalidInput(f"Registration method must be one of {choices}, not {settings['method']!r}.")
    if settings.get("motion", "euclidean") not in MOTIONS:
        raise InvalidInput(f"Registration motion must be one of {', '.join(MOTIONS)}, not {settings['motion']!r}.")
    try:
        registrar = Registrar(**_stand_ins(settings))
        # A tiny blank reference checks every value but the region of
        # interest, which only the real reference can check.
        Registrar(**{**registrar.get_config(), "roi": None}).fit(np.zeros((16, 16, 1), np.float32))
        config = registrar.get_config()
    except TypeError as error:
        raise InvalidInput(f"Unknown registration setting: {error}.") from None
    except (ValueError, EngineError) as error:
        raise InvalidInput(f"Invalid registration setting: {error}.") from None
    config.update({key: settings[key] for key in _DEFAULTS if settings[key] == AUTO})
    return config


def _stand_ins(settings: dict) -> dict:
    return {key: (_UNCHOSEN[key] if key in _UNCHOSEN and value == AUTO else value) for key, value in settings.items()}


def registration_effective_settings(*, product: Product) -> dict:
    """The Registrar parameters images of `product` are aligned with now.

    Those its good training pictures chose when the report belongs to the
    current reference and settings; otherwise the settings with the general
    defaults standing in for "auto".
    """
    if product.registration_report_is_current:
        settings = dict(product.registration_report["settings"])
        settings.pop("reference_shape", None)
        return settings
    return _stand_ins({**_DEFAULTS, **product.registration_settings})


def registration_fit(*, product: Product, reference_bytes: bytes | None = None) -> Registrar:
    """A Registrar fitted to the product's reference image (or to `reference_bytes`)."""
    reference = _reference(product, reference_bytes)
    return Registrar(**registration_effective_settings(product=product)).fit(reference)


def _reference(product: Product, reference_bytes: bytes | None = None) -> np.ndarray:
    if reference_bytes is None:
        with product.reference_image.open("rb") as handle:
            reference_bytes = handle.read()
    return decode_image_bytes(reference_bytes, product.reference_image.name or "reference image")


def registration_choose(*, product: Product) -> dict:
    """Choose and calibrate the product's registration on its good training pictures; store and return the report.

    Pictures that cannot be read are left out (the job marks them failed
    later). The report is stored only if the reference and settings are still
    the ones it was made for.
    """
    revision = product.registration_revision
    reference = _reference(product)
    rows = list(
        Image.objects.filter(product=product, label=Image.Label.NORMAL, split=Image.Split.TRAIN)
        .order_by("pk")
        .only("pk", "file", "original_name")
    )
    if len(rows) > CHOICE_PICTURES:
        positions = np.linspace(0, len(rows) - 1, CHOICE_PICTURES).round().astype(int)
        rows = [rows[position] for position in positions]
    pictures, names = [], []
    for row in rows:
        try:
            with row.file.open("rb") as handle:
                pictures.append(decode_image_bytes(handle.read(), row.original_name))
            names.append(row.original_name)
        except (EngineError, OSError, ValueError):
            continue
    settings = {**_DEFAULTS, **product.registration_settings}
    _, report = fit_registration(reference, pictures, settings=settings, names=names)
    report.update(
        {
            "revision": revision,
            "requested_settings": product.registration_settings,
            "chosen_at": timezone.now().isoformat(),
        }
    )
    Product.objects.filter(pk=product.pk, registration_revision=revision).update(registration_report=report)
    product.registration_report = report
    return report


def registration_start(*, product: Product, started_by=None, reset: str = "none") -> Job | None:
    """Queue a registration job over the product's pending images.

    `reset`: "all" re-registers every image (the reference or the settings
    changed), "failed" retries the images that failed, "none" only handles new
    ones. Without a reference image nothing can be aligned and None is returned.
    """
    if not product.reference_image:
        return None
    with transaction.atomic():
        if reset == "all":
            _cancel_active_registrations(product)
            _reset_images(Image.objects.filter(product=product))
            Product.objects.filter(pk=product.pk).update(registration_revision=F("registration_revision") + 1)
        elif reset == "failed":
            _reset_images(Image.objects.filter(product=product, registration_status=Image.RegistrationStatus.FAILED))
        # A job that has not started yet will see every pending image anyway.
        waiting = Job.objects.filter(
            product=product, kind=Job.Kind.REGISTRATION, status=Job.Status.QUEUED, cancel_requested=False
        ).first()
        if waiting is not None:
            return waiting
        return job_create(kind=Job.Kind.REGISTRATION, product=product, created_by=started_by)


def _cancel_active_registrations(product: Product) -> None:
    active = Job.objects.filter(product=product, kind=Job.Kind.REGISTRATION, status__in=Job.ACTIVE_STATUSES)
    active.filter(status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, finished_at=timezone.now(), message="Superseded by a newer job."
    )
    active.update(cancel_requested=True)


def _reset_images(images) -> None:
    stale_files = [
        name
        for names in images.exclude(aligned_file="").values_list(
            "aligned_file", "aligned_thumbnail", "aligned_valid_mask"
        )
        for name in names
        if name
    ]
    images.update(
        registration_status=Image.RegistrationStatus.PENDING,
        registration_quality=None,
        registration_failure_reason="",
        aligned_file="",
        aligned_thumbnail="",
        aligned_valid_mask="",
    )
    storage = Image._meta.get_field("aligned_file").storage
    transaction.on_commit(lambda: [storage.delete(name) for name in stale_files])


def registration_job_run(*, job_id: int, worker: str) -> None:
    """Body of the registration task: align every pending image of the job's product."""
    job_run(job_id=job_id, worker=worker, name="registration", work=_run)


def _run(job: Job) -> None:
    product = job.product
    if product is None or not product.reference_image:
        raise JobFailed("The product has no reference image to align to.")
    revision = product.registration_revision
    try:
        if not product.registration_report_is_current:
            job_report_progress(
                job=job,
                progress=job.progress,
                stage=STAGE,
                message="Choosing the registration on the good training pictures.",
            )
            registration_choose(product=product)
        registrar = registration_fit(product=product)
    except (EngineError, ValueError, OSError) as error:
        raise JobFailed(f"The reference image cannot be used: {error}") from None
    job_heartbeat(
        job=job,
        progress=job.progress,
        stage=STAGE,
        message="Starting.",
        cancelled_message="Cancelled before any image was aligned.",
    )

    pending = Image.objects.filter(product=product, registration_status=Image.RegistrationStatus.PENDING)
    done, last_id = 0, 0
    while (image := pending.filter(pk__gt=last_id).order_by("pk").first()) is not None:
        last_id = image.pk
        _register_one(image, registrar, revision)
        done += 1
        remaining = pending.filter(pk__gt=last_id).count()
        progress = max(job.progress, math.floor(100 * done / (done + remaining)))
        job.progress = min(progress, 99)
        stop = job_report_progress(
            job=job, progress=job.progress, stage=STAGE, message=f"Aligned {done} of {done + remaining} images."
        )
        if not Product.objects.filter(pk=product.pk, registration_revision=revision).exists():
            raise JobCancelled("The reference image or registration settings changed; a newer job aligns the images.")
        if stop:
            raise JobCancelled(f"Cancelled after aligning {done} images.")
    job_succeed(job=job, message=_summary(product))


def _summary(product: Product) -> str:
    counts = dict(
        Image.objects.filter(product=product)
        .values_list("registration_status")
        .annotate(total=Count("id"))
        .values_list("registration_status", "total")
    )
    registered = counts.get(Image.RegistrationStatus.REGISTERED, 0)
    failed = counts.get(Image.RegistrationStatus.FAILED, 0)
    return f"{registered} images aligned, {failed} could not be aligned."


def _register_one(image: Image, registrar: Registrar, revision: int) -> None:
    # The update only lands if the image is still pending and the reference and
    # settings are the ones this job aligned with: a result computed against an
    # old reference must not overwrite the reset a new reference caused.
    still_current = Image.objects.filter(
        pk=image.pk,
        registration_status=Image.RegistrationStatus.PENDING,
        product__registration_revision=revision,
    )
    try:
        with image.file.open("rb") as handle:
            data = handle.read()
        result = registrar.register(decode_image_bytes(data, image.original_name))
    except ImageError as error:
        still_current.update(
            registration_status=Image.RegistrationStatus.FAILED, registration_failure_reason=error.reason
        )
        return
    except (EngineError, ValueError) as error:
        still_current.update(
            registration_status=Image.RegistrationStatus.FAILED, registration_failure_reason=str(error)
        )
        return
    except OSError as error:
        still_current.update(
            registration_status=Image.RegistrationStatus.FAILED,
            registration_failure_reason=f"the stored file cannot be read ({error})",
        )
        return
    if not result.accepted:
        # Refused with its reason, never also with a quality as if it were aligned.
        still_current.update(
            registration_status=Image.RegistrationStatus.FAILED,
            registration_quality=None,
            registration_failure_reason=result.reason,
        )
        return
    quality = round(float(result.quality), 4)
    field = Image._meta.get_field("aligned_file")
    path = field.generate_filename(image, f"{image.pk}.png")
    if field.storage.exists(path):
        field.storage.delete(path)
    stored = field.storage.save(path, ContentFile(image_png(result.image, compact=True)))
    thumbnail_field = Image._meta.get_field("aligned_thumbnail")
    thumbnail_path = thumbnail_field.generate_filename(image, f"{image.pk}-aligned.jpg")
    if thumbnail_field.storage.exists(thumbnail_path):
        thumbnail_field.storage.delete(thumbnail_path)
    stored_thumbnail = thumbnail_field.storage.save(thumbnail_path, thumbnail_from_pixels(result.image))
    stored_mask = _store_valid_mask(image, result.valid_mask)
    updated = still_current.update(
        registration_status=Image.RegistrationStatus.REGISTERED,
        registration_quality=quality,
        registration_failure_reason="",
        aligned_file=stored,
        aligned_thumbnail=stored_thumbnail,
        aligned_valid_mask=stored_mask,
    )
    if not updated:
        for name in (stored, stored_thumbnail, stored_mask):
            if name:
                field.storage.delete(name)
        return
    if image.mask_file:
        _annotate_from_ground_truth(image, registrar, result)


def _store_valid_mask(image: Image, valid_mask) -> str:
    """The stored name of the aligned copy's validity mask, or "" when every pixel is the picture's own."""
    png = valid_mask_encode(valid_mask)
    if png is None:
        return ""
    field = Image._meta.get_field("aligned_valid_mask")
    path = field.generate_filename(image, f"{image.pk}-valid.png")
    if field.storage.exists(path):
        field.storage.delete(path)
    return field.storage.save(path, ContentFile(png))


def _annotate_from_ground_truth(image: Image, registrar: Registrar, result) -> None:
    """Turn the mask an imported image came with into annotation regions in the registered frame."""
    from PIL import Image as PillowImage

    try:
        with image.mask_file.open("rb") as handle:
            with PillowImage.open(io.BytesIO(handle.read())) as picture:
                mask = (np.asarray(picture.convert("L")) > 0).astype(np.uint8) * 255
        annotation_from_ground_truth(image=image, mask=registrar.warp_mask(mask, result))
    except (OSError, ValueError, EngineError, ServiceError) as error:
        # The alignment stands; only the ground truth is missing, which a
        # person can still draw. Said in the log, not as a failed image.
        logger.warning("the ground-truth mask of image %s was not turned into an annotation: %s", image.pk, error)
