"""
Learners' schedules: when a learner started a course run, the day its relative dates count from.

edx-when resolves a self-paced course's relative dates against edx-platform's ``Schedule`` model,
which exists only inside edx-platform. Elsewhere the schedule comes from the provider named by
``LC_RUNTIME["LEARNER_SCHEDULE"]``: by default :func:`stored_learner_schedule`, over our own
:class:`~lc_runtime.content.dates.models.LearnerSchedule` table, which the host fills when a learner
starts (:func:`set_learner_schedule`). A learner without a schedule gets no relative dates, as in
edx-platform.
"""

from __future__ import annotations

import functools
import importlib
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.timezone import now
from opaque_keys.edx.keys import CourseKey

from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.dates.models import LearnerSchedule
from lc_runtime.keys import to_course_key

__all__ = [
    "clear_learner_schedule",
    "edx_when_resolves_dates",
    "learner_schedule",
    "set_learner_schedule",
    "stored_learner_schedule",
]


@functools.cache
def edx_when_resolves_dates() -> bool:
    """
    True inside edx-platform: there edx-when reads learners' schedules and relative dates itself.

    edx-when consults relative dates only when it can import the LMS's ``RELATIVE_DATES_FLAG`` (its
    ``_are_relative_dates_enabled``), and finds schedules only in edx-platform's ``Schedule`` model;
    anywhere else it silently drops relative dates, so lc-runtime resolves them. Answered once per
    process: what is installed does not change while it runs.
    """
    try:
        flags = importlib.import_module("openedx.features.course_experience")
    except ImportError:
        return False
    return hasattr(flags, "RELATIVE_DATES_FLAG")


def _is_learner(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def stored_learner_schedule(user, course_key: CourseKey | str) -> datetime | None:
    """The default provider: the learner's start in our table, or None (one query)."""
    if not _is_learner(user):
        return None
    row = LearnerSchedule.objects.filter(user_id=user.id, course_key=str(to_course_key(course_key))).first()
    return row.start_date if row is not None else None


def learner_schedule(user, course_key: CourseKey | str) -> datetime | None:
    """
    When ``user`` started ``course_key``: the day their relative dates count from; None if they have no schedule.

    Inside edx-platform, the start of the learner's edx-platform ``Schedule`` (what edx-when uses);
    elsewhere, the answer of ``LC_RUNTIME["LEARNER_SCHEDULE"]``. None for None and anonymous users.
    """
    if not _is_learner(user):
        return None
    if edx_when_resolves_dates():
        from edx_when.utils import get_schedule_for_user

        schedule = get_schedule_for_user(user.id, to_course_key(course_key))
        return schedule.start_date if schedule is not None else None
    provider = get_setting("LEARNER_SCHEDULE")
    if isinstance(provider, str):
        provider = import_object(provider)
    return provider(user, to_course_key(course_key))


def set_learner_schedule(user_id: int, course_key: CourseKey | str, start_date: datetime) -> None:
    """
    Record in our table that ``user_id`` started ``course_key`` at ``start_date`` (replacing an earlier start).

    What a host calls when a learner enrolls in, or restarts, a self-paced run. ``start_date`` must be
    timezone-aware (ValueError otherwise).
    """
    if not isinstance(start_date, datetime) or start_date.tzinfo is None:
        raise ValueError(f"a schedule starts at a timezone-aware datetime, not {start_date!r}")
    key = str(to_course_key(course_key))
    try:
        with transaction.atomic():
            LearnerSchedule.objects.update_or_create(
                user_id=user_id, course_key=key, defaults={"start_date": start_date}
            )
    except IntegrityError:  # created by a concurrent request meanwhile: this start replaces it
        LearnerSchedule.objects.filter(user_id=user_id, course_key=key).update(start_date=start_date, modified=now())


def clear_learner_schedule(user_id: int, course_key: CourseKey | str) -> bool:
    """Remove ``user_id``'s schedule in ``course_key`` from our table; False if there was none."""
    deleted, _ = LearnerSchedule.objects.filter(user_id=user_id, course_key=str(to_course_key(course_key))).delete()
    return bool(deleted)
