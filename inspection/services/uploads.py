"""Adding images to a product: plain files, zip archives and folders.

Policy for a batch (say 200 files): every valid image is stored and every
invalid one is reported by name with the reason; one bad file does not cost
the user the other 199. Files already stored for the product (same SHA-256)
are reported as duplicates and not stored again. A problem with an archive as
a whole (unsafe paths, nested archive, zip bomb) refuses the entire request
before anything is stored.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from inspection.engine.data.imageio import IMAGE_EXTENSIONS, decode_image_bytes
from inspection.engine.errors import ImageError
from inspection.errors import InvalidInput
from inspection.lib.mvtec_layout import LayoutPlan, mvtec_plan, mvtec_root
from inspection.lib.zip_archives import CheckedArchive, archive_check, looks_like_zip
from inspection.models import Image, Job, Product
from inspection.services.annotations import defect_types_import
from inspection.services.registration import registration_start
from inspection.services.thumbnails import thumbnail_from_bytes

_EXTENSION_FOR_FORMAT = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}


@dataclass(frozen=True)
class IncomingImage:
    name: str  # as shown in reports: file name, or archive/member path
    read: Callable[[], bytes]
    label: str
    split: str
    defect_type: str = ""
    mask_name: str | None = None
    read_mask: Callable[[], bytes] | None = None


@dataclass
class UploadReport:
    created: list[Image] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)  # {"name", "existing_image_id"}
    invalid: list[dict] = field(default_factory=list)  # {"name", "reason"}
    skipped: list[dict] = field(default_factory=list)  # {"name", "reason"}: not meant as images
    job: Job | None = None


@dataclass(frozen=True)
class CheckedImage:
    width: int
    height: int
    extension: str


def image_bytes_check(*, data: bytes, name: str) -> CheckedImage:
    """Decode `data` completely; ImageError (with `.reason`) unless it is a usable image."""
    from PIL import Image as PillowImage

    image_format = None
    try:
        # Reading the header first refuses a decompression bomb before its
        # pixels are allocated.
        with PillowImage.open(io.BytesIO(data)) as header:
            width, height = header.size
            image_format = header.format
        if width * height > settings.IMAGE_MAX_PIXELS:
            raise ImageError(
                name, f"image is {width}x{height} pixels, more than the {settings.IMAGE_MAX_PIXELS} allowed"
            )
    except (OSError, ValueError, SyntaxError, PillowImage.DecompressionBombError):
        pass  # the engine's decoder below gives the precise reason
    pixels = decode_image_bytes(data, name)
    height, width = pixels.shape[:2]
    extension = _EXTENSION_FOR_FORMAT.get(image_format or "", Path(name).suffix.lower() or ".img")
    return CheckedImage(width=width, height=height, extension=extension)


def image_upload(
    *,
    product: Product,
    files: Iterable,
    uploaded_by=None,
    label: str = Image.Label.UNKNOWN,
    split: str = Image.Split.TRAIN,
    defect_type: str = "",
) -> UploadReport:
    """Store uploaded files (images and/or zip archives) for `product`.

    Zip archives in MVTec layout get label, split, defect type and masks from
    their folders; any other file gets `label`, `split` and `defect_type`.
    """
    files = list(files)
    if not files:
        raise InvalidInput("No files were uploaded; send images or a zip archive in the 'files' field.")
    _check_choice("label", label, Image.Label.values)
    _check_choice("split", split, Image.Split.values)
    if defect_type and label != Image.Label.DEFECTIVE:
        raise InvalidInput("A defect type can only be given together with label=defective.")
    archives: list[CheckedArchive] = []
    try:
        items: list[IncomingImage] = []
        skipped: list[dict] = []
        for upload in files:
            name = Path(getattr(upload, "name", "") or "upload").name
            head = upload.read(8)
            upload.seek(0)
            if looks_like_zip(name, head):
                # Every archive is checked before anything from the request is stored.
                archive = archive_check(name=name, fileobj=upload)
                archives.append(archive)
                archive_items, archive_skipped, archive_types = _archive_items(archive, label, split, defect_type)
                items += archive_items
                skipped += archive_skipped
                skipped += _import_defect_types(product, archive_types)
            else:
                items.append(
                    IncomingImage(name=name, read=upload.read, label=label, split=split, defect_type=defect_type)
                )
        report = _store_all(product, items, uploaded_by)
        report.skipped = skipped + report.skipped
        return report
    finally:
        for archive in archives:
            archive.close()


def image_import_directory(
    *,
    product: Product,
    directory: Path,
    uploaded_by=None,
    label: str = Image.Label.UNKNOWN,
    split: str = Image.Split.TRAIN,
) -> UploadReport:
    """Import a folder: MVTec layout when it has one, otherwise every image file in it."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInput(f"{directory} is not a folder.")
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    relative = [PurePosixPath(path.relative_to(directory).as_posix()) for path in files]
    root = mvtec_root(relative)
    if root is not None:
        plan = mvtec_plan(relative, root)
        items = [_planned_item(entry, lambda path: (directory / path).read_bytes()) for entry in plan.images]
        skipped = [{"name": name, "reason": reason} for name, reason in plan.skipped]
        if plan.defect_types_path is not None:
            types_file = plan.defect_types_path
            skipped += _import_defect_types(product, [(str(types_file), lambda: (directory / types_file).read_bytes())])
    else:
        _check_choice("label", label, Image.Label.values)
        _check_choice("split", split, Image.Split.values)
        items, skipped = [], []
        for path, name in zip(files, relative):
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                items.append(IncomingImage(name=str(name), read=path.read_bytes, label=label, split=split))
            else:
                skipped.append({"name": str(name), "reason": "not an image file name"})
    report = _store_all(product, items, uploaded_by)
    report.skipped = skipped + report.skipped
    return report


def _archive_items(archive: CheckedArchive, label: str, split: str, defect_type: str):
    members = {member.path: member for member in archive.members}
    skipped = [
        {"name": f"{archive.name}/{name}", "reason": "file added by an archiving tool"} for name in archive.debris
    ]
    root = mvtec_root(list(members))
    if root is None:
        items = [
            IncomingImage(
                name=f"{archive.name}/{path}",
                read=lambda member=member: archive.read(member),
                label=label,
                split=split,
                defect_type=defect_type,
            )
            for path, member in members.items()
        ]
        return items, skipped, []
    plan: LayoutPlan = mvtec_plan(list(members), root)
    items = [
        _planned_item(entry, lambda path: archive.read(members[path]), prefix=f"{archive.name}/")
        for entry in plan.images
    ]
    skipped += [{"name": f"{archive.name}/{name}", "reason": reason} for name, reason in plan.skipped]
    types = []
    if plan.defect_types_path is not None:
        member = members[plan.defect_types_path]
        types.append((f"{archive.name}/{plan.defect_types_path}", lambda: archive.read(member)))
    return items, skipped, types


def _import_defect_types(product: Product, sources: list[tuple[str, Callable[[], bytes]]]) -> list[dict]:
    """Create the defect types a defect_types.json lists (keeping their colours); report one that cannot be read."""
    refused = []
    for name, read in sources:
        try:
            entries = json.loads(read())
            defect_types_import(product=product, entries=entries)
        except (ValueError, OSError, InvalidInput) as error:
            reason = getattr(error, "message", None) or str(error)
            refused.append({"name": name, "reason": f"defect types not imported: {reason}"})
    return refused


def _planned_item(entry, read_path: Callable[[PurePosixPath], bytes], prefix: str = "") -> IncomingImage:
    mask = entry.mask_path
    return IncomingImage(
        name=f"{prefix}{entry.path}",
        read=lambda: read_path(entry.path),
        label=entry.label,
        split=entry.split,
        defect_type=entry.defect_type,
        mask_name=f"{prefix}{mask}" if mask else None,
        read_mask=(lambda: read_path(mask)) if mask else None,
    )


def _store_all(product: Product, items: list[IncomingImage], uploaded_by) -> UploadReport:
    report = UploadReport()
    for item in items:
        _store_one(product, item, uploaded_by, report)
    if report.created:
        report.job = registration_start(product=product, started_by=uploaded_by)
    return report


def _store_one(product: Product, item: IncomingImage, uploaded_by, report: UploadReport) -> None:
    try:
        data = item.read()
    except (InvalidInput, OSError) as error:
        report.invalid.append({"name": item.name, "reason": getattr(error, "message", None) or str(error)})
        return
    checksum = hashlib.sha256(data).hexdigest()
    existing = Image.objects.filter(product=product, checksum=checksum).values_list("pk", flat=True).first()
    if existing is not None:
        report.duplicates.append({"name": item.name, "existing_image_id": existing})
        return
    try:
        checked = image_bytes_check(data=data, name=item.name)
    except ImageError as error:
        report.invalid.append({"name": item.name, "reason": error.reason})
        return
    mask = _checked_mask(item, checked, report)

    image = Image(
        product=product,
        original_name=item.name[-500:],
        checksum=checksum,
        width=checked.width,
        height=checked.height,
        label=item.label,
        split=item.split,
        defect_type=item.defect_type,
        uploaded_by=uploaded_by,
    )
    image.file.save(f"{checksum}{checked.extension}", ContentFile(data), save=False)
    image.thumbnail.save(f"{checksum}.jpg", thumbnail_from_bytes(data), save=False)
    if mask is not None:
        mask_data, mask_extension = mask
        image.mask_file.save(f"{checksum}_mask{mask_extension}", ContentFile(mask_data), save=False)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # The same picture arrived through another request at the same moment.
        image.file.delete(save=False)
        image.thumbnail.delete(save=False)
        if image.mask_file:
            image.mask_file.delete(save=False)
        existing = Image.objects.filter(product=product, checksum=checksum).values_list("pk", flat=True).first()
        report.duplicates.append({"name": item.name, "existing_image_id": existing})
        return
    report.created.append(image)


def _checked_mask(item: IncomingImage, checked: CheckedImage, report: UploadReport) -> tuple[bytes, str] | None:
    """The mask's bytes and file ending when it is a usable mask for the image; otherwise it is reported."""
    if item.read_mask is None:
        return None
    try:
        data = item.read_mask()
        mask = image_bytes_check(data=data, name=item.mask_name)
    except ImageError as error:
        report.invalid.append({"name": item.mask_name, "reason": f"{error.reason}; the image was stored without it"})
        return None
    except (InvalidInput, OSError) as error:
        report.invalid.append({"name": item.mask_name, "reason": getattr(error, "message", None) or str(error)})
        return None
    if (mask.width, mask.height) != (checked.width, checked.height):
        report.invalid.append(
            {
                "name": item.mask_name,
                "reason": f"mask is {mask.width}x{mask.height} but its image is {checked.width}x{checked.height}; "
                "the image was stored without it",
            }
        )
        return None
    return data, mask.extension


def _check_choice(name: str, value: str, choices) -> None:
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
