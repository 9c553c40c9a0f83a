"""
Anonymous user ids: the pseudonym of a learner in a course run that blocks store instead of the user
(ORA2's submissions, capa's seeds, LTI's ``user_id``). The host's function where it sets one, so that
ids match what edx-platform stored; otherwise lc-runtime's own.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from opaque_keys.edx.keys import CourseKey

from lc_runtime.conf import get_setting, import_object

__all__ = ["anonymous_user_id", "default_anonymous_user_id", "user_by_anonymous_id"]


def default_anonymous_user_id(user_id: int | None, course_key: str) -> str:
    """lc-runtime's own anonymous id: a keyed hash of the user and course run (nothing stored)."""
    secret = get_setting("HANDLER_SECRET") or settings.SECRET_KEY
    return hashlib.sha256(f"{secret}:{course_key}:{user_id}".encode()).hexdigest()[:32]


def anonymous_user_id(user, course_key) -> str:
    """
    A learner's anonymous id in a course run: ``LC_RUNTIME["ANONYMOUS_USER_ID"](user, course_key)`` where
    the host sets one (inside edx-platform, its ``anonymous_id_for_user``, so ids match what it stored),
    else :func:`default_anonymous_user_id`. Anonymous visitors get the default for "no user".
    """
    host_function = get_setting("ANONYMOUS_USER_ID")
    authenticated = user is not None and user.is_authenticated
    if host_function and authenticated:
        return str(import_object(host_function)(user, _course_key(course_key)))
    return default_anonymous_user_id(user.id if authenticated else None, str(course_key))


def user_by_anonymous_id(anonymous_id: str | None, course_key) -> Any:
    """
    The user behind an anonymous id, or None: ``LC_RUNTIME["USER_BY_ANONYMOUS_ID"](anonymous_id)`` where the
    host sets one, else found among all users with the default pseudonym of ``course_key`` (a scan of user
    ids, remembered per process: a staff tool's call, never a learner's request).
    """
    if not anonymous_id:
        return None
    host_function = get_setting("USER_BY_ANONYMOUS_ID")
    if host_function:
        return import_object(host_function)(anonymous_id)
    user_id = _default_ids_of(str(course_key)).get(anonymous_id)
    if user_id is None:
        _default_ids_of.cache_clear()  # a user who joined since the last scan
        user_id = _default_ids_of(str(course_key)).get(anonymous_id)
    return get_user_model().objects.filter(id=user_id).first() if user_id is not None else None


@cache
def _default_ids_of(course_key: str) -> dict[str, int]:
    user_ids = get_user_model().objects.values_list("id", flat=True).iterator()
    return {default_anonymous_user_id(user_id, course_key): user_id for user_id in user_ids}


def _course_key(course_key) -> CourseKey:
    """Host functions get a ``CourseKey``, as edx-platform's do, whatever the caller held."""
    return course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
