"""
Importing the ``static/`` folder of a course export as the course's static files.

Every file below ``static/`` becomes (or updates) a static file of the course in Learning Core (see
:mod:`lc_runtime.content.assets`), at its path as written, with the content type and lock that
``policies/assets.json`` gives it (edx-platform's export writes that file) or else the type its
extension suggests. The export is the course's new draft, so files that are no longer in the export
are removed from the draft (their versions stay in the history). Files edx-platform's import skips
(``._*``, ``.DS_Store``, ``*~``) are skipped too. A file that cannot be stored (too large, a path that
Learning Core cannot hold, a link leading out of the export, unreadable) is left out and reported as
an import problem, and its stored version, if any, is kept; links to folders are not followed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from fs.base import FS
from fs.errors import NoSysPath

from lc_runtime.content.assets.api import (
    MAX_ASSET_BYTES,
    AssetError,
    AssetWriter,
    InvalidContentType,
    asset_name,
    normalize_content_type,
)
from lc_runtime.olx.parsing import OlxError, UnreadableExport, read_export_file, read_json_object

__all__ = ["ASSET_POLICY_FILE", "STATIC_FOLDER", "StaticImportCounts", "import_static_files"]

STATIC_FOLDER = "static"
ASSET_POLICY_FILE = "policies/assets.json"
# edx-platform's default ASSET_IGNORE_REGEX: macOS metadata and editor backups.
_IGNORED_FILE = re.compile(r"(^\._.*$)|(^\.DS_Store$)|(^.*~$)")


@dataclass
class StaticImportCounts:
    """What an import did to the course's static files."""

    files: int = 0
    """Files of the export's ``static/`` folder imported (unchanged ones included)."""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    """Files of the course's draft that the export no longer has."""
    skipped: int = 0
    """Files left out: ignored names and files reported as problems."""


def _asset_policy(root_fs: FS) -> dict[str, dict]:
    """``policies/assets.json``: asset name -> {contentType, locked, displayname, ...}; empty when absent."""
    policy = read_json_object(root_fs, ASSET_POLICY_FILE)
    return {name: entry for name, entry in policy.items() if isinstance(entry, dict)}


def _leads_outside(root_fs: FS, path: str) -> bool:
    """True for a file on disk reached through a link that leads outside the export (archives have no links)."""
    try:
        real = os.path.realpath(root_fs.getsyspath(path))
        root = os.path.realpath(root_fs.getsyspath("/"))
    except NoSysPath:
        return False
    return os.path.commonpath([real, root]) != root


def _static_paths(root_fs: FS) -> tuple[list[str], list[str]]:
    """The files below ``static/``, sorted, and the links to folders found there (not followed: they may loop)."""
    files: list[str] = []
    folder_links: list[str] = []
    if not root_fs.isdir(STATIC_FOLDER):
        return files, folder_links
    pending = [f"/{STATIC_FOLDER}"]
    while pending:
        folder = pending.pop()
        for entry in root_fs.scandir(folder):
            path = f"{folder}/{entry.name}"
            if entry.is_dir:
                (folder_links if root_fs.islink(path) else pending).append(path)
            else:
                files.append(path)
    return sorted(files), sorted(folder_links)


def import_static_files(
    root_fs: FS,
    package_id: int,
    *,
    created_by: int | None = None,
    progress: Callable[[str], None] = lambda _tag: None,
    problem: Callable[..., None],
) -> StaticImportCounts:
    """
    Import the ``static/`` folder of the export in ``root_fs`` into the package's draft.

    Call it inside the import's transaction (and bulk change). ``progress("static")`` is called once
    per file; ``problem(message, None, file=...)`` once per file left out. Raises :class:`OlxError`
    for a malformed ``policies/assets.json``, before writing anything.
    """
    policy = _asset_policy(root_fs)
    writer = AssetWriter(package_id, created_by=created_by)
    counts = StaticImportCounts()
    stored = writer.paths()  # reads the draft state of every stored file at once (two queries)
    kept: set[str] = set()
    files, folder_links = _static_paths(root_fs)
    for link in folder_links:
        problem("static folder is a link: not followed, its files are not imported", None, file=link.lstrip("/"))
        counts.skipped += 1
    for full_path in files:
        path = full_path.removeprefix(f"/{STATIC_FOLDER}/")
        file = f"{STATIC_FOLDER}/{path}"
        progress("static")
        if _IGNORED_FILE.match(path.rsplit("/", 1)[-1]):
            counts.skipped += 1
            continue
        kept.add(path)  # a file left out keeps what is stored for it
        if _leads_outside(root_fs, full_path):
            problem("static file is a link that leads outside the export: not imported", None, file=file)
            counts.skipped += 1
            continue
        size = root_fs.getsize(full_path)
        if size > MAX_ASSET_BYTES:
            problem(f"static file is {size:,} bytes; Learning Core stores files up to {MAX_ASSET_BYTES:,}: "
                    "not imported", None, file=file)
            counts.skipped += 1
            continue
        entry = policy.get(asset_name(path), {})
        try:
            content_type = normalize_content_type(entry["contentType"]) if entry.get("contentType") else None
        except InvalidContentType:
            content_type = None  # as edx-platform does with a type it does not know: guess from the extension
        try:
            data = read_export_file(root_fs, full_path)
        except UnreadableExport:
            raise  # a corrupt archive: the rest of it is not to be trusted either
        except OlxError as exc:  # a link inside the export, a file that is gone: left out, as links outside are
            problem(f"static file could not be read: {exc.message}", None, file=file)
            counts.skipped += 1
            continue
        try:
            outcome = writer.save(path, data, content_type=content_type, locked=entry.get("locked") is True)
        except AssetError as exc:
            problem(f"static file not imported: {exc}", None, file=file)
            counts.skipped += 1
            continue
        counts.files += 1
        setattr(counts, outcome, getattr(counts, outcome) + 1)
    for path in sorted(stored - kept):
        writer.delete(path)
        counts.deleted += 1
    return counts
