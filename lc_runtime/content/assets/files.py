"""
A course's static files as Learning Core media: the store behind ``/static/...`` references.

Each file of a course's ``static/`` folder (Studio's "Files & Uploads") is one component of type
``openedx.v1:upload`` in the course's LearningPackage, as openedx-core's draft ADR 0013 proposes,
holding the file's bytes as file-backed Media at ``static/<path>`` (ADR 0010). So a file is versioned,
drafted and published like every block of the course: saving the same bytes again writes nothing,
changed bytes make exactly one new version, and learners see a file only once it is published.

Names: edx-platform names a course asset after its path, with ``/`` and every character outside
``[\\w.%-]`` replaced by ``_`` (``images/Why use CSS.png`` is the asset ``images_Why_use_CSS.png``), and
resolves ``/static/<ref>`` through that name. The component code is that name, so a reference finds
its file in one query whichever spelling it uses, while the path as written stays in the version's
media, so an export writes the same file back. Two paths with one name (``a b.png`` and ``a_b.png``)
share one component and both files are kept; a reference spelled exactly like one of them gets it.

Bytes go to the storage ``settings.OPENEDX_LEARNING["MEDIA"]`` names (local disk by default, any
django-storages backend in production). Storage writes are not transactional: a rolled-back write may
leave an unreferenced blob behind, never a reference to a missing one.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.files.base import File
from django.db.models import Subquery
from openedx_content import api as content_api
from openedx_content.applets.media.models import get_storage
from openedx_content.models_api import Component, ComponentVersionMedia, Draft, Media
from openedx_django_lib.fields import create_hash_digest

from lc_runtime.content.assets.models import AssetSettings
from lc_runtime.content.courses.api import (
    ChangeCounts,
    Mode,
    check_mode,
    package_of_run_query,
    publish_drafts,
    utc_now,
)
from lc_runtime.keys import code_from_block_id

UPLOAD_NAMESPACE = "openedx.v1"
UPLOAD_TYPE = "upload"
"""The component type of a course static file: openedx-core's draft ADR 0013 names it ``openedx.v1:upload``."""

STATIC_PREFIX = "static/"
"""Where a file sits in its component version's media: ``static/<path>``, openedx-core's convention for assets."""

MAX_ASSET_BYTES = Media.MAX_FILE_SIZE
"""The largest file Learning Core stores (50,000,000 bytes)."""

MAX_PATH_LENGTH = 400  # ComponentVersionMedia paths hold 500 characters, "static/" included, with room to spare

# edx-platform's asset names (opaque-keys' AssetLocator.clean_keeping_underscores after "/" -> "_").
_NOT_IN_ASSET_NAME = re.compile(r"[^\w.%-]", re.UNICODE)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][\w!#$&^.-]*/[a-z0-9][\w!#$&^.-]*(\+[\w!#$&^.-]+)?\Z")
# Types edx-platform gives files that mimetypes does not know, or knows differently.
_EXTRA_CONTENT_TYPES = {
    ".srt": "application/octet-stream",
    ".sjson": "application/octet-stream",
    ".vtt": "text/vtt",
}


class AssetError(ValueError):
    """A static file that cannot be stored as given."""


class InvalidAssetPath(AssetError):
    """A path that is not a plain relative path inside a course's static files."""


class AssetTooLarge(AssetError):
    """A file larger than Learning Core stores."""


class InvalidContentType(AssetError):
    """A content type that is not ``type/subtype`` (with at most one ``+suffix``)."""


def validate_asset_path(path: str) -> str:
    """
    Return ``path`` if it names a file inside a course's static files, else raise :class:`InvalidAssetPath`.

    A path is relative and uses ``/``: no leading ``/``, no ``\\``, no empty, ``.`` or ``..`` segment,
    no control characters, no surrounding whitespace, at most 400 characters.
    """
    if not isinstance(path, str) or not path:
        raise InvalidAssetPath("an asset path must be a non-empty string")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidAssetPath(f"asset path is longer than {MAX_PATH_LENGTH} characters: {path[:40]!r}...")
    if path != path.strip():
        raise InvalidAssetPath(f"asset path {path!r} starts or ends with whitespace")
    if "\\" in path or _CONTROL_CHARACTERS.search(path):
        raise InvalidAssetPath(f"asset path {path!r} holds a backslash or a control character")
    if path.startswith("/"):
        raise InvalidAssetPath(f"asset path {path!r} is absolute; give it relative to the static folder")
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise InvalidAssetPath(f"asset path {path!r} has an empty, '.' or '..' segment")
    return path


def asset_name(path: str) -> str:
    """
    The edx-platform name of the asset at ``path``: what ``asset-v1:...+type@asset+block@<name>`` keys
    and ``/static/<ref>`` references resolve through.

    >>> asset_name("images/Why use CSS.png")
    'images_Why_use_CSS.png'
    """
    return _NOT_IN_ASSET_NAME.sub("_", path.replace("/", "_"))


def _component_code(path: str) -> str:
    code = code_from_block_id(asset_name(path))  # names with "%" are hex-encoded: codes allow [\w.-] only
    if len(code) > 255:
        raise InvalidAssetPath(f"asset path {path[:40]!r}... makes a name longer than Learning Core codes allow")
    return code


def normalize_content_type(content_type: str) -> str:
    """``content_type`` in lower case, or :class:`InvalidContentType` if it is not ``type/subtype[+suffix]``."""
    normalized = str(content_type).strip().lower()
    if not _CONTENT_TYPE.match(normalized):
        raise InvalidContentType(f"not a content type: {content_type!r} (expected type/subtype, no parameters)")
    return normalized


def guess_content_type(path: str) -> str:
    """A file's content type from its extension, as edx-platform guesses it; ``application/octet-stream`` if unknown."""
    lowered = path.lower()
    for extension, content_type in _EXTRA_CONTENT_TYPES.items():
        if lowered.endswith(extension):
            return content_type
    guessed, encoding = mimetypes.guess_type(path, strict=False)
    if encoding == "gzip":
        return "application/gzip"
    if guessed is None or encoding is not None:
        return "application/octet-stream"
    return guessed


@dataclass(frozen=True)
class StoredAsset:
    """One static file of a course, as stored in one mode (published or draft)."""

    path: str
    """Its path inside the course's static files, as written (``images/Why use CSS.png``)."""
    name: str
    """Its edx-platform asset name (``images_Why_use_CSS.png``)."""
    content_type: str
    size: int
    hash_digest: str
    """The hash of its bytes (openedx-core's): a strong ETag."""
    version_num: int
    modified: datetime
    """When this version was written: the Last-Modified of the file."""
    locked: bool
    """Served only to logged-in users."""
    media: Media = field(repr=False, compare=False)

    def open(self) -> File:
        """The file's bytes, opened for reading from the media storage; close it when done."""
        return self.media.read_file()

    def read(self) -> bytes:
        """The file's bytes."""
        with self.open() as handle:
            return handle.read()

    def storage_url(self) -> str | None:
        """
        The media storage's own absolute URL for the bytes (django-storages' S3 gives signed URLs), or None
        when the storage has none (a file system storage) or the bytes are not in a file.
        """
        if not self.media.has_file:
            return None
        try:
            url = get_storage().url(self.media.path)
        except NotImplementedError:
            return None
        return url if url.startswith(("https://", "http://")) else None


def _stored_files(mode: Mode):
    """The media rows of every upload component's version in ``mode``, with what StoredAsset needs (one query)."""
    version = "component_version__publishable_entity_version"
    return (
        ComponentVersionMedia.objects.filter(
            component_version__component__component_type__namespace=UPLOAD_NAMESPACE,
            component_version__component__component_type__name=UPLOAD_TYPE,
            path__startswith=STATIC_PREFIX,
            **{f"{version}__{check_mode(mode)}__isnull": False},
        )
        .select_related(
            "media__media_type",
            "media__learning_package",
            version,
            f"{version}__lc_asset_settings",
        )
        .order_by("path")
    )


def _stored_asset(row: ComponentVersionMedia) -> StoredAsset:
    version = row.component_version.publishable_entity_version
    try:
        locked = version.lc_asset_settings.locked
    except AssetSettings.DoesNotExist:
        locked = False
    path = row.path.removeprefix(STATIC_PREFIX)
    return StoredAsset(
        path=path,
        name=asset_name(path),
        content_type=row.media.mime_type,
        size=row.media.size,
        hash_digest=row.media.hash_digest,
        version_num=version.version_num,
        modified=version.created,
        locked=locked,
        media=row.media,
    )


def _pick(rows: list[ComponentVersionMedia], path: str) -> StoredAsset | None:
    """The file a reference means among those sharing its name: the one spelled like it, else the first."""
    if not rows:
        return None
    exact = [row for row in rows if row.path == STATIC_PREFIX + path]
    return _stored_asset(exact[0] if exact else rows[0])


def find_asset(package_id: int, path: str, *, mode: Mode) -> StoredAsset | None:
    """
    The static file that ``path`` names in a package, or None: one query.

    ``path`` is a path or any spelling with the same edx-platform name (``Why use CSS.png`` or
    ``Why_use_CSS.png``). Raises :class:`InvalidAssetPath` for a path that climbs out with ``..``.
    """
    code = _component_code(validate_asset_path(path))
    rows = list(
        _stored_files(mode).filter(
            component_version__component__learning_package_id=package_id,
            component_version__component__component_code=code,
        )
    )
    return _pick(rows, path)


def find_course_asset(course_key, path: str, *, mode: Mode) -> StoredAsset | None:
    """
    Like :func:`find_asset`, by course run key: one query, and None for an unknown run too.

    This is what serving a file costs.
    """
    code = _component_code(validate_asset_path(path))
    package = package_of_run_query(course_key)
    rows = list(
        _stored_files(mode).filter(
            component_version__component__learning_package_id=Subquery(package),
            component_version__component__component_code=code,
        )
    )
    return _pick(rows, path)


def list_assets(package_id: int, *, mode: Mode) -> list[StoredAsset]:
    """Every static file of a package in ``mode``, by path: one query."""
    return [
        _stored_asset(row)
        for row in _stored_files(mode).filter(component_version__component__learning_package_id=package_id)
    ]


def publish_assets(package_id: int, paths: Iterable[str], *, published_by: int | None = None) -> int | None:
    """
    Publish the drafts (changes and deletions) of the static files at ``paths`` only; return the PublishLog id.

    Returns None, writing nothing, when none of them has an unpublished change.
    """
    codes = {_component_code(validate_asset_path(path)) for path in paths}
    drafts = Draft.objects.with_unpublished_changes().filter(
        entity__learning_package_id=package_id,
        entity__component__component_type__namespace=UPLOAD_NAMESPACE,
        entity__component__component_type__name=UPLOAD_TYPE,
        entity__component__component_code__in=codes,
    )
    if not drafts.exists():
        return None
    return publish_drafts(package_id, drafts, published_by=published_by).id


@dataclass(frozen=True)
class _File:
    """One file of an upload component's draft: its Media, and what identifies that Media's bytes."""

    media_id: int
    hash_digest: str
    content_type: str


@dataclass
class _Upload:
    """The draft state of one upload component, as a writer keeps it."""

    component_id: int
    files: dict[str, _File] = field(default_factory=dict)  # "static/<path>" -> its file; empty: no draft
    title: str = ""
    locked: bool = False


class AssetWriter:
    """
    Writes a package's static files as drafts; each write makes a new version only when something changed.

    The draft state of a file's component is read on first use (two queries; :meth:`paths` reads all
    of them at once) and kept up to date as the writer writes: use one writer per import or request,
    inside one transaction.
    """

    def __init__(self, package_id: int, *, created_by: int | None = None) -> None:
        self.package_id = package_id
        self.created_by = created_by
        self.counts = ChangeCounts()
        self._uploads: dict[str, _Upload] = {}
        self._loaded: set[str] | None = set()  # the codes whose state is loaded; None: all of them
        self._media_types: dict[str, int] = {}
        self._component_type = None

    def _load(self, code: str | None) -> None:
        """Read the draft state of one upload component (``code``), or of all of them (None): two queries."""
        if self._loaded is None or (code is not None and code in self._loaded):
            return
        components = Component.objects.filter(
            learning_package_id=self.package_id, component_type__namespace=UPLOAD_NAMESPACE,
            component_type__name=UPLOAD_TYPE,
        )
        version = "component_version__publishable_entity_version"
        files = ComponentVersionMedia.objects.filter(
            component_version__component__learning_package_id=self.package_id,
            component_version__component__component_type__namespace=UPLOAD_NAMESPACE,
            component_version__component__component_type__name=UPLOAD_TYPE,
            **{f"{version}__draft__isnull": False},
        )
        if code is not None:
            components = components.filter(component_code=code)
            files = files.filter(component_version__component__component_code=code)
        for component_id, component_code in components.values_list("publishable_entity_id", "component_code"):
            self._uploads.setdefault(component_code, _Upload(component_id))
        rows = files.values_list(
            "component_version__component__component_code",
            "path",
            "media_id",
            "media__hash_digest",
            "media__media_type__type",
            "media__media_type__sub_type",
            "media__media_type__suffix",
            f"{version}__title",
            f"{version}__lc_asset_settings__locked",
        )
        for component_code, path, media_id, hash_digest, main_type, sub_type, suffix, title, locked in rows:
            upload = self._uploads[component_code]
            content_type = f"{main_type}/{sub_type}{f'+{suffix}' if suffix else ''}".lower()
            upload.files[path] = _File(media_id, hash_digest, content_type)
            upload.title = title
            upload.locked = bool(locked)
        if code is None:
            self._loaded = None
        else:
            self._loaded.add(code)

    def _upload(self, code: str) -> _Upload | None:
        self._load(code)
        return self._uploads.get(code)

    def paths(self) -> set[str]:
        """The paths of every static file in the package's draft."""
        self._load(None)
        return {
            path.removeprefix(STATIC_PREFIX)
            for upload in self._uploads.values()
            for path in upload.files
            if path.startswith(STATIC_PREFIX)
        }

    def _media_type_id(self, content_type: str) -> int:
        if content_type not in self._media_types:
            self._media_types[content_type] = content_api.get_or_create_media_type(content_type).id
        return self._media_types[content_type]

    def save(self, path: str, data: bytes, *, content_type: str | None = None, locked: bool = False) -> str:
        """
        Make ``data`` the draft of the static file at ``path``; return ``"created"``, ``"updated"`` or ``"unchanged"``.

        ``content_type`` defaults to a guess from the extension. Raises :class:`InvalidAssetPath`,
        :class:`AssetTooLarge` or :class:`InvalidContentType`, before writing anything.
        """
        path = validate_asset_path(path)
        code = _component_code(path)
        if not isinstance(data, bytes | bytearray):
            raise AssetError(f"the bytes of {path!r} must be bytes, not {type(data).__name__}")
        if len(data) > MAX_ASSET_BYTES:
            raise AssetTooLarge(
                f"{path!r} is {len(data):,} bytes; Learning Core stores files up to {MAX_ASSET_BYTES:,}"
            )
        content_type = normalize_content_type(content_type) if content_type else guess_content_type(path)
        stored_path = STATIC_PREFIX + path
        upload = self._upload(code)
        files = dict(upload.files) if upload is not None else {}
        existed = stored_path in files
        # Same bytes, same type, same lock: nothing to write, and no query to find that out.
        if (
            existed
            and files[stored_path] == _File(files[stored_path].media_id, create_hash_digest(bytes(data)), content_type)
            and upload.locked == locked
            and upload.title == _title(files)
        ):
            self.counts.count(UPLOAD_TYPE, "unchanged")
            return "unchanged"
        media = content_api.get_or_create_file_media(
            self.package_id, self._media_type_id(content_type), data=bytes(data), created=utc_now()
        )
        files[stored_path] = _File(media.id, media.hash_digest, content_type)
        self._write(code, upload, files, locked)
        outcome = "updated" if existed else "created"
        self.counts.count(UPLOAD_TYPE, outcome, path)
        return outcome

    def delete(self, path: str) -> bool:
        """Remove the static file at ``path`` from the draft; return False if the draft has no such file."""
        path = validate_asset_path(path)
        upload = self._upload(_component_code(path))
        stored_path = STATIC_PREFIX + path
        if upload is None or stored_path not in upload.files:
            return False
        remaining = {other: media for other, media in upload.files.items() if other != stored_path}
        if remaining:
            self._write(_component_code(path), upload, remaining, upload.locked)
        else:
            content_api.soft_delete_draft(upload.component_id, deleted_by=self.created_by)
            upload.files = {}
        self.counts.count(UPLOAD_TYPE, "deleted", path)
        return True

    def _write(self, code: str, upload: _Upload | None, files: dict[str, _File], locked: bool) -> None:
        title = _title(files)
        if upload is None:
            if self._component_type is None:
                self._component_type = content_api.get_or_create_component_type(UPLOAD_NAMESPACE, UPLOAD_TYPE)
            component, version = content_api.create_component_and_version(
                self.package_id,
                component_type=self._component_type,
                component_code=code,
                title=title,
                created=utc_now(),
                created_by=self.created_by,
                media={path: file.media_id for path, file in files.items()},
            )
            upload = self._uploads[code] = _Upload(component.id)
        else:
            # The whole file set is given: the previous version's media is copied from the latest
            # version, which after a delete is not the (empty) draft.
            version = content_api.create_next_component_version(
                upload.component_id,
                media_to_replace={path: file.media_id for path, file in files.items()},
                created=utc_now(),
                title=title,
                created_by=self.created_by,
                ignore_previous_media=True,
            )
        if locked:
            AssetSettings.objects.create(component_version_id=version.pk, locked=True)
        upload.files, upload.title, upload.locked = files, title, locked


def _title(files: dict[str, _File]) -> str:
    """A file's title is its path (the first path, for files sharing one name), so that it never flips."""
    return min(files).removeprefix(STATIC_PREFIX) if files else ""
