"""
Where an OLX export is read from: a folder, a ``.tar.gz``, a ``.zip`` or any ``fs`` filesystem.

Archives are checked before anything is read from them: members that are absolute, climb out of the
archive with ``..``, are links or devices, or are larger than :data:`MAX_MEMBER_BYTES` refuse the
whole archive. A tar archive that passes is unpacked into a private temporary folder (with tarfile's
``data`` filter as a second guard) and read from there; a zip archive is read in place.

The unpacked folder is removed when the import ends, but a process killed meanwhile (SIGKILL, the OOM
killer, a worker's hard time limit) removes nothing. So every unpacked folder lives under one parent
(``LC_RUNTIME["IMPORT_UNPACK_DIR"]``) and is named after the host and process that made it, and each
import first sweeps that parent of the folders whose process is gone (or that are older than
:data:`STALE_AFTER_SECONDS`, in case a pid was reused or the folder came from another host).
"""

from __future__ import annotations

import hashlib
import logging
import lzma
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from fs.base import FS
from fs.osfs import OSFS
from fs.zipfs import ZipFS

from lc_runtime.conf import get_setting
from lc_runtime.olx.parsing import OlxError, UnreadableExport

__all__ = ["MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES", "OlxSource", "open_course_root"]

MAX_MEMBER_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
STALE_AFTER_SECONDS = 24 * 60 * 60
"""An unpacked folder this old is swept whoever made it (pids are reused; other hosts' pids mean nothing here)."""
UNPACKED_PREFIX = "lc-runtime-import."

log = logging.getLogger(__name__)

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


def _configured_parent() -> Path:
    configured = get_setting("IMPORT_UNPACK_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"lc-runtime-imports-{os.getuid()}"


def unpack_parent() -> Path:
    """
    The folder that holds every unpacked archive: ``LC_RUNTIME["IMPORT_UNPACK_DIR"]``, or
    ``lc-runtime-imports-<uid>`` in the system's temporary folder. Created private (0700) if missing;
    refused if it is a link or belongs to another user (a shared /tmp).
    """
    parent = _configured_parent()
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = parent.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise OlxError(f"{parent} is not a folder of this user: refusing to unpack there")
    return parent


def _host_tag() -> str:
    # Short and free of the separator: host names may hold dots and be long.
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, only whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


def sweep_unpacked_leftovers(parent: Path | None = None) -> list[Path]:
    """
    Remove the unpacked folders that imports killed before they could clean up left in ``parent``
    (default :func:`unpack_parent`): those made on this host by a process that is gone, and any older
    than :data:`STALE_AFTER_SECONDS`. Folders of running imports stay. Returns what was removed.
    """
    parent = parent or unpack_parent()
    host, now, removed = _host_tag(), time.time(), []
    for entry in parent.iterdir():
        parts = entry.name.split(".")  # prefix, host, pid, start time, random
        if not entry.name.startswith(UNPACKED_PREFIX) or len(parts) != 5 or not (parts[2] + parts[3]).isdigit():
            continue  # not ours: leave it
        # Aged by the start time in its name, not by its mtime: unpacking sets the folder's mtime from
        # the archive's "./" member, which may be years old while the import is still running.
        old = now - int(parts[3]) > STALE_AFTER_SECONDS
        if old or (parts[1] == host and _process_is_gone(int(parts[2]))):
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                log.info("Removed %s, left by an import that did not finish", entry)
                removed.append(entry)
    return removed


@contextmanager
def _open_filesystem(source: OlxSource) -> Iterator[FS]:
    if _configured_parent().is_dir():  # every import sweeps, whatever it reads: a folder import may be next
        try:
            sweep_unpacked_leftovers()
        except (OlxError, OSError):  # a folder or zip import needs no unpacking: do not fail it for this
            log.exception("Could not sweep the folders left by unfinished imports")
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
        # Named after this host and process, under the one parent the next import sweeps: see the module docstring.
        parent = unpack_parent()
        prefix = f"{UNPACKED_PREFIX}{_host_tag()}.{os.getpid()}.{int(time.time())}."
        with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as unpacked:
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
