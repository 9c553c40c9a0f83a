"""
Who holds which role in a course run: the one door into :mod:`lc_runtime.content.roles`.

Every "staff only" decision of lc-runtime asks :func:`course_roles`, which calls the provider named
by ``LC_RUNTIME["ROLES"]`` (a dotted path to ``(user, course_key) -> set of role names``). The
default, :func:`stored_course_roles`, gives Django's ``is_staff`` users the ``staff`` role in every
course and adds the roles of our own table (:func:`grant_role`, :func:`revoke_role`). Inside
edx-platform, point the setting at a provider over its ``CourseAccessRole`` table instead.

What each role may do, as in edx-platform: course staff (:data:`STAFF_ROLES`) see the published
course as its team does (hidden content, error details; blocks are told ``user_is_staff``);
authors (:data:`AUTHOR_ROLES`) may also open its drafts (a draft runtime, draft handler URLs, draft
static files), which ``limited_staff`` may not: in edx-platform they are course staff without
Studio. Beta testers are no course staff: blocks are told they are students, as edx-platform tells
them (which lets them see content early, by the course's ``days_early_for_beta``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from opaque_keys.edx.keys import CourseKey

from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.roles.models import CourseRole
from lc_runtime.keys import to_course_key

__all__ = [
    "AUTHOR_ROLES",
    "BETA_TESTER",
    "COURSE_ROLES",
    "INSTRUCTOR",
    "LIMITED_STAFF",
    "STAFF",
    "STAFF_ROLES",
    "UnknownRole",
    "course_roles",
    "grant_role",
    "has_author_access",
    "has_staff_access",
    "revoke_role",
    "role_holders",
    "stored_course_roles",
]

STAFF = "staff"
INSTRUCTOR = "instructor"
LIMITED_STAFF = "limited_staff"
BETA_TESTER = "beta_tester"
COURSE_ROLES: tuple[str, ...] = (STAFF, INSTRUCTOR, LIMITED_STAFF, BETA_TESTER)
"""The roles our table stores. A host's provider may return others; only these mean anything here."""
STAFF_ROLES: frozenset[str] = frozenset({STAFF, INSTRUCTOR, LIMITED_STAFF})
"""Roles that see a course's whole content, hidden parts included: course staff."""
AUTHOR_ROLES: frozenset[str] = frozenset({STAFF, INSTRUCTOR})
"""Roles that may also see and change a course's drafts (Studio's roles): not ``limited_staff``."""


class UnknownRole(ValueError):
    """A role name that is not one of :data:`COURSE_ROLES`."""


def _check_role(role: str) -> str:
    if role not in COURSE_ROLES:
        raise UnknownRole(f"{role!r} is not a course role; use one of {', '.join(COURSE_ROLES)}")
    return role


def stored_course_roles(user, course_key: CourseKey | str) -> frozenset[str]:
    """The default provider: ``staff`` for Django staff (everywhere), plus the roles of our table (one query)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    roles = set(CourseRole.objects.filter(user_id=user.id, course_key=str(course_key)).values_list("role", flat=True))
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        roles.add(STAFF)
    return frozenset(roles)


def course_roles(user, course_key: CourseKey | str) -> frozenset[str]:
    """
    The roles ``user`` holds in ``course_key`` by the configured provider (none for None or anonymous).

    The provider is called with an authenticated user and a ``CourseKey``, whatever the caller gave;
    InvalidKey for a string that is no course key.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    provider = get_setting("ROLES")
    if isinstance(provider, str):
        provider = import_object(provider)
    return frozenset(provider(user, to_course_key(course_key)))


def has_staff_access(roles: Iterable[str]) -> bool:
    """True if ``roles`` (from :func:`course_roles`) make their holder course staff."""
    return not STAFF_ROLES.isdisjoint(roles)


def has_author_access(roles: Iterable[str]) -> bool:
    """True if ``roles`` (from :func:`course_roles`) let their holder open the course's drafts."""
    return not AUTHOR_ROLES.isdisjoint(roles)


def grant_role(user_id: int, course_key: CourseKey | str, role: str) -> bool:
    """Give ``user_id`` ``role`` in ``course_key``; False if they held it already. UnknownRole for a bad name."""
    _check_role(role)
    try:
        with transaction.atomic():
            _row, created = CourseRole.objects.get_or_create(user_id=user_id, course_key=str(course_key), role=role)
    except IntegrityError:  # granted by a concurrent request meanwhile
        return False
    return created


def revoke_role(user_id: int, course_key: CourseKey | str, role: str) -> bool:
    """Take ``role`` in ``course_key`` from ``user_id``; False if they did not hold it."""
    _check_role(role)
    deleted, _ = CourseRole.objects.filter(user_id=user_id, course_key=str(course_key), role=role).delete()
    return bool(deleted)


def role_holders(course_key: CourseKey | str) -> dict[str, list[int]]:
    """Every role granted in ``course_key`` by our table, with the ids of its holders, sorted."""
    holders: dict[str, list[int]] = {}
    rows = CourseRole.objects.filter(course_key=str(course_key)).order_by("role", "user_id")
    for role, user_id in rows.values_list("role", "user_id"):
        holders.setdefault(role, []).append(user_id)
    return holders
