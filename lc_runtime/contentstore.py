"""
A contentstore-shaped door to a course's static files, for edx-platform's asset views and
``StaticContent`` users (the design note's "LearningCoreContentstore").

:class:`LearningCoreContentStore` answers ``find``, ``save``, ``delete``, ``get_all_content_for_course``
(paging, sorting, filters), ``get_attr``/``set_attr`` (``locked``), ``generate_thumbnail`` and the
rest of the calls Studio's asset pages make, with ``asset-v1:`` keys. Files are versioned in Learning
Core like the course's blocks (ADR 0010), but in edx-platform an uploaded file is live at once: so
every write here publishes that file, and reads see what is published. A file's ``asset-v1:`` name is
edx-platform's (folders joined by ``_``); a file saved under a name it already has keeps its path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import AssetKey, CourseKey

from lc_runtime import api
from lc_runtime.content.assets.api import asset_name, image_of_thumbnail, thumbnail_bytes, thumbnail_name
from lc_runtime.keys import to_course_key
from lc_runtime.qualifiers import matches

try:  # pragma: no cover - inside edx-platform
    from xmodule.exceptions import NotFoundError
except ImportError:
    class NotFoundError(Exception):
        """No file at the key asked for."""

__all__ = ["LearningCoreContentStore", "NotFoundError", "StaticContent"]

_SORTABLE = {"displayname", "contentType", "uploadDate", "length", "locked"}


@dataclass
class StaticContent:
    """A course file as edx-platform's ``StaticContent`` has it (the same attribute names)."""

    location: AssetKey
    name: str
    content_type: str
    data: bytes | None = None
    last_modified_at: datetime | None = None
    thumbnail_location: AssetKey | None = None
    import_path: str | None = None
    length: int | None = None
    locked: bool = False
    content_digest: str | None = None
    _stored: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.length is None and self.data is not None:
            self.length = len(self.data)

    @property
    def is_thumbnail(self) -> bool:
        return self.location.block_type == "thumbnail"

    @staticmethod
    def compute_location(course_key, path: str, revision=None, is_thumbnail: bool = False) -> AssetKey:
        """The ``asset-v1:`` key of a file of ``course_key`` at ``path``."""
        return to_course_key(course_key).make_asset_key("thumbnail" if is_thumbnail else "asset", asset_name(path))

    def stream_data(self) -> Iterable[bytes]:
        """The bytes, in chunks."""
        if self.data is not None:
            yield self.data
            return
        with self._stored.open() as handle:
            while chunk := handle.read(65536):
                yield chunk


class LearningCoreContentStore:
    """The contentstore API over a course's static files in Learning Core (see the module's docs)."""

    # ---- reading

    @staticmethod
    def _key(location) -> AssetKey:
        try:
            return location if isinstance(location, AssetKey) else AssetKey.from_string(str(location))
        except InvalidKeyError as exc:
            raise NotFoundError(str(location)) from exc

    def _course_and_name(self, location) -> tuple[CourseKey, str]:
        key = self._key(location)
        return key.course_key, key.block_id

    def _stored(self, location):
        course_key, name = self._course_and_name(location)
        try:
            return api.find_asset(course_key, name)
        except (api.CourseNotFound, api.AssetError):
            return None

    def _content(self, course_key: CourseKey, stored, *, with_data: bool) -> StaticContent:
        location = StaticContent.compute_location(course_key, stored.path)
        thumbnail = (StaticContent.compute_location(course_key, thumbnail_name(stored.name), is_thumbnail=True)
                     if stored.content_type.startswith("image/") else None)
        return StaticContent(
            location=location, name=stored.name, content_type=stored.content_type,
            data=stored.read() if with_data else None, last_modified_at=stored.modified,
            thumbnail_location=thumbnail, import_path=stored.path, length=stored.size, locked=stored.locked,
            content_digest=stored.hash_digest, _stored=stored,
        )

    def find(self, location, throw_on_not_found: bool = True, as_stream: bool = False) -> StaticContent | None:
        """The published file at ``location`` (its bytes read, unless ``as_stream``); raises ``NotFoundError``."""
        key = self._key(location)
        if key.block_type == "thumbnail":
            return self._thumbnail(key, throw_on_not_found)
        stored = self._stored(key)
        if stored is None:
            if throw_on_not_found:
                raise NotFoundError(str(location))
            return None
        return self._content(key.course_key, stored, with_data=not as_stream)

    def get_stream(self, location) -> Iterable[bytes]:
        """The bytes of the published file at ``location``, in chunks."""
        return self.find(location, as_stream=True).stream_data()

    def _thumbnail(self, location: AssetKey, throw_on_not_found: bool) -> StaticContent | None:
        course_key = location.course_key
        stored = made = None
        for image in image_of_thumbnail(location.block_id):
            stored = self._stored(course_key.make_asset_key("asset", image))
            made = thumbnail_bytes(stored) if stored is not None else None
            if made is not None:
                break
        if made is None:
            if throw_on_not_found:
                raise NotFoundError(str(location))
            return None
        return StaticContent(location=location, name=location.block_id, content_type="image/jpeg", data=made,
                             last_modified_at=stored.modified, locked=stored.locked)

    def get_all_content_for_course(
        self,
        course_key,
        start: int = 0,
        maxresults: int = -1,
        sort=None,
        filter_params: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict], int]:
        """
        The course's published files as edx-platform lists them (``asset_key``, ``displayname``,
        ``contentType``, ``length``, ``uploadDate``, ``locked``, ``thumbnail_location``, ``import_path``...),
        filtered by ``filter_params`` (operators as the modulestore's), sorted by ``sort`` (a
        ``(field, 1 | -1)`` or a list of them; by name by default), from ``start``, at most ``maxresults``
        (all with -1); and how many match in all.
        """
        key = to_course_key(course_key)
        rows = [self._row(key, stored) for stored in api.list_assets(key)]
        if filter_params:
            rows = [row for row in rows if _row_matches(row, filter_params)]
        for name, direction in reversed(_sort_keys(sort)):
            rows.sort(key=lambda row, name=name: (row[name] is None, row[name]), reverse=direction == -1)
        total = len(rows)
        end = None if maxresults is None or maxresults < 0 else start + maxresults
        return rows[start:end], total

    def _row(self, course_key: CourseKey, stored) -> dict:
        content = self._content(course_key, stored, with_data=False)
        thumbnail = content.thumbnail_location
        return {
            "_id": content.location, "asset_key": content.location, "filename": str(content.location),
            "displayname": stored.name, "contentType": stored.content_type, "length": stored.size,
            "uploadDate": stored.modified, "locked": stored.locked,
            # As edx-platform's contentstore keeps it, and Studio reads it (the name at index 4).
            "thumbnail_location": (
                ("c4x", course_key.org, course_key.course, "thumbnail", thumbnail.block_id, None)
                if thumbnail is not None else None
            ),
            "import_path": stored.path, "md5": stored.hash_digest,
        }

    def get_attr(self, location, attr: str, default=None):
        """A file's attribute (``locked``, ``displayname``, ``contentType``, ``length``, ``uploadDate``...)."""
        return self.get_attrs(location).get(attr, default)

    def get_attrs(self, location) -> dict:
        """Every listed attribute of a file; raises ``NotFoundError``."""
        stored = self._stored(location)
        if stored is None:
            raise NotFoundError(str(location))
        return self._row(self._course_and_name(location)[0], stored)

    # ---- writing (published at once, as edx-platform's contentstore is live)

    def save(self, content: StaticContent) -> StaticContent:
        """Store ``content`` (its bytes, type and lock) as the file its location names, published."""
        course_key, name = self._course_and_name(content.location)
        existing = self._stored(content.location)
        path = existing.path if existing is not None else (content.import_path or name)
        data = content.data if content.data is not None else b"".join(content.stream_data())
        stored = api.save_asset(course_key, path, data, content.content_type, locked=content.locked, publish=True)
        return self._content(course_key, stored, with_data=True)

    def set_attr(self, location, attr: str, value) -> None:
        """Set ``locked`` (the one attribute a course file carries besides its bytes and type)."""
        self.set_attrs(location, {attr: value})

    def set_attrs(self, location, attrs: Mapping[str, Any]) -> None:
        """Set attributes of a file: ``locked`` only; others raise ``NotImplementedError`` naming them."""
        unsupported = sorted(set(attrs) - {"locked"})
        if unsupported:
            raise NotImplementedError(f"LearningCoreContentStore.set_attrs: cannot set {', '.join(unsupported)}")
        stored = self._stored(location)
        if stored is None:
            raise NotFoundError(str(location))
        course_key, _name = self._course_and_name(location)
        api.save_asset(course_key, stored.path, stored.read(), stored.content_type, locked=bool(attrs["locked"]),
                       publish=True)

    def delete(self, location) -> None:
        """Remove the file (learners lose it at once); a missing file is no error, as in edx-platform."""
        stored = self._stored(location)
        if stored is not None:
            course_key, _name = self._course_and_name(location)
            api.delete_asset(course_key, stored.path, publish=True)

    def delete_all_course_assets(self, course_key) -> None:
        """Remove every file of the course, published at once."""
        key = to_course_key(course_key)
        for stored in api.list_assets(key):
            api.delete_asset(key, stored.path, publish=True)

    def generate_thumbnail(self, content: StaticContent, tempfile_path=None, dimensions=None):
        """
        ``(thumbnail, thumbnail_location)`` for an image, ``(None, None)`` otherwise. Thumbnails are made
        from the stored image when asked (and cached), never stored: nothing to save.
        """
        if not content.content_type.startswith("image/"):
            return None, None
        course_key, name = self._course_and_name(content.location)
        location = StaticContent.compute_location(course_key, thumbnail_name(asset_name(name)), is_thumbnail=True)
        thumbnail = self._thumbnail(location, throw_on_not_found=False)
        return thumbnail, (location if thumbnail is not None else None)

    def copy_all_course_assets(self, source_course_key, dest_course_key) -> None:
        """Not supported: a new run of a course shares its files (``api.create_run``); nothing to copy."""
        raise NotImplementedError(
            "LearningCoreContentStore.copy_all_course_assets: runs of one course share its files (api.create_run)"
        )

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def unsupported(*args, **kwargs):
            raise NotImplementedError(f"LearningCoreContentStore.{name} is not supported (see the README)")

        return unsupported


def _row_matches(row: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """``filter_params`` as Studio writes them: fields with operators, ``$or`` / ``$and`` of such filters."""
    for name, criterion in wanted.items():
        if name == "$or":
            if not any(_row_matches(row, option) for option in criterion):
                return False
        elif name == "$and":
            if not all(_row_matches(row, option) for option in criterion):
                return False
        elif not matches(row.get(name), criterion):
            return False
    return True


def _sort_keys(sort) -> list[tuple[str, int]]:
    if not sort:
        return [("displayname", 1)]
    keys = [sort] if isinstance(sort, tuple) and len(sort) == 2 and isinstance(sort[0], str) else list(sort)
    for name, direction in keys:
        if name not in _SORTABLE or direction not in (1, -1):
            raise ValueError(f"cannot sort by {name!r} ({direction!r}): by one of {sorted(_SORTABLE)}, 1 or -1")
    return keys
