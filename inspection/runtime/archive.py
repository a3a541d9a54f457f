"""The exported-model archive: a ZIP file of a metadata file, ONNX graphs and arrays.

Members (all at the top level of the ZIP)::

    metadata.json     format version, engine version, method, image shape,
                      the networks' precision (float32 or bfloat16),
                      registration settings, operating point, the method's
                      scoring settings, and the SHA-256 of every other member
    arrays.npz        learned arrays, loaded with allow_pickle=False
    reference.npz     the registration reference image (float32)
    <graph>.onnx      one ONNX graph per network of the method

Reading verifies the format version and every checksum before anything is
used, and names the member that is wrong. Nothing from the archive is executed
except the ONNX graphs, by ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ARCHIVE_FORMAT_VERSION = 1
METADATA_NAME = "metadata.json"
ARRAYS_NAME = "arrays.npz"
REFERENCE_NAME = "reference.npz"
GRAPH_SUFFIX = ".onnx"
# Member names are plain file names: no folders, no "..", nothing a ZIP tool
# could be tricked into writing elsewhere if someone unpacks the archive.
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
REQUIRED_FIELDS = ("format_version", "engine_version", "method", "image_shape", "scoring", "files")


class ArchiveError(Exception):
    """An archive that cannot be used; the message names the archive (and member) and why."""

    def __init__(self, where, reason: str):
        self.where, self.reason = str(where), reason
        super().__init__(f"{where}: {reason}")


@dataclass
class Archive:
    """A verified archive's contents, still inert: graphs as bytes, arrays as numpy."""

    metadata: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    graphs: dict[str, bytes] = field(default_factory=dict)
    reference: np.ndarray | None = None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_archive(path) -> Archive:
    """Open, verify and read an archive; raises ArchiveError with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise ArchiveError(path, "no such archive file")
    try:
        with zipfile.ZipFile(path) as bundle:
            members = {info.filename: info for info in bundle.infolist()}
            if METADATA_NAME not in members:
                raise ArchiveError(path, f"has no {METADATA_NAME}: not an exported inspection model")
            metadata = _parse_metadata(path, bundle.read(METADATA_NAME))
            contents = {}
            for name, expected in metadata["files"].items():
                if not _MEMBER_NAME.match(name) or name == METADATA_NAME:
                    raise ArchiveError(path, f"lists an invalid member name {name!r}")
                if name not in members:
                    raise ArchiveError(f"{path}:{name}", "is missing from the archive")
                data = bundle.read(name)
                if sha256_bytes(data) != expected:
                    raise ArchiveError(f"{path}:{name}", "is damaged (checksum mismatch)")
                contents[name] = data
    except zipfile.BadZipFile as error:
        raise ArchiveError(path, f"is damaged or not a ZIP archive ({error})") from None
    except (OSError, EOFError) as error:
        raise ArchiveError(path, f"cannot be read ({error})") from None
    archive = Archive(metadata=metadata)
    if ARRAYS_NAME in contents:
        archive.arrays = _load_npz(path, ARRAYS_NAME, contents.pop(ARRAYS_NAME))
    if REFERENCE_NAME in contents:
        archive.reference = _load_npz(path, REFERENCE_NAME, contents.pop(REFERENCE_NAME))["reference"]
    archive.graphs = {
        name[: -len(GRAPH_SUFFIX)]: data for name, data in contents.items() if name.endswith(GRAPH_SUFFIX)
    }
    return archive


def _parse_metadata(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveError(f"{path}:{METADATA_NAME}", f"is not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or "format_version" not in metadata:
        raise ArchiveError(f"{path}:{METADATA_NAME}", "has no format_version: not an exported inspection model")
    version = metadata["format_version"]
    if not isinstance(version, int) or version > ARCHIVE_FORMAT_VERSION:
        raise ArchiveError(
            path,
            f"was exported in archive format {version} (engine {metadata.get('engine_version')}), newer than "
            f"this runtime's format {ARCHIVE_FORMAT_VERSION}; update the runtime to read it",
        )
    if version < ARCHIVE_FORMAT_VERSION:
        raise ArchiveError(
            path, f"is in the old archive format {version}; export the model again with a current engine"
        )
    for key in REQUIRED_FIELDS:
        if key not in metadata:
            raise ArchiveError(f"{path}:{METADATA_NAME}", f"lacks the field {key!r}")
    return metadata


def _load_npz(path: Path, name: str, data: bytes) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError) as error:
        raise ArchiveError(f"{path}:{name}", f"cannot be read ({error})") from None


def write_archive(
    path,
    *,
    metadata: dict[str, Any],
    arrays: dict[str, np.ndarray],
    graphs: dict[str, bytes],
    reference: np.ndarray | None,
) -> Path:
    """Write an archive atomically (temporary sibling, then rename); fills in metadata["files"]."""
    path = Path(path)
    members: dict[str, bytes] = {}
    members[ARRAYS_NAME] = _npz_bytes(arrays)
    if reference is not None:
        members[REFERENCE_NAME] = _npz_bytes({"reference": np.asarray(reference, dtype=np.float32)})
    for name, data in graphs.items():
        members[f"{name}{GRAPH_SUFFIX}"] = data
    for name in members:
        if not _MEMBER_NAME.match(name):
            raise ValueError(f"invalid archive member name {name!r}")
    metadata = {
        **metadata,
        "format_version": ARCHIVE_FORMAT_VERSION,
        "files": {name: sha256_bytes(data) for name, data in members.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    try:
        with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(METADATA_NAME, json.dumps(metadata, indent=2))
            for name, data in members.items():
                bundle.writestr(name, data)
        staging.replace(path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    return buffer.getvalue()
