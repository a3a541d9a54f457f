"""A product's aligned images and annotations as one zip in the MVTec AD layout.

    train/good/<stem>.png                 aligned normal images of the train split
    test/good/<stem>.png                  aligned normal images of the validation and test splits
    test/<defect>/<stem>.png              aligned defective images, by defect type
    ground_truth/<defect>/<stem>_mask.png union of the current annotation's regions (white = defect)
    defect_types.json                     [{"name", "color"}] of the product's defect types

Only aligned images labelled normal or defective and not excluded are
written (the layout has no place for the others); a defective image without
a defect type goes under test/defect/. Images are their aligned copies, so a
product that imports the zip with registration method "none" gets the same
pixels and, from the masks, the same annotations. The zip is produced while
it is sent: nothing is held in memory beyond one image at a time.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from inspection.lib.mask_png import mask_encode, mask_read
from inspection.models import DefectType, Image, Product
from inspection.selectors.annotations import annotation_current_by_image
from inspection.services.annotations import DEFAULT_DEFECT_TYPE

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ExportEntry:
    image: Image
    folder: str  # "train/good", "test/good" or "test/<defect>"
    stem: str
    regions: tuple  # current AnnotationRegions (defective images only)


def annotation_export_plan(*, product: Product) -> list[ExportEntry]:
    """Which images go where in the export, with the regions whose union becomes each mask."""
    images = list(
        Image.objects.filter(
            product=product,
            registration_status=Image.RegistrationStatus.REGISTERED,
            label__in=(Image.Label.NORMAL, Image.Label.DEFECTIVE),
        )
        .exclude(split=Image.Split.EXCLUDED)
        .exclude(aligned_file="")
        .order_by("id")
    )
    annotations = annotation_current_by_image(images=images)
    plan = []
    for image in images:
        if image.label == Image.Label.NORMAL:
            folder = "train/good" if image.split == Image.Split.TRAIN else "test/good"
            regions: tuple = ()
        else:
            folder = f"test/{_folder_name(image.defect_type or DEFAULT_DEFECT_TYPE)}"
            annotation = annotations.get(image.pk)
            regions = tuple(annotation.regions.all()) if annotation is not None else ()
        # The id keeps names unique; the original name keeps them recognisable.
        stem = f"{image.pk}_{_safe(PurePosixPath(image.original_name).stem)}"[:120]
        plan.append(ExportEntry(image=image, folder=folder, stem=stem, regions=regions))
    return plan


def annotation_export_stream(*, product: Product) -> Iterator[bytes]:
    """The export zip, produced piece by piece (for a streaming HTTP response)."""
    plan = annotation_export_plan(product=product)
    types = [{"name": item.name, "color": item.color} for item in DefectType.objects.filter(product=product)]
    return _zip_pieces(plan, types)


def _zip_pieces(plan: list[ExportEntry], types: list[dict]) -> Iterator[bytes]:
    sink = _Sink()
    # Images are PNGs already: storing them as they are costs no CPU.
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("defect_types.json", json.dumps(types, indent=2))
        yield sink.take()
        for entry in plan:
            with entry.image.aligned_file.open("rb") as handle:
                archive.writestr(f"{entry.folder}/{entry.stem}.png", handle.read())
            if entry.regions:
                union = np.logical_or.reduce([mask_read(region.mask) for region in entry.regions])
                defect_folder = entry.folder.split("/", 1)[1]
                archive.writestr(f"ground_truth/{defect_folder}/{entry.stem}_mask.png", mask_encode(union))
            yield sink.take()
    yield sink.take()


class _Sink:
    """A write-only file for zipfile: it has no tell(), so zipfile streams (data descriptors, no seeking)."""

    def __init__(self):
        self._pieces: list[bytes] = []

    def write(self, data) -> int:
        self._pieces.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._pieces = b"".join(self._pieces), []
        return data


def _folder_name(name: str) -> str:
    # The folder name is the defect type on import, so only what cannot be a
    # folder name is replaced (separators, control characters, leading dots).
    cleaned = re.sub(r"[/\\\x00-\x1f]+", "_", name).strip().lstrip(".")
    return cleaned or DEFAULT_DEFECT_TYPE


def _safe(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).strip("._")
    return cleaned or "image"
