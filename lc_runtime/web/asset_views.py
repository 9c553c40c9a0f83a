"""
Views: a course's static files, and lc-runtime's own target for ``/jump_to_id/`` links.

``assets/<course key>/<path>`` serves the published file (one query), ``assets/draft/<course
key>/<path>`` the draft (to the course's authors only: its staff and instructors by
``LC_RUNTIME["ROLES"]``). ``<path>`` is the file's path or any spelling with the same
edx-platform asset name, so the URLs that ``replace_urls`` makes of ``/static/<path>`` work, and so do
relative links between static files (an HTML file and its scripts). Responses carry the stored
content type, Content-Length, a strong ETag (the hash of the bytes) and Last-Modified, answer
``If-None-Match`` with 304, answer a single ``Range`` (206, or 416 outside the file; ``If-Range``
honoured), and are never sniffed (``X-Content-Type-Options: nosniff``). Locked files go to the run's
staff (by the role provider) and to the users ``LC_RUNTIME["ENROLLMENT"]`` says are enrolled (every
logged-in user when it is unset). Where the media storage has URLs of its own (django-storages' S3),
the view redirects there for published files that are not locked, instead of streaming the bytes.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import path
from django.utils.html import escape
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import AssetKey
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.assets.api import AssetError, find_course_asset, image_of_thumbnail, thumbnail_bytes
from lc_runtime.keys import InvalidKey, to_course_key

__all__ = ["asset_key_view", "asset_view", "draft_asset_view", "jump_to_id_view", "thumbnail_view", "urlpatterns"]

PUBLISHED_MAX_AGE = 5 * 60  # seconds a browser or CDN may reuse a published file before revalidating it


def _course_key(course_key: str) -> str:
    try:
        return str(to_course_key(course_key))
    except InvalidKey as exc:
        raise Http404(str(exc)) from exc


def _etag_matches(request, etag: str) -> bool:
    wanted = request.headers.get("If-None-Match", "")
    return any(candidate.strip() in (etag, f"W/{etag}", "*") for candidate in wanted.split(","))


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(request, etag: str, size: int) -> tuple[int, int] | None:
    """
    The one byte range (first, last) a ``Range`` request asks for, or None to send the whole file (no
    range, several ranges, or an ``If-Range`` for another version). Raises :class:`_Unsatisfiable`.
    """
    header = request.headers.get("Range")
    if not header or request.headers.get("If-Range", etag) != etag:
        return None
    match = _RANGE.match(header.strip())
    if match is None or not (match[1] or match[2]):
        return None
    if not match[1]:  # the last N bytes
        length = int(match[2])
        if length == 0:
            raise _Unsatisfiable
        return max(0, size - length), size - 1
    first = int(match[1])
    last = min(int(match[2]), size - 1) if match[2] else size - 1
    if first >= size or first > last:
        raise _Unsatisfiable
    return first, last


class _Unsatisfiable(Exception):
    """A byte range outside the file."""


def _byte_chunks(asset, first: int, last: int, chunk: int = 64 * 1024):
    """Bytes ``first`` to ``last`` of a file, read a chunk at a time (a video's range may be most of it)."""
    with asset.open() as handle:
        handle.seek(first)
        left = last - first + 1
        while left > 0:
            data = handle.read(min(chunk, left))
            if not data:
                return
            left -= len(data)
            yield data


def _may_read_locked(request, course_key: str) -> bool:
    """Locked files: the run's staff (the role provider) and, by ``LC_RUNTIME["ENROLLMENT"]``, its learners."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if api.has_staff_access(api.course_roles(user, course_key)):
        return True
    enrolled = get_setting("ENROLLMENT")
    return bool(import_object(enrolled)(user, to_course_key(course_key))) if enrolled else True


def _serve(request, course_key: str, path: str, mode: str):
    try:
        asset = find_course_asset(_course_key(course_key), path, mode=mode)
    except AssetError as exc:
        raise Http404(str(exc)) from exc
    if asset is None:
        raise Http404(f"No static file {path!r} in {course_key}")
    if asset.locked and not _may_read_locked(request, _course_key(course_key)):
        raise PermissionDenied("This file is locked: it is for the course's learners and staff")
    etag = f'"{asset.hash_digest}"'
    if mode == "draft" or asset.locked:
        cache_control = "private, no-cache" if mode == "draft" else f"private, max-age={PUBLISHED_MAX_AGE}"
    else:
        cache_control = f"public, max-age={PUBLISHED_MAX_AGE}"
    # A storage with URLs of its own serves published files that are not locked (its URL outlives this check).
    elsewhere = asset.storage_url() if mode == "published" and not asset.locked else None
    if _etag_matches(request, etag):
        response = HttpResponseNotModified()
    elif elsewhere is not None:  # the storage serves its own files (S3): send the browser there
        response = HttpResponseRedirect(elsewhere)
    else:
        try:
            wanted = _byte_range(request, etag, asset.size)
        except _Unsatisfiable:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{asset.size}"
            return response
        if wanted is None:
            response = FileResponse(asset.open(), content_type=asset.content_type,
                                    filename=asset.path.rsplit("/", 1)[-1])
            response["Content-Length"] = str(asset.size)
        else:
            first, last = wanted
            response = StreamingHttpResponse(_byte_chunks(asset, first, last), status=206,
                                             content_type=asset.content_type)
            response["Content-Length"] = str(last - first + 1)
            response["Content-Range"] = f"bytes {first}-{last}/{asset.size}"
        response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(asset.modified.timestamp())
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def thumbnail_view(request, course_key: str, name: str):
    """The thumbnail of a published image of a course run (a JPEG within 128 x 128), for whoever may read it."""
    asset = made = None
    for image in image_of_thumbnail(name):
        try:
            asset = find_course_asset(_course_key(course_key), image, mode="published")
        except AssetError as exc:
            raise Http404(str(exc)) from exc
        made = thumbnail_bytes(asset) if asset is not None else None
        if made is not None:
            break
    if made is None:
        raise Http404(f"No image in {course_key} has the thumbnail {name!r}")
    if asset.locked and not _may_read_locked(request, _course_key(course_key)):
        raise PermissionDenied("This file is locked: it is for the course's learners and staff")
    etag = f'"{asset.hash_digest}-thumbnail"'
    response = HttpResponseNotModified() if _etag_matches(request, etag) else HttpResponse(
        made, content_type="image/jpeg")
    response["ETag"] = etag
    response["Cache-Control"] = f"{'private' if asset.locked else 'public'}, max-age={PUBLISHED_MAX_AGE}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def asset_key_view(request, asset_key: str):
    """
    A published file, or an image's thumbnail, by its ``asset-v1:`` key: what Studio writes in content
    and edx-platform serves at ``/asset-v1:...`` (see :class:`lc_runtime.web.middleware.AssetKeyMiddleware`).
    """
    try:
        key = AssetKey.from_string(asset_key)
    except InvalidKeyError as exc:
        raise Http404(f"{asset_key!r} is not an asset key") from exc
    if key.block_type == "thumbnail":
        return thumbnail_view(request, str(key.course_key), key.block_id)
    return _serve(request, str(key.course_key), key.block_id, "published")


@require_safe
def asset_view(request, course_key: str, path: str):
    """A published static file of a course run: for anyone, or for logged-in users if it is locked."""
    return _serve(request, course_key, path, "published")


@require_safe
def draft_asset_view(request, course_key: str, path: str):
    """A static file of a course run as its draft stands: for the run's authors only, as every draft."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Draft content is for the course's staff and instructors only")
    key = _course_key(course_key)
    if not api.has_author_access(api.course_roles(user, key)):
        raise PermissionDenied(f"Draft content of {key} is for its staff and instructors only")
    return _serve(request, key, path, "draft")


def _jump_targets(runtime, usage_key) -> list:
    """
    The units that may show a block, best first: the unit holding it, the block itself if it is one,
    or a container's units in course order (the first one the visitor may reach is shown).
    """
    record = runtime.record_of(usage_key)
    if record.block_type in ("course", "chapter", "sequential"):
        units = [
            runtime.usage_key_of(descendant.ref)
            for descendant in runtime.descendant_records(usage_key)
            if descendant.block_type == "vertical"
        ]
        return units or [usage_key]
    current = record
    while current.block_type != "vertical":
        if current.parent is None:
            return [usage_key]
        current = runtime.record_of(runtime.usage_key_of(current.parent))
    return [runtime.usage_key_of(current.ref)]


def _first_reachable(runtime, keys):
    """The first block of ``keys`` the runtime hands out; the last refusal if none."""
    refusal = None
    for key in keys:
        try:
            return runtime.get_block(key)
        except NoSuchUsage as exc:
            refusal = exc
    raise refusal


@require_safe
def jump_to_id_view(request, course_key: str, block_id: str):
    """
    Where ``/jump_to_id/<block id>`` links lead by default: the published unit that holds the block,
    rendered for the visitor on a bare page.

    Inside edx-platform, set ``LC_RUNTIME["JUMP_TO_ID_BASE_URL"]`` to the LMS's
    ``/courses/{course_key}/jump_to_id/`` instead, which opens the courseware there.
    """
    key = _course_key(course_key)
    try:
        # A site without auth middleware has no request.user: a visitor, not a system task.
        runtime = api.get_runtime(getattr(request, "user", None) or AnonymousUser(), course_key=key)
    except (api.CourseNotFound, api.CourseNotPublished) as exc:
        raise Http404(str(exc)) from exc
    matches = sorted(record.ref for record in runtime.iter_records() if record.block_id == block_id)
    if not matches:
        raise Http404(f"No block {block_id!r} in {key}")
    try:
        target = runtime.get_block(runtime.usage_key_of(matches[0]))  # refused if the visitor may not reach it
        unit = _first_reachable(runtime, _jump_targets(runtime, target.scope_ids.usage_id))
    except NoSuchUsage as exc:
        raise Http404(str(exc)) from exc
    fragment = runtime.render(unit, "student_view")
    title = escape(getattr(unit, "display_name", None) or block_id)
    page = (
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>{fragment.head_html()}</head>"
        f"<body>{fragment.body_html()}{fragment.foot_html()}</body></html>"
    )
    return HttpResponse(page)


# Mounted by lc_runtime.web.urls. Draft and thumbnails first: neither is a course key.
urlpatterns = [
    path("assets/draft/<str:course_key>/<path:path>", draft_asset_view, name="draft-asset"),
    path("assets/thumbnail/<str:course_key>/<path:name>", thumbnail_view, name="asset-thumbnail"),
    path("assets/<str:course_key>/<path:path>", asset_view, name="asset"),
    path("jump_to_id/<str:course_key>/<str:block_id>", jump_to_id_view, name="jump-to-id"),
]
