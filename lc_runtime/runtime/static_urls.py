"""
Course-relative URLs in block HTML, rewritten to URLs that work: what ``replace_urls`` does.

Course content links to its own files and pages with edx-platform's portable forms, each written
right after a quote (``"`` or ``'``, or ``\\"`` inside JSON), as edx-platform's ``static_replace``
finds them, or after an HTML-escaped quote (``&quot;``, ``&#34;``, ``&#39;``, ``&#x27;``: JSON that a
Django template wrote into an attribute), up to the same quote:

=========================  ===========================================================================
written                    rewritten to
=========================  ===========================================================================
``/static/<path>``         the course's static file, served by ``lc_runtime.web`` at
                           ``<HANDLER_URL_PREFIX>/assets/<course key>/<path>`` (published) or
                           ``.../assets/draft/<course key>/<path>`` (draft runtimes); a path the
                           host's own static files hold (``django.contrib.staticfiles``, inside
                           edx-platform ``/static/images/...``) goes to those instead, as in edx-platform
``/jump_to_id/<block id>`` ``LC_RUNTIME["JUMP_TO_ID_BASE_URL"]`` + block id (inside edx-platform:
                           ``/courses/{course_key}/jump_to_id/``), by default lc-runtime's own
                           ``<HANDLER_URL_PREFIX>/jump_to_id/<course key>/<block id>``
``/course/<rest>``         ``LC_RUNTIME["COURSE_BASE_URL"]`` + rest (default ``/courses/{course_key}/``,
                           edx-platform's course pages)
``/asset-v1:<key>``        (Studio's links to a file, ``asset-v1:ORG+COURSE+RUN+type@asset+block@NAME``)
                           the file, served as ``/static/`` files are; a ``type@thumbnail`` key, the
                           image's thumbnail (``<HANDLER_URL_PREFIX>/assets/thumbnail/<course key>/...``)
=========================  ===========================================================================

Rewriting is textual (no query): a rewritten URL never starts with one of these prefixes, so text
rewritten twice (capa rewrites its own HTML, and the runtime rewrites every rendered fragment) is
rewritten once.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from urllib.parse import quote, unquote

from django.apps import apps

from lc_runtime.conf import get_setting
from lc_runtime.content.courses.api import Mode

__all__ = [
    "asset_base_url",
    "asset_url",
    "course_base_url",
    "jump_to_id_base_url",
    "replace_urls",
    "thumbnail_url",
]

log = logging.getLogger(__name__)


@cache
def _pattern(prefix: str) -> re.Pattern:
    # edx-platform's static_replace pattern: an opening quote, the prefix, the rest up to the same quote. Quotes
    # may also be HTML-escaped, as a Django template writes JSON into an attribute: xblocks-contrib's video
    # block puts its HTML5 sources in data-metadata so, and a "/static/clip.mp4" there must play too.
    quote_mark = r"""(?P<quote>\\?['"]|&quot;|&#34;|&#x27;|&#39;)"""
    return re.compile(quote_mark + "(?P<prefix>" + re.escape(prefix) + ")(?P<rest>.*?)(?P=quote)")


def _prefix() -> str:
    return get_setting("HANDLER_URL_PREFIX").rstrip("/")


def asset_base_url(course_key: str, mode: Mode = "published") -> str:
    """The URL the static files of a course run are served under, ending in ``/``."""
    if mode == "draft":
        return f"{_prefix()}/assets/draft/{course_key}/"
    return f"{_prefix()}/assets/{course_key}/"


def asset_url(course_key: str, path: str, mode: Mode = "published") -> str:
    """The URL of one static file of a course run (its path percent-encoded)."""
    return asset_base_url(course_key, mode) + quote(path)


def jump_to_id_base_url(course_key: str) -> str:
    """Where ``/jump_to_id/<block id>`` links go, the block id appended (see the module's table)."""
    configured = get_setting("JUMP_TO_ID_BASE_URL")
    if configured:
        return configured.format(course_key=course_key)
    return f"{_prefix()}/jump_to_id/{course_key}/"


def course_base_url(course_key: str) -> str:
    """Where ``/course/<rest>`` links go, the rest appended."""
    return get_setting("COURSE_BASE_URL").format(course_key=course_key)


def _host_static_url(path: str) -> str | None:
    """The host's URL for ``path`` if its own static files (``django.contrib.staticfiles``) hold it, else None."""
    if not apps.is_installed("django.contrib.staticfiles"):
        return None
    from django.contrib.staticfiles.storage import staticfiles_storage

    try:
        if staticfiles_storage.exists(path.split("?", 1)[0]):
            return staticfiles_storage.url(path.split("?", 1)[0])
    except Exception as exc:  # noqa: BLE001 - as edx-platform: a storage that cannot answer means "not there"
        log.warning("staticfiles storage could not look up %r: %s", path, exc)
    return None


_ASSET_KEY = re.compile(
    r"^(?P<course>[^+/]+\+[^+/]+\+[^+/]+)\+type@(?P<type>asset|thumbnail)\+block@(?P<name>[^?#]+)(?P<tail>.*)$"
)


def _asset_key_url(match: re.Match, course_key: str, mode: Mode) -> str:
    """
    A ``/asset-v1:`` link (Studio writes them in content) to a file of this course as the URL that serves
    it; a link to another course's file is left to the host (that course may not be in Learning Core).
    """
    parts = _ASSET_KEY.match(match["rest"])
    if parts is None or f"course-v1:{parts['course']}" != course_key:
        return match[0]
    if parts["type"] == "thumbnail":
        target = thumbnail_url(course_key, unquote(parts["name"]))
    else:
        target = asset_base_url(course_key, mode) + parts["name"]
    return f"{match['quote']}{target}{parts['tail']}{match['quote']}"


def thumbnail_url(course_key: str, name: str) -> str:
    """The URL of the thumbnail of an image among a course run's static files (``name``: its thumbnail's name)."""
    return f"{_prefix()}/assets/thumbnail/{course_key}/{quote(name)}"


def replace_urls(text: str, course_key: str, mode: Mode = "published", *, static_only: bool = False) -> str:
    """
    ``text`` with its ``/static/``, ``/jump_to_id/`` and ``/course/`` links made to work (see the module's table).

    ``static_only`` rewrites ``/static/`` links only, as edx-platform's Studio does.

    The answer is always a plain ``str``, as edx-platform's (``re.sub``'s) is, even with nothing to rewrite: a
    ``SafeString`` handed back as it came would stay "safe", and capa puts this answer into an attribute of
    its Django template (``data-content``), which would then leave its HTML unescaped.
    """
    text = "".join([text])  # a plain str copy of a str subclass (SafeString); a str itself, unchanged
    if "/static/" in text:
        base = asset_base_url(course_key, mode)

        def static(match: re.Match) -> str:
            quote_mark, rest = match.group("quote"), match.group("rest")
            # A bare "/static/" becomes the folder's URL, as in edx-platform: scripts append file names to it.
            target = (_host_static_url(rest) if rest else None) or base + rest
            return f"{quote_mark}{target}{quote_mark}"

        text = _pattern("/static/").sub(static, text)
    if "/asset-v1:" in text:
        text = _pattern("/asset-v1:").sub(lambda m: _asset_key_url(m, course_key, mode), text)
    if static_only:
        return text
    if "/jump_to_id/" in text:
        jump_base = jump_to_id_base_url(course_key)
        text = _pattern("/jump_to_id/").sub(lambda m: f"{m['quote']}{jump_base}{m['rest']}{m['quote']}", text)
    if "/course/" in text:
        course_base = course_base_url(course_key)
        text = _pattern("/course/").sub(lambda m: f"{m['quote']}{course_base}{m['rest']}{m['quote']}", text)
    return text
