"""A model version as an archive for ``inspection.runtime``: ONNX graphs, arrays, registration, operating point.

Converting the networks takes seconds to a minute on a CPU, so the archive is
built by a job on the engine queue (`model_export_start`, then
`model_export_job_run` in a worker), never inside a web request. It is built
from the loaded model (``bundle_load``, so a damaged bundle is refused and
flagged as it is for inspection) with the operating point in force for the
version, and kept through Django storage (shared by web and workers, like the
bundles) under a name made of the version, its bundle checksum and the
operating point: later downloads are served from there at once, and a new
threshold needs a new archive. One export job per version runs at a time.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from inspection.errors import Conflict, ServiceError
from inspection.models import Job, ModelVersion
from inspection.selectors.model_versions import threshold_current
from inspection.services.bundles import ModelUnavailable, bundle_in_use, bundle_load
from inspection.services.job_runner import JobFailed, job_heartbeat, job_run
from inspection.services.jobs import job_create, job_succeed

STAGE = "exporting"


class ExportRefused(ServiceError):
    """The version's model cannot be exported (the message says why and what to do)."""

    status_code = 409


@dataclass
class ExportState:
    """Where a version's export stands: the kept archive's storage name, and its latest export job."""

    archive: str | None
    job: Job | None

    @property
    def building(self) -> bool:
        return self.job is not None and self.job.status in Job.ACTIVE_STATUSES


def model_export_state(*, version: ModelVersion) -> ExportState:
    archive = _archive_name(version)
    job = version.export_job if version.export_job_id else None
    return ExportState(archive=archive if default_storage.exists(archive) else None, job=job)


def model_export_start(*, version: ModelVersion, started_by=None) -> ExportState:
    """Queue building the version's archive, unless it is kept already or a job is building it."""
    if version.flagged_damaged:
        raise Conflict(
            f"Model version {version.number} cannot be exported: its stored model is damaged ({version.damage_reason})."
        )
    if not version.is_usable:
        raise Conflict(
            f"Model version {version.number} cannot be exported: it is {version.status} and has no usable model."
        )
    with transaction.atomic():
        # Locks the version row (its export job is read after: PostgreSQL locks no nullable outer join).
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        state = model_export_state(version=version)
        if state.archive is not None or state.building:
            return state
        job = job_create(
            kind=Job.Kind.EXPORT,
            product=version.product,
            created_by=started_by,
            message=f"Export of version {version.number} waits for a worker.",
        )
        version.export_job = job
        version.save(update_fields=["export_job"])
    return ExportState(archive=None, job=job)


def model_export_job_run(*, job_id: int, worker: str) -> None:
    """Body of the export task: load the model, convert it, store the archive."""
    job_run(job_id=job_id, worker=worker, name="export", work=_export)


def _export(job: Job) -> None:
    version = ModelVersion.objects.select_related("product").filter(export_job_id=job.pk).first()
    if version is None:
        raise JobFailed("The model version of this job no longer exists.")
    job_heartbeat(
        job=job,
        progress=5,
        stage=STAGE,
        message="Loading the model.",
        cancelled_message="Cancelled before the model was converted.",
    )
    try:
        name = model_version_export(version=version, job=job)
    except (ExportRefused, ModelUnavailable) as error:
        raise JobFailed(error.message) from None
    size = default_storage.size(name)
    job_succeed(job=job, message=f"Archive of version {version.number} ready ({size / 1e6:.1f} MB).")


def model_version_export(*, version: ModelVersion, job: Job | None = None) -> str:
    """Storage name of the version's runtime archive, built now unless an identical one is kept."""
    from inspection.engine.export import export_model

    name = _archive_name(version)
    if default_storage.exists(name):
        return name
    # Loaded only when there is something to convert: a kept archive needs no model in memory.
    loaded = bundle_load(version=version)
    bundle = loaded.bundle
    if job is not None:
        job_heartbeat(
            job=job,
            progress=10,
            stage=STAGE,
            message="Converting the networks to ONNX (up to a minute).",
            cancelled_message="Cancelled before the model was converted.",
        )
    with tempfile.TemporaryDirectory(prefix="model-export-") as scratch:
        # The model's Keras networks are traced for conversion: not while an inspection uses them.
        with bundle_in_use(loaded, wait=None):
            try:
                path = export_model(
                    Path(scratch) / "archive.zip",
                    detector=bundle.detector,
                    image_shape=bundle.image_shape,
                    registration=bundle.registration,
                    reference=bundle.reference,
                    operating_point=_operating_point(version),
                )
            except ValueError as error:
                raise ExportRefused(f"Model version {version.number} cannot be exported: {error}.") from None
        with path.open("rb") as handle:
            stored = default_storage.save(name, File(handle))
    if stored != name:
        # The storage chose another name because the key's file appeared meanwhile: a redelivered
        # job (run again while its first worker still ran) built the same archive from the same
        # bundle and operating point, so the one kept under the key serves and this copy goes.
        default_storage.delete(stored)
        if not default_storage.exists(name):
            raise RuntimeError(f"the storage kept the archive as {stored!r} instead of {name!r}")
    return name


def export_file_name(*, version: ModelVersion) -> str:
    """A download name a person recognises: product, version number, method."""
    product = "".join(
        character if character.isalnum() or character in "-_" else "_" for character in version.product.name
    )
    return f"{product.strip('_') or 'product'}-v{version.number}-{version.method_name}.zip"


def _operating_point(version: ModelVersion) -> dict | None:
    from inspection.engine.export import checked_operating_point

    setting = threshold_current(product=version.product, version=version)
    if setting is None:
        return None
    return checked_operating_point(
        {"threshold": setting.threshold, "band_lower": setting.band_lower, "band_upper": setting.band_upper}
    )


def _archive_name(version: ModelVersion) -> str:
    """Storage name of the archive for the version's bundle and current operating point.

    Media files are served to every signed-in account, and only those who may
    export should reach an archive: the name is keyed by the bundle's stored
    name too, whose random part is shown nowhere, so the archive is as hidden
    as the bundle it is made from (and web and workers derive the same name).
    """
    key = json.dumps([version.pk, version.bundle.name, version.bundle_checksum, _operating_point(version)])
    return f"model-exports/{version.pk}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.zip"
