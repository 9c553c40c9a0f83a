"""
Course dates in edx-when: the dates a course run's content sets, and each learner's dates.

edx-when (PyPI ``edx-when``, what edx-platform uses) keeps one ``ContentDate`` per (block, field) a
run sets, each with a ``DatePolicy``: an absolute date, or a relative one (a self-paced course's
"due three weeks after you started"); and ``UserDate`` rows, a learner's personal dates (an
extension). lc-runtime writes a run's content dates when it publishes (``lc_runtime.api``) and reads
a learner's dates for the learner's runtime.

Inside edx-platform, edx-when answers for a learner itself (``get_dates_for_course``: its caches,
edx-platform's schedules, the LMS's relative-dates flag). Anywhere else that function drops every
relative date, so lc-runtime reads the same rows and resolves them with edx-when's own policy
semantics (``DatePolicy.actual_date``) against the learner's schedule (see ``schedules``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import caches
from django.db import transaction
from edx_when.api import (
    FIELDS_TO_EXTRACT,
    InvalidDateError,
    MissingDateError,
    get_dates_for_course,
    set_date_for_block,
    set_dates_for_course,
)
from edx_when.models import ContentDate, DatePolicy, MissingScheduleError, UserDate
from opaque_keys.edx.keys import CourseKey, UsageKey

from lc_runtime.content.courses.api import load_course_tree
from lc_runtime.content.dates.schedules import edx_when_resolves_dates, learner_schedule
from lc_runtime.keys import InvalidKey, stored_usage_key, to_course_key, to_usage_key, usage_key_for

__all__ = [
    "DATE_FIELDS",
    "DateError",
    "InvalidPersonalDate",
    "LearnerDates",
    "NoContentDate",
    "dates_version",
    "learner_dates",
    "set_personal_date",
    "write_content_dates",
]

DATE_FIELDS: tuple[str, ...] = tuple(FIELDS_TO_EXTRACT)
"""The fields edx-when keeps dates for: ``due``, ``start`` and ``end``."""

LearnerDates = dict[tuple[UsageKey, str], datetime | None]
"""A learner's dates by (block, field). None: a relative date the learner started too late to be given."""

CACHE_ALIAS = "default"
CACHE_VERSION = 2  # 2: plain values
CACHE_TIMEOUT = 60 * 60 * 24


class DateError(ValueError):
    """A date was refused (a field edx-when does not keep, a naive datetime, ...); nothing was written."""


class NoContentDate(DateError):
    """A personal date for a block whose run sets no such date (edx-when's ``MissingDateError``)."""


class InvalidPersonalDate(DateError):
    """A personal date earlier than the learner's date from the course, or a negative extension."""


@dataclass(frozen=True, slots=True)
class _LearnerSchedule:
    """What ``DatePolicy.actual_date`` reads of edx-platform's ``Schedule``: when the learner started."""

    start_date: datetime
    created: datetime


@dataclass(frozen=True, slots=True)
class _ContentDate:
    """One active ``ContentDate`` with its policy's values: what the cache keeps of a run's dates."""

    location: UsageKey
    field: str
    abs_date: datetime | None
    rel_date: timedelta | None

    def actual_date(self, schedule: _LearnerSchedule | None, end: datetime | None, cutoff: datetime | None):
        if self.rel_date is None:  # edx-when's rule for an absolute date: the date itself
            return self.abs_date
        # An unsaved DatePolicy: its method is edx-when's own rule for relative dates (course end, cutoff).
        return DatePolicy(abs_date=self.abs_date, rel_date=self.rel_date).actual_date(schedule, end, cutoff)


def _is_learner(user) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _check_date(value: Any, what: str) -> None:
    if isinstance(value, timedelta):
        return
    if not isinstance(value, datetime):
        raise DateError(f"{what}: {value!r} is neither a datetime nor a timedelta")
    if value.tzinfo is None:
        raise DateError(f"{what}: {value!r} has no time zone; give an aware datetime (UTC)")


def _block_in(course_key: CourseKey, usage_key: UsageKey | str) -> UsageKey:
    block = to_usage_key(usage_key)
    if block.course_key != course_key:
        raise InvalidKey(f"{block} is not in {course_key}")
    return block


def dates_version(snapshot: str, run_settings: Mapping[str, Any]) -> str:
    """
    The version a run's dates are read (and cached) as: the snapshot its learners see, and its own dates.

    A publish (or a pin) gives a run a new snapshot, a change of its own start or end new run settings;
    either rewrites its content dates, so either gives the dates a new version. What edx-when calls a
    ``published_version``.
    """
    digest = hashlib.sha256(json.dumps(dict(run_settings), sort_keys=True, default=str).encode()).hexdigest()
    return f"{snapshot}:{digest[:16]}"


def write_content_dates(
    course_key: CourseKey | str,
    items: Iterable[tuple[UsageKey | str, Mapping[str, datetime | timedelta | None]]],
    *,
    published_version: str | None = None,
) -> int:
    """
    Make ``items`` the content dates of ``course_key`` in edx-when; return how many dates it holds now.

    ``items`` are ``(usage_key, {"start": ..., "due": ..., "end": ...})``: aware datetimes, or
    timedeltas for dates relative to each learner's start; None (or a missing name) sets no date.
    The run's dates that ``items`` no longer name are deactivated (edx-when's ``set_dates_for_course``),
    and learners' personal dates for them stop applying. Raises :class:`InvalidKey` or
    :class:`DateError` before writing anything.
    """
    key = to_course_key(course_key)
    checked: list[tuple[UsageKey, dict[str, datetime | timedelta]]] = []
    for usage_key, fields in items:
        block = _block_in(key, usage_key)
        unknown = sorted(set(fields) - set(DATE_FIELDS))
        if unknown:
            raise DateError(f"{block}: edx-when keeps {', '.join(DATE_FIELDS)} dates, not {', '.join(unknown)}")
        values = {name: value for name, value in fields.items() if value is not None}
        for name, value in values.items():
            _check_date(value, f"{block} {name}")
        if values:
            checked.append((block, values))
    with transaction.atomic():
        set_dates_for_course(key, checked)
        # Readers cache a run's dates by version; a rewrite under the same version (a backfill) must not
        # leave them the old rows. After commit: a reader before it would cache the old rows again. Given
        # the version the rows are (``published_version``), they are cached at once, for learners to come.
        if published_version is None:
            transaction.on_commit(lambda: caches[CACHE_ALIAS].delete(_cache_key(key), version=CACHE_VERSION))
        else:
            # As the rows read back: edx-when writes no empty value (a zero timedelta), dates come back in UTC.
            rows = [
                _ContentDate(block, name, None, value) if isinstance(value, timedelta)
                else _ContentDate(block, name, value.astimezone(UTC), None)
                for block, values in checked
                for name, value in values.items()
                if value
            ]
            transaction.on_commit(lambda: _cache_content_dates(key, published_version, rows))
    return sum(len(values) for _block, values in checked)


def _cache_key(course_key: CourseKey) -> str:
    return f"lc_runtime.dates:{course_key}"


def _cache_content_dates(course_key: CourseKey, published_version: str, rows: list[_ContentDate]) -> None:
    """Cache a run's content dates as read for ``published_version``: plain values, keys as their parts."""
    stored = [(row.location.block_type, row.location.block_id, row.field, row.abs_date, row.rel_date) for row in rows]
    caches[CACHE_ALIAS].set(_cache_key(course_key), (published_version, stored), CACHE_TIMEOUT, version=CACHE_VERSION)


def _content_dates(course_key: CourseKey, published_version: str | None) -> list[_ContentDate]:
    """The run's active content dates: one query, none when cached for ``published_version``."""
    cache = caches[CACHE_ALIAS]
    if published_version is not None:
        cached = cache.get(_cache_key(course_key), version=CACHE_VERSION)
        if cached is not None and cached[0] == published_version:
            # Cached as plain values (keys as their parts): loading opaque keys costs more than building them.
            return [
                _ContentDate(stored_usage_key(course_key, block_type, block_id), field, abs_date, rel_date)
                for block_type, block_id, field, abs_date, rel_date in cached[1]
            ]
    rows = [
        _ContentDate(row.location.map_into_course(course_key), row.field, row.policy.abs_date, row.policy.rel_date)
        for row in ContentDate.objects.filter(course_id=course_key, active=True).select_related("policy")
    ]
    if published_version is not None:
        _cache_content_dates(course_key, published_version, rows)
    return rows


def _end_and_cutoff(rows: list[_ContentDate]) -> tuple[datetime | None, datetime | None]:
    """
    The course's end and the cutoff for relative dates, as edx-when derives them.

    No relative date falls after the end; a learner who started after the cutoff (the end minus the
    longest relative due date: too late to meet them all) gets none.
    """
    end = next((row.abs_date for row in rows if row.location.block_type == "course" and row.field == "end"), None)
    if end is None:
        return None, None
    longest = max((row.rel_date for row in rows if row.field == "due" and row.rel_date), default=None)
    return end, (end - longest if longest else end)


def _schedule_of(user, course_key: CourseKey) -> _LearnerSchedule | None:
    start = learner_schedule(user, course_key)
    # The provider gives one date: the start serves as the schedule's creation too (the cutoff test).
    return _LearnerSchedule(start, start) if start is not None else None


def _personal_date(override: UserDate, schedule: _LearnerSchedule | None) -> datetime | None:
    """A learner's personal date: an absolute date, or an extension of the date the course gives them."""
    if override.abs_date is not None:
        return override.abs_date
    try:
        base = override.content_date.policy.actual_date(schedule)
    except MissingScheduleError:
        return None
    # edx-when adds an extension only where the learner has a schedule; outside edx-platform most
    # learners have none, so an extension of an absolute date applies to every learner here.
    return base + override.rel_date if base is not None and override.rel_date else base


def learner_dates(course_key: CourseKey | str, user, *, published_version: str | None = None) -> LearnerDates:
    """
    The dates of ``user`` in ``course_key`` by (usage key, field): the run's content dates, relative ones
    resolved against the learner's schedule, with the learner's personal dates over them.

    A learner without a schedule gets no relative dates; None or an anonymous user gets the run's
    absolute dates. Pass ``published_version`` (see :func:`dates_version`) to read the run's content
    dates from the cache. Outside edx-platform: one query for the learner's personal dates, one for
    the run's content dates unless cached, one for the schedule (the default provider) when the run
    has relative dates; none when the run has no dates at all. Inside edx-platform, edx-when's
    ``get_dates_for_course`` answers (with its caches).
    """
    key = to_course_key(course_key)
    learner = user if _is_learner(user) else None
    if edx_when_resolves_dates():
        return dict(get_dates_for_course(key, user=learner, published_version=published_version))
    rows = _content_dates(key, published_version)
    if not rows:  # a personal date overrides a content date: without any, there is none either
        return {}
    schedule = None
    if learner is not None and any(row.rel_date is not None for row in rows):
        schedule = _schedule_of(learner, key)
    end, cutoff = _end_and_cutoff(rows)
    dates: LearnerDates = {}
    for row in rows:
        try:
            dates[(row.location, row.field)] = row.actual_date(schedule, end, cutoff)
        except MissingScheduleError:  # relative, and the learner has no schedule: no date, as in edx-when
            continue
    if learner is None:
        return dates
    overrides = (
        UserDate.objects.filter(user_id=learner.id, content_date__course_id=key, content_date__active=True)
        .select_related("content_date__policy")
        .order_by("modified", "id")  # the latest personal date wins
    )
    for override in overrides:
        date = _personal_date(override, schedule)
        if date is not None:
            dates[(override.content_date.location.map_into_course(key), override.content_date.field)] = date
    return dates


def set_personal_date(
    course_key: CourseKey | str,
    usage_key: UsageKey | str,
    field: str,
    user,
    date_or_timedelta: datetime | timedelta,
    *,
    reason: str = "",
    actor=None,
) -> None:
    """
    Give ``user`` their own ``field`` date for a block: an aware datetime, or a timedelta that extends the
    date the run gives them. Their latest personal date wins; it applies while the run sets the date.

    Blocks below that have a date of their own get the personal date too, as edx-platform's instructor
    dashboard extends a subsection: in a self-paced run its problems carry the subsection's date, and
    would keep theirs. ``actor`` is the user who grants it, ``reason`` why (kept by edx-when). Raises
    :class:`InvalidKey`, :class:`NoContentDate` (the run sets no such date for the block: publish one
    first), :class:`InvalidPersonalDate` (earlier than the learner's date from the run, or a negative
    extension) or :class:`DateError`; then nothing is written.
    """
    key = to_course_key(course_key)
    block = _block_in(key, usage_key)
    if field not in DATE_FIELDS:
        raise DateError(f"edx-when keeps {', '.join(DATE_FIELDS)} dates, not {field!r}")
    if not _is_learner(user):
        raise DateError("a personal date is for a signed-in learner")
    _check_date(date_or_timedelta, f"{block} {field}")
    with transaction.atomic():
        for content in _content_dates_at_and_below(key, block, field):
            if content.policy.rel_date is None or edx_when_resolves_dates():
                try:
                    set_date_for_block(
                        key, content.location, field, date_or_timedelta, user=user, reason=reason, actor=actor
                    )
                except MissingDateError as exc:
                    raise NoContentDate(f"{content.location} has no {field} date in {key}") from exc
                except InvalidDateError as exc:
                    raise InvalidPersonalDate(
                        f"{content.location} {field}: a personal date may not be earlier than the run's "
                        f"({content.policy}), nor an extension negative: {date_or_timedelta!r}"
                    ) from exc
            else:
                _override_relative_date(content, user, date_or_timedelta, reason, actor)


def _content_dates_at_and_below(course_key: CourseKey, block: UsageKey, field: str) -> list[ContentDate]:
    """The run's active ``field`` dates of ``block`` (first) and of the blocks below it: two queries more."""
    # Active only: edx-when's own lookup (set_date_for_block) would revive a date the run no longer sets.
    own = ContentDate.objects.select_related("policy").filter(
        course_id=course_key, location=block, field=field, active=True
    ).first()
    if own is None:
        raise NoContentDate(
            f"{block} has no {field} date in {course_key}: a personal date changes a date the run sets, so set "
            "that date in the content and publish first"
        )
    tree = load_course_tree(course_key, mode="published")
    below = [usage_key_for(course_key, record.block_type, record.block_id)
             for record in tree.descendants((block.block_type, block.block_id))[1:]]
    dated = ContentDate.objects.select_related("policy").filter(
        course_id=course_key, location__in=below, field=field, active=True
    )
    order = {location: index for index, location in enumerate(below)}
    return [own, *sorted(dated, key=lambda content: order.get(content.location, len(order)))]


def _override_relative_date(content: ContentDate, user, value: datetime | timedelta, reason: str, actor) -> None:
    """
    A personal date over a relative content date, outside edx-platform.

    edx-when checks a personal date against the learner's date from the run, which it finds through
    edx-platform's ``Schedule`` only (elsewhere its check fails on the missing schedule): the same
    rules are applied here with the learner's schedule from ``LC_RUNTIME["LEARNER_SCHEDULE"]``.
    """
    schedule = _schedule_of(user, content.course_id)
    if schedule is None:
        raise DateError(
            f"{content.location} {content.field} is relative to the learner's start, and this learner has no "
            "schedule in the run: record their start (set_learner_schedule) first"
        )
    from_run = content.policy.actual_date(schedule)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidPersonalDate(f"{content.location} {content.field}: an extension may not be negative")
        UserDate.objects.create(user=user, actor=actor, reason=reason or "", content_date=content, rel_date=value)
        return
    if from_run is not None and value < from_run:
        raise InvalidPersonalDate(
            f"{content.location} {content.field}: a personal date may not be earlier than the learner's "
            f"date from the run ({from_run:%Y-%m-%d %H:%M %Z})"
        )
    UserDate.objects.create(user=user, actor=actor, reason=reason or "", content_date=content, abs_date=value)
