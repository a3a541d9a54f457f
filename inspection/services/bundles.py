"""Model bundles in storage and in memory.

The engine writes a bundle as a directory; the platform stores it as one zip
file through Django storage (a shared folder or an S3-compatible store work
alike) and records the zip's SHA-256 on the version. A process that needs
the model downloads the zip once, checks that checksum, and unpacks it into
MODEL_CACHE_DIR/<version id>-<checksum> (unpacked into a temporary folder and
renamed, so a half-unpacked bundle is never used). Loaded models are kept in
memory per process (MODEL_MEMORY_CACHE_SIZE, least recently used dropped),
so the synchronous inspection path loads each bundle once, not per request.
Requests that find a bundle still loading wait for that one load instead of
starting their own (twenty at once on a cold cache load it once), and then
take turns on the loaded model in the order they asked (`bundle_in_use`),
each waiting at most MODEL_WAIT_SECONDS before it is answered ModelBusy.

A bundle that cannot be read (zip damaged or missing in storage, checksum
mismatch, a damaged file inside) flags the version as damaged with the
reason and raises ModelUnavailable; a damaged local copy is first replaced
from storage once, since the stored zip may be fine.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import uuid
import zipfile
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File

from inspection.errors import ServiceError
from inspection.models import ModelVersion

logger = logging.getLogger(__name__)


class ModelUnavailable(ServiceError):
    """The model needed cannot be used (damaged, missing, not trained)."""

    status_code = 409


class ModelBusy(ServiceError):
    """The model was in use by other requests for longer than a request may wait."""

    status_code = 503


class FairLock:
    """A lock handed to its waiters in the order they asked, with a limit on the wait.

    threading.Lock wakes an arbitrary waiter, so under a steady stream of
    requests one could wait far longer than the others; here the holder hands
    the lock directly to the oldest waiter.
    """

    def __init__(self):
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float | None = None) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=-1 if timeout is None else timeout):
            return True
        with self._guard:
            try:
                self._waiters.remove(turn)
            except ValueError:  # handed over just as the wait ran out: the lock is ours
                return True
            return False

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()  # stays held, by the next waiter now
            else:
                self._held = False

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *_) -> None:
        self.release()


@dataclass
class LoadedModel:
    """A bundle loaded in this process with its registrar, ready to inspect."""

    version_id: int
    checksum: str
    bundle: Any  # inspection.engine.bundle.Bundle
    registrar: Any  # inspection.engine.registration.alignment.Registrar
    # Keras models are not safe to call from two threads at once.
    lock: FairLock


_memory: OrderedDict[tuple[int, str], LoadedModel] = OrderedDict()
_memory_lock = threading.Lock()
# One lock per bundle being loaded: the first request loads, the others wait for it.
_loading: dict[tuple[int, str], threading.Lock] = {}


def bundle_store(*, version: ModelVersion, directory: Path) -> None:
    """Zip the bundle directory and save it through storage on `version` (not yet committed to the row)."""
    with tempfile.TemporaryDirectory(prefix="bundle-zip-") as scratch:
        archive_path = Path(scratch) / "bundle.zip"
        with zipfile.ZipFile(archive_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(directory).as_posix())
        checksum = _sha256_file(archive_path)
        with archive_path.open("rb") as handle:
            # A unique name: a rerun after a killed worker never overwrites a stored bundle.
            version.bundle.save(f"v{version.number}-{version.pk}-{uuid.uuid4().hex[:8]}.zip", File(handle), save=False)
        version.bundle_checksum = checksum
        version.bundle_size = archive_path.stat().st_size


def bundle_load(*, version: ModelVersion) -> LoadedModel:
    """The version's model, loaded once per process; ModelUnavailable if it cannot be used."""
    if version.status != ModelVersion.Status.TRAINED or not version.bundle:
        raise ModelUnavailable(f"Model version {version.number} is {version.status} and has no usable model.")
    if version.flagged_damaged:
        raise ModelUnavailable(
            f"Model version {version.number} is flagged as damaged: {version.damage_reason} "
            "Activate another version or train a new one."
        )
    key = (version.pk, version.bundle_checksum)
    with _memory_lock:
        loaded = _remembered(key)
        if loaded is not None:
            return loaded
        loading = _loading.setdefault(key, threading.Lock())
    with loading:
        with _memory_lock:
            loaded = _remembered(key)
            if loaded is not None:  # loaded by the request this one waited for
                return loaded
        try:
            loaded = _load(version)
        finally:
            with _memory_lock:
                if _loading.get(key) is loading:
                    del _loading[key]
        with _memory_lock:
            _memory[key] = loaded
            _memory.move_to_end(key)
            while len(_memory) > settings.MODEL_MEMORY_CACHE_SIZE:
                _memory.popitem(last=False)
    return loaded


@contextmanager
def bundle_in_use(loaded: LoadedModel, *, wait: float | None) -> Iterator[LoadedModel]:
    """Hold the loaded model for one caller; ModelBusy after `wait` seconds in the queue (None: no limit)."""
    if not loaded.lock.acquire(timeout=wait):
        raise ModelBusy(
            f"The model is busy: other inspections held it for the whole {wait:g} s this request may wait "
            "(MODEL_WAIT_SECONDS). Send the image again, or send many images as one batch inspection.",
            details={"waited_seconds": wait},
        )
    try:
        yield loaded
    finally:
        loaded.lock.release()


def _remembered(key: tuple[int, str]) -> LoadedModel | None:
    loaded = _memory.get(key)
    if loaded is not None:
        _memory.move_to_end(key)
    return loaded


def bundle_forget(*, version_id: int | None = None) -> None:
    """Drop loaded models from this process's memory (all, or one version's)."""
    with _memory_lock:
        for key in [key for key in _memory if version_id is None or key[0] == version_id]:
            del _memory[key]


def model_version_flag_damaged(*, version: ModelVersion, reason: str) -> None:
    ModelVersion.objects.filter(pk=version.pk).update(flagged_damaged=True, damage_reason=reason)
    version.flagged_damaged, version.damage_reason = True, reason
    bundle_forget(version_id=version.pk)
    logger.error("model version %s (product %s) flagged as damaged: %s", version.pk, version.product_id, reason)


def _load(version: ModelVersion) -> LoadedModel:
    from inspection.engine.bundle import load_bundle
    from inspection.engine.errors import BundleError, EngineError

    last_error = None
    for attempt in range(2):
        try:
            directory = _unpacked(version, refresh=attempt > 0)
            bundle = load_bundle(directory)
            registrar = bundle.registrar()
            return LoadedModel(version.pk, version.bundle_checksum, bundle, registrar, FairLock())
        except _StoredBundleDamaged as error:
            last_error = str(error)
            break  # the stored zip itself is bad: unpacking again cannot help
        except (BundleError, EngineError, OSError, ValueError, KeyError) as error:
            # Possibly only the local copy: unpack again from storage once.
            last_error = f"{error}"
            logger.warning("model version %s: local bundle unusable (%s)", version.pk, error)
    reason = f"The model bundle cannot be read ({last_error})."
    model_version_flag_damaged(version=version, reason=reason)
    raise ModelUnavailable(
        f"Model version {version.number} cannot be used: {reason} It has been flagged as damaged; "
        "activate another version or train a new one.",
        details={"version": version.pk, "flagged_damaged": True},
    )


class _StoredBundleDamaged(Exception):
    pass


def _unpacked(version: ModelVersion, *, refresh: bool) -> Path:
    root = Path(settings.MODEL_CACHE_DIR)
    target = root / f"{version.pk}-{version.bundle_checksum}"
    if target.is_dir() and not refresh:
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        archive_path = staging / "bundle.zip"
        try:
            with version.bundle.open("rb") as source, archive_path.open("wb") as destination:
                shutil.copyfileobj(source, destination, length=1 << 20)
        except (OSError, FileNotFoundError) as error:
            raise _StoredBundleDamaged(f"{version.bundle.name}: cannot be read from storage ({error})") from None
        if _sha256_file(archive_path) != version.bundle_checksum:
            raise _StoredBundleDamaged(f"{version.bundle.name}: is damaged (checksum mismatch)")
        contents = staging / "bundle"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise _StoredBundleDamaged(f"{version.bundle.name}: unsafe member {member!r}")
                archive.extractall(contents)
        except zipfile.BadZipFile as error:
            raise _StoredBundleDamaged(f"{version.bundle.name}: is not a readable zip ({error})") from None
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(contents, target)
        except OSError:
            if not target.is_dir():  # another process unpacked it meanwhile otherwise
                raise
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
