"""A model version as an archive for ``inspection.runtime``: ONNX graphs, arrays, registration, operating point.

The archive is built from the loaded model (``bundle_load``, so a damaged
bundle is refused and flagged as it is for inspection) with the operating
point in force for the version, and kept in MODEL_CACHE_DIR/exports under a
name made of the version, its bundle checksum and the operating point: a
second download is served from there, and a new threshold gives a new archive.
Converting the networks takes seconds to a minute on a CPU, so the first
download of a version waits for it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.conf import settings

from inspection.errors import ServiceError
from inspection.models import ModelVersion
from inspection.selectors.model_versions import threshold_current
from inspection.services.bundles import bundle_load


class ExportRefused(ServiceError):
    """The version's model cannot be exported (the message says why and what to do)."""

    status_code = 409


def model_version_export(*, version: ModelVersion) -> Path:
    """Path of the version's runtime archive, built now unless an identical one is kept."""
    from inspection.engine.export import checked_operating_point, export_model

    setting = threshold_current(product=version.product, version=version)
    operating_point = None
    if setting is not None:
        operating_point = checked_operating_point(
            {"threshold": setting.threshold, "band_lower": setting.band_lower, "band_upper": setting.band_upper}
        )
    point_key = hashlib.sha256(json.dumps(operating_point, sort_keys=True).encode()).hexdigest()[:12]
    target = Path(settings.MODEL_CACHE_DIR) / "exports" / f"{version.pk}-{version.bundle_checksum[:16]}-{point_key}.zip"
    if target.is_file():
        return target
    # Loaded only when there is something to convert: a kept archive needs no model in memory.
    loaded = bundle_load(version=version)
    bundle = loaded.bundle
    # The model's Keras networks are traced for conversion: not while an inspection uses them.
    with loaded.lock:
        try:
            return export_model(
                target,
                detector=bundle.detector,
                image_shape=bundle.image_shape,
                registration=bundle.registration,
                reference=bundle.reference,
                operating_point=operating_point,
            )
        except ValueError as error:
            raise ExportRefused(f"Model version {version.number} cannot be exported: {error}.") from None


def export_file_name(*, version: ModelVersion) -> str:
    """A download name a person recognises: product, version number, method."""
    product = "".join(
        character if character.isalnum() or character in "-_" else "_" for character in version.product.name
    )
    return f"{product.strip('_') or 'product'}-v{version.number}-{version.method_name}.zip"
