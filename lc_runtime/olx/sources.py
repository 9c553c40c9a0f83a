"""
Where an OLX export is read from: a folder, a ``.tar.gz``, a ``.zip`` or any ``fs`` filesystem.

Archives are checked before anything is read from them: members that are absolute, climb out of the
archive with ``..``, are links or devices, or are larger than :data:`MAX_MEMBER_BYTES` refuse the
whole archive. A tar archive that passes is unpacked into a private temporary folder (with tarfile's
``data`` filter as a second guard) and read from there; a zip archive is read in place.
"""

from __future__ import annotations

import lzma
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from fs.base import FS
from fs.osfs import OSFS
from fs.zipfs import ZipFS

from lc_runtime.olx.parsing import OlxError, UnreadableExport

__all__ = ["MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "OlxSource", "open_course_root"]

MAX_MEMBER_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
# What reading a damaged archive raises besides tarfile's and zipfile's own errors: a truncated gzip
# stream (EOFError), bad compressed data (zlib, lzma), a file that is not gzip at all (OSError).
_ARCHIVE_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError, OSError)

OlxSource = str | Path | FS


def _check_member_name(name: str, archive: str) -> None:
    if not name:
        raise OlxError("an archive member has an empty name", file=archive)
    path = PurePosixPath(name)
    first = path.parts[0] if path.parts else ""  # "." and "./" have no parts: the archive's own top
    if path.is_absolute() or ".." in path.parts or name.startswith("\\") or ":" in first:
        raise OlxError(f"archive member {name!r} escapes the archive", file=archive)


def _check_members(archive: str, members: Iterable[tuple[str, int, str | None]]) -> None:
    """
    Refuse an archive whose members (name, size, what it is if not a file or folder) escape it, are
    links or devices, or are too large, alone or together.
    """
    total = 0
    for name, size, not_a_file in members:
        _check_member_name(name, archive)
        if not_a_file:
            raise OlxError(f"archive member {name!r} is {not_a_file}", file=archive)
        if size > MAX_MEMBER_BYTES:
            raise OlxError(f"archive member {name!r} is too large", file=archive)
        total += size
        if total > MAX_TOTAL_BYTES:
            raise OlxError("archive is too large once unpacked", file=archive)


def _check_tar(path: Path) -> None:
    try:
        with tarfile.open(path, "r:*") as archive:
            _check_members(str(path), (
                (member.name, member.size, None if member.isfile() or member.isdir() else "a link or device")
                for member in archive
            ))
    except _ARCHIVE_READ_ERRORS as exc:
        raise UnreadableExport(f"not a readable tar archive: {exc or type(exc).__name__}", file=str(path)) from exc


def _zip_link(info: zipfile.ZipInfo) -> str | None:
    return "a link" if (info.external_attr >> 16) & 0o170000 == 0o120000 else None


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            _check_members(str(path), ((info.filename, info.file_size, _zip_link(info)) for info in archive.infolist()))
    except _ARCHIVE_READ_ERRORS as exc:
        raise UnreadableExport(f"not a readable zip archive: {exc or type(exc).__name__}", file=str(path)) from exc


@contextmanager
def _open_filesystem(source: OlxSource) -> Iterator[FS]:
    if isinstance(source, FS):
        yield source
        return
    path = Path(source)
    if path.is_dir():
        with OSFS(str(path)) as folder:
            yield folder
    elif path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        _check_tar(path)
        # Unpacked once into a private folder: read in place, every member of a compressed tar would be
        # reached by decompressing the stream from its start again (an import twice as slow as a folder).
        with tempfile.TemporaryDirectory(prefix="lc-runtime-import-") as unpacked:
            try:
                with tarfile.open(path, "r:*") as archive:
                    archive.extractall(unpacked, filter="data")  # refuses what _check_tar refused, again
            except _ARCHIVE_READ_ERRORS as exc:
                raise UnreadableExport(
                    f"not a readable tar archive: {exc or type(exc).__name__}", file=str(path)
                ) from exc
            with OSFS(unpacked) as folder:
                yield folder
    elif path.is_file() and path.suffix == ".zip":
        _check_zip(path)
        with ZipFS(str(path)) as archive:
            yield archive
    else:
        raise OlxError("not an OLX export: expected a folder, a .tar.gz, a .zip or an fs filesystem", file=str(path))


@contextmanager
def open_course_root(source: OlxSource) -> Iterator[FS]:
    """
    The folder of an export that holds ``course.xml``.

    Accepts that folder itself, or a parent that holds exactly one such folder (as Studio's export
    unpacks: ``course/course.xml``).
    """
    with _open_filesystem(source) as filesystem:
        if filesystem.isfile("course.xml"):
            yield filesystem
            return
        candidates = [
            entry.name
            for entry in filesystem.scandir("/")
            if entry.is_dir and filesystem.isfile(f"{entry.name}/course.xml")
        ]
        if len(candidates) != 1:
            raise OlxError("no course.xml found (looked in the top folder and in each folder below it)")
        yield filesystem.opendir(candidates[0])
