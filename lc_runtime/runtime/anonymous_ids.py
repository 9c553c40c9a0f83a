"""
Anonymous user ids: the pseudonym of a learner in a course run that blocks store instead of the user
(ORA2's submissions, capa's seeds, LTI's ``user_id``). The host's function where it sets one, so that
ids match what edx-platform stored; otherwise lc-runtime's own.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
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
    host sets one, else found among all users by the default pseudonym of ``course_key``.

    The default hashes every user id once per course run (one query) and keeps the table for a few runs; an
    id it does not know reads only the users created since (one query on the primary key, usually empty).
    Callers are staff tools (the ``user`` service answers course staff only).
    """
    if not anonymous_id:
        return None
    host_function = get_setting("USER_BY_ANONYMOUS_ID")
    if host_function:
        return import_object(host_function)(anonymous_id)
    user_id = _default_ids.lookup(str(course_key), anonymous_id)
    return get_user_model().objects.filter(id=user_id).first() if user_id is not None else None


class _DefaultIdTables:
    """Default anonymous id -> user id, per course run, for the last few course runs asked about."""

    COURSES_KEPT = 8

    def __init__(self) -> None:
        # course key -> (the highest user id hashed, its table)
        self._tables: OrderedDict[str, tuple[int, dict[str, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, course_key: str, anonymous_id: str) -> int | None:
        with self._lock:
            highest, table = self._tables.pop(course_key, (0, {}))
            if anonymous_id not in table:
                new_ids = get_user_model().objects.filter(id__gt=highest).values_list("id", flat=True).iterator()
                for user_id in new_ids:
                    table[default_anonymous_user_id(user_id, course_key)] = user_id
                    highest = max(highest, user_id)
            self._tables[course_key] = (highest, table)
            while len(self._tables) > self.COURSES_KEPT:
                self._tables.popitem(last=False)
            return table.get(anonymous_id)


_default_ids = _DefaultIdTables()


def _course_key(course_key) -> CourseKey:
    """Host functions get a ``CourseKey``, as edx-platform's do, whatever the caller held."""
    return course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
