"""Reading uploaded zip archives without trusting them.

An archive is checked as a whole before any member is stored: member names
that would escape the archive's folder, links, encrypted or nested archives,
too many members, too many bytes once decompressed, or a compression ratio no
photograph reaches (a zip bomb). Any of these refuses the whole archive, so a
refused upload leaves the stored data exactly as it was.

Members are never extracted to disk; they are read into memory one at a time,
so a hostile name cannot point a write anywhere.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from django.conf import settings

from inspection.errors import InvalidInput, TooLarge

# Files that archiving tools add on their own; they are skipped, not reported as bad images.
_TOOL_DEBRIS = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
_ARCHIVE_SUFFIXES = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"}
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh", b"\xfd7zXZ")


@dataclass(frozen=True)
class ZipLimits:
    max_members: int
    max_total_bytes: int
    max_compression_ratio: int

    @classmethod
    def from_settings(cls) -> ZipLimits:
        return cls(
            max_members=settings.ZIP_MAX_MEMBERS,
            max_total_bytes=settings.ZIP_MAX_TOTAL_BYTES,
            max_compression_ratio=settings.ZIP_MAX_COMPRESSION_RATIO,
        )


@dataclass(frozen=True)
class ArchiveMember:
    """A regular file inside a checked archive; `path` is relative and clean."""

    path: PurePosixPath
    info: zipfile.ZipInfo


class CheckedArchive:
    """An archive that passed every check; members can be read one by one."""

    def __init__(self, name: str, archive: zipfile.ZipFile, members: list[ArchiveMember], debris: list[str]):
        self.name = name
        self.members = members
        # Tool debris found in the archive, reported as skipped.
        self.debris = debris
        self._archive = archive

    def read(self, member: ArchiveMember) -> bytes:
        # The declared size was checked against the limits; reading stops there
        # even if the compressed stream would produce more.
        try:
            with self._archive.open(member.info) as handle:
                data = handle.read(member.info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
            raise InvalidInput(f"damaged inside the archive ({error})") from None
        if len(data) != member.info.file_size:
            raise InvalidInput("damaged inside the archive (its size does not match the archive's index)")
        return data

    def close(self) -> None:
        self._archive.close()


def looks_like_zip(name: str, head: bytes) -> bool:
    return name.lower().endswith(".zip") or head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")


def archive_check(*, name: str, fileobj: IO[bytes], limits: ZipLimits | None = None) -> CheckedArchive:
    """Open `fileobj` as a zip archive and refuse it unless every check passes."""
    limits = limits or ZipLimits.from_settings()
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise InvalidInput(f"{name}: not a readable zip archive ({error}).") from None
    try:
        members, debris = _checked_members(name, archive, limits)
    except Exception:
        archive.close()
        raise
    return CheckedArchive(name, archive, members, debris)


def _checked_members(name: str, archive: zipfile.ZipFile, limits: ZipLimits):
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise TooLarge(f"{name}: the archive holds {len(infos)} entries; at most {limits.max_members} are accepted.")
    members: list[ArchiveMember] = []
    debris: list[str] = []
    total = 0
    for info in infos:
        path = _safe_member_path(name, info.filename)
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{name}: member {info.filename} is encrypted; encrypted archives are not accepted.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidInput(f"{name}: member {info.filename} is a symbolic link; links are not accepted.")
        if any(part in _TOOL_DEBRIS or part.startswith("._") for part in path.parts):
            debris.append(info.filename)
            continue
        if path.suffix.lower() in _ARCHIVE_SUFFIXES:
            raise InvalidInput(
                f"{name}: member {info.filename} is itself an archive; nested archives are not accepted."
            )
        total += info.file_size
        if total > limits.max_total_bytes:
            raise TooLarge(
                f"{name}: the archive would decompress to more than {limits.max_total_bytes} bytes, "
                "the largest accepted."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > limits.max_compression_ratio:
            raise InvalidInput(
                f"{name}: member {info.filename} is compressed {ratio:.0f} to 1, more than the "
                f"{limits.max_compression_ratio} to 1 allowed; this looks like a zip bomb."
            )
        members.append(ArchiveMember(path=path, info=info))
    _refuse_hidden_archives(name, archive, members)
    return members, debris


def _safe_member_path(name: str, raw: str) -> PurePosixPath:
    cleaned = raw.replace("\\", "/")
    path = PurePosixPath(cleaned)
    escapes = (
        cleaned.startswith("/")
        or ".." in path.parts
        or (len(cleaned) > 1 and cleaned[1] == ":")  # a Windows drive letter
        or "\x00" in cleaned
    )
    if escapes:
        raise InvalidInput(f"{name}: member {raw!r} points outside the archive's folder; the archive is refused.")
    return PurePosixPath(*[part for part in path.parts if part not in ("", ".")])


def _refuse_hidden_archives(name: str, archive: zipfile.ZipFile, members: list[ArchiveMember]) -> None:
    # An archive renamed to .png would otherwise surface later as a bad image
    # after part of the upload was stored; peeking at a few bytes is cheap.
    for member in members:
        try:
            with archive.open(member.info) as handle:
                head = handle.read(8)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
            raise InvalidInput(f"{name}: member {member.info.filename} cannot be read ({error}).") from None
        if head.startswith(_ARCHIVE_MAGIC):
            raise InvalidInput(
                f"{name}: member {member.info.filename} is itself an archive; nested archives are not accepted."
            )
