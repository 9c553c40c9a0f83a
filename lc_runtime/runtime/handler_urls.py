"""
Handler URLs: signed, and bound to one user, one block and one mode.

A handler URL is ``<prefix>/handler/<mode>/<usage key>/<user id>/<token>/<handler>/<suffix>?<query>``.
The token is an HMAC of (mode, usage key, user id, time window) under ``LC_RUNTIME["HANDLER_SECRET"]``
(``SECRET_KEY`` by default); it holds for the current and the previous two-day window, so a page left
open keeps working. Changing any part of the URL but the handler name, suffix or query invalidates
it, so a URL made for one learner or block cannot act for another.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

from django.conf import settings

from lc_runtime.conf import get_setting

__all__ = ["WINDOW_SECONDS", "handler_token", "handler_url", "token_is_valid"]

WINDOW_SECONDS = 2 * 24 * 60 * 60
ANONYMOUS = "anon"


def _secret() -> bytes:
    return (get_setting("HANDLER_SECRET") or settings.SECRET_KEY).encode()


def handler_token(mode: str, usage_key: str, user_id: int | None, *, window: int | None = None) -> str:
    """The token for a (mode, block, user), in the current time window unless ``window`` is given."""
    if window is None:
        window = int(time.time()) // WINDOW_SECONDS
    message = f"{window}|{mode}|{usage_key}|{user_id if user_id is not None else ANONYMOUS}".encode()
    return hmac.new(_secret(), message, hashlib.sha256).hexdigest()[:32]


def token_is_valid(token: str, mode: str, usage_key: str, user_id: int | None) -> bool:
    """True if ``token`` was made for exactly this mode, block and user, in this or the previous window."""
    now = int(time.time()) // WINDOW_SECONDS
    return any(
        hmac.compare_digest(token, handler_token(mode, usage_key, user_id, window=window))
        for window in (now, now - 1)
    )


def handler_url(mode: str, usage_key: str, user_id: int | None, handler_name: str, suffix: str = "",
                query: str = "") -> str:
    """The signed URL that reaches ``handler_name`` of a block as a user."""
    user = str(user_id) if user_id is not None else ANONYMOUS
    token = handler_token(mode, usage_key, user_id)
    path = (
        f"{get_setting('HANDLER_URL_PREFIX')}/handler/{mode}/{quote(usage_key, safe=':+@')}/{user}/{token}/"
        f"{quote(handler_name)}/{quote(suffix, safe='/')}"
    )
    return f"{path}?{query}" if query else path
