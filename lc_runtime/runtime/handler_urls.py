"""
Handler URLs: signed, and bound to one user, one block, one mode and one kind of access.

A handler URL is
``<prefix>/handler/<mode>/<access>/<usage key>/<user id>/<token>/<handler>/<suffix>?<query>``.

``access`` is ``session`` for the URLs a page's scripts call: the request must come from the logged-in
user the URL was made for. It is ``thirdparty`` only when a block asks for a URL that must work with no
session (``handler_url(..., thirdparty=True)``: grader callbacks, LTI); such a URL acts as its user on
its own, so a block asks for one only when it needs it. Draft (authoring) URLs are always ``session``
URLs, and the view also requires that user to be staff.

The token is an HMAC of (time window, mode, access, usage key, user id) under
``LC_RUNTIME["HANDLER_SECRET"]`` (``SECRET_KEY`` by default); it holds for the current and the previous
two-day window. A ``thirdparty`` token also signs the handler name and suffix, since whoever holds it
acts as its user: it opens that one handler call, not every handler of the block. (A ``session`` URL
leaves them free, because a page's scripts build handler URLs from one base, and the session is what
authenticates.) Changing any signed part of the URL invalidates it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Literal
from urllib.parse import quote

from django.conf import settings

from lc_runtime.conf import get_setting

__all__ = ["ACCESS_KINDS", "ANONYMOUS", "WINDOW_SECONDS", "handler_token", "handler_url", "token_is_valid"]

WINDOW_SECONDS = 2 * 24 * 60 * 60
ANONYMOUS = "anon"
Access = Literal["session", "thirdparty"]
ACCESS_KINDS: tuple[str, ...] = ("session", "thirdparty")


def _secret() -> bytes:
    return (get_setting("HANDLER_SECRET") or settings.SECRET_KEY).encode()


def handler_token(
    mode: str,
    usage_key: str,
    user_id: int | None,
    *,
    access: Access = "session",
    handler_name: str = "",
    suffix: str = "",
    window: int | None = None,
) -> str:
    """
    The token for a (mode, access, block, user) — and, for ``thirdparty`` access, handler and suffix —
    in the current time window unless ``window`` is given.
    """
    if window is None:
        window = int(time.time()) // WINDOW_SECONDS
    user = user_id if user_id is not None else ANONYMOUS
    call = f"|{handler_name}|{suffix}" if access == "thirdparty" else ""
    message = f"{window}|{mode}|{access}|{usage_key}|{user}{call}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()[:32]


def token_is_valid(
    token: str, mode: str, usage_key: str, user_id: int | None, *, access: Access, handler_name: str = "",
    suffix: str = "",
) -> bool:
    """True if ``token`` was made for exactly this call (see :func:`handler_token`), in this or the previous window."""
    now = int(time.time()) // WINDOW_SECONDS
    return any(
        hmac.compare_digest(
            token,
            handler_token(
                mode, usage_key, user_id, access=access, handler_name=handler_name, suffix=suffix, window=window
            ),
        )
        for window in (now, now - 1)
    )


def handler_url(
    mode: str, usage_key: str, user_id: int | None, handler_name: str, suffix: str = "", query: str = "", *,
    access: Access = "session",
) -> str:
    """The signed URL that reaches ``handler_name`` of a block as a user."""
    user = str(user_id) if user_id is not None else ANONYMOUS
    token = handler_token(mode, usage_key, user_id, access=access, handler_name=handler_name, suffix=suffix)
    path = (
        f"{get_setting('HANDLER_URL_PREFIX')}/handler/{mode}/{access}/{quote(usage_key, safe=':+@')}/{user}/"
        f"{token}/{quote(handler_name)}/{quote(suffix, safe='/')}"
    )
    return f"{path}?{query}" if query else path
