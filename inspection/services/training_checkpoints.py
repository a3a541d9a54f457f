"""Training checkpoints kept in the model storage, so that a training taken over by another worker resumes.

The engine's trainer hands over a checkpoint after every epoch (see
inspection.engine.networks.cpcae_checkpoints); they are stored beside the
product's models, in the storage every worker reaches, as
``products/<product>/checkpoints/<version>/epoch-<epoch>-<sha256>.npz``.
Storage writes are not atomic, so the name carries the SHA-256 of the
content: a checkpoint whose content does not match its name was cut off by
a lost worker and is deleted, never used. Only the latest checkpoint is
kept, and all are deleted when the version's training ends (trained,
failed or cancelled).
"""

from __future__ import annotations

import hashlib
import logging
import re

from django.core.files.base import ContentFile

from inspection.models import ModelVersion

logger = logging.getLogger(__name__)

_NAME = re.compile(r"epoch-(\d{4,})-([0-9a-f]{64})\.npz")


def _storage():
    return ModelVersion._meta.get_field("bundle").storage


def _folder(version: ModelVersion) -> str:
    return f"products/{version.product_id}/checkpoints/{version.pk}"


class StoredCheckpoints:
    """The engine's CheckpointStore for one model version's training."""

    def __init__(self, *, version: ModelVersion):
        self.folder = _folder(version)

    def _entries(self) -> list[tuple[int, str, str]]:
        """(epoch, file name, SHA-256 in the name), latest first."""
        try:
            _, files = _storage().listdir(self.folder)
        except FileNotFoundError:
            return []
        entries = []
        for name in files:
            match = _NAME.fullmatch(name)
            if match:
                entries.append((int(match.group(1)), name, match.group(2)))
        return sorted(entries, reverse=True)

    def latest(self) -> bytes | None:
        storage = _storage()
        for _epoch, name, checksum in self._entries():
            path = f"{self.folder}/{name}"
            try:
                with storage.open(path, "rb") as handle:
                    data = handle.read()
            except OSError as error:
                logger.warning("checkpoint %s cannot be read (%s); it is skipped", path, error)
                continue
            if hashlib.sha256(data).hexdigest() == checksum:
                return data
            logger.warning("checkpoint %s was not written completely; it is deleted", path)
            storage.delete(path)
        return None

    def store(self, epoch: int, data: bytes) -> None:
        storage = _storage()
        name = f"epoch-{epoch:04d}-{hashlib.sha256(data).hexdigest()}.npz"
        storage.save(f"{self.folder}/{name}", ContentFile(data))
        # The new one is whole now: the older ones are not needed any more.
        for _, older, _ in self._entries():
            if older != name:
                storage.delete(f"{self.folder}/{older}")


def training_checkpoints_discard(*, version: ModelVersion) -> None:
    """Delete every checkpoint of `version`'s training (it ended: nothing will resume it)."""
    storage = _storage()
    try:
        _, files = storage.listdir(_folder(version))
    except FileNotFoundError:
        return
    for name in files:
        storage.delete(f"{_folder(version)}/{name}")
