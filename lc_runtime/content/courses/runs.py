"""
Course runs: several runs of one course sharing one LearningPackage.

A run (``course-v1:Org+Course+Run2``) is a row of :class:`~lc_runtime.content.courses.models.CourseRun`:
its key, the package and course root it shows, its own settings (``start``, ``end``, enrollment
dates) and optionally a pin to one published snapshot (a PublishLog of the package). Creating a run
from another writes that one row and copies no content; both runs then read the same components and
containers. Learner state, variants and usage keys are per run, as they are keyed by the run's key.

What a learner of a run sees:

- a run **without a pin** follows the package: every publish (``api.publish``, an import) shows at once;
- a **pinned** run shows the published state as of its PublishLog, whatever is published later,
  until it is pinned again or unpinned.

Authors (draft mode) always edit the package's one draft, whichever run they open it through.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from django.db import IntegrityError, transaction
from django.db.models import Count
from openedx_content.models_api import PublishLog
from xblock.fields import Date

from lc_runtime.content.courses.models import CourseRun
from lc_runtime.content.courses.tree import CourseNotFound
from lc_runtime.keys import to_course_key

CURRENT_SNAPSHOT = "current"
"""Pin argument meaning "the package's latest publish, as it is now"."""

RUN_SETTING_NAMES: tuple[str, ...] = ("start", "end", "enrollment_start", "enrollment_end")
"""The course-level settings a run may set for itself (all dates): they override the course root's."""

_DATE = Date()


class CourseRunError(ValueError):
    """A course-run operation was refused; nothing was written."""


class CourseRunExists(CourseRunError):
    """A run with that key already exists."""


class InvalidRunSettings(CourseRunError):
    """A run setting has an unknown name or a value that is not a date."""


class SnapshotNotFound(CourseRunError):
    """No published snapshot of the run's package matches (or nothing was ever published)."""


@dataclass(frozen=True)
class CourseRunInfo:
    """One course run as the API reports it."""

    course_key: str
    package_ref: str
    run_settings: dict
    pinned_snapshot: str | None
    """The uuid of the PublishLog the run is pinned to, or None if it follows the latest publish."""
    pinned_published_at: datetime | None
    created: datetime

    def as_dict(self) -> dict:
        """JSON-ready data (what ``lc-runtime runs ... --json`` prints)."""
        pinned_at = self.pinned_published_at
        return {
            **asdict(self),
            "pinned_published_at": pinned_at.isoformat() if pinned_at else None,
            "created": self.created.isoformat(),
        }


@dataclass(frozen=True)
class PublishedSnapshot:
    """One publish of a package: what a run can be pinned to."""

    uuid: str
    published_at: datetime
    message: str
    entities_published: int

    def as_dict(self) -> dict:
        """JSON-ready data (what ``lc-runtime runs snapshots ... --json`` prints)."""
        return {**asdict(self), "published_at": self.published_at.isoformat()}


def _runs():
    return CourseRun.objects.select_related("learning_package", "pinned_publish_log")


def _info(run: CourseRun) -> CourseRunInfo:
    pin = run.pinned_publish_log
    return CourseRunInfo(
        course_key=run.course_key,
        package_ref=run.learning_package.package_ref,
        run_settings=dict(run.run_settings or {}),
        pinned_snapshot=str(pin.uuid) if pin else None,
        pinned_published_at=pin.published_at if pin else None,
        created=run.created,
    )


def _key(course_key) -> str:
    return str(to_course_key(course_key))


def _get_run(course_key: str, *, for_update: bool = False) -> CourseRun:
    # Locking reads join nothing: some databases refuse FOR UPDATE across an outer join.
    runs = CourseRun.objects.select_for_update() if for_update else _runs()
    run = runs.filter(course_key=course_key).first()
    if run is None:
        raise CourseNotFound(f"No course run {course_key}")
    return run


def normalize_run_settings(settings: Mapping[str, object]) -> dict[str, str | None]:
    """
    Check run settings and return them in stored form: ISO 8601 dates in UTC (``...Z``), None kept.

    Raises :class:`InvalidRunSettings` naming the first unknown setting or unreadable date.
    """
    normalized: dict[str, str | None] = {}
    for name, value in settings.items():
        if name not in RUN_SETTING_NAMES:
            raise InvalidRunSettings(
                f"{name!r} is not a run setting; a run may set {', '.join(RUN_SETTING_NAMES)}"
            )
        if value is None:
            normalized[name] = None
            continue
        try:
            parsed = _DATE.from_json(value.isoformat() if isinstance(value, datetime) else value)
        except Exception as exc:  # dateutil raises ParserError, OverflowError, TypeError, ...
            raise InvalidRunSettings(f"run setting {name}: {value!r} is not a date ({exc})") from exc
        if parsed is None:
            raise InvalidRunSettings(f"run setting {name}: {value!r} is not a date")
        normalized[name] = _DATE.to_json(parsed.astimezone(UTC))
    return normalized


def _resolve_snapshot(run: CourseRun, snapshot: str | uuid.UUID) -> PublishLog:
    logs = PublishLog.objects.filter(learning_package_id=run.learning_package_id)
    if str(snapshot) == CURRENT_SNAPSHOT:
        log = logs.order_by("-id").first()
        if log is None:
            raise SnapshotNotFound(f"{run.course_key} has never been published: there is no snapshot to pin")
        return log
    try:
        wanted = uuid.UUID(str(snapshot))
    except ValueError as exc:
        raise SnapshotNotFound(
            f"{snapshot!r} is neither {CURRENT_SNAPSHOT!r} nor the uuid of a publish"
        ) from exc
    log = logs.filter(uuid=wanted).first()
    if log is None:
        raise SnapshotNotFound(f"{run.course_key} has no published snapshot {wanted}")
    return log


def create_run(
    from_run_key,
    new_run_key,
    *,
    run_settings: Mapping[str, object] | None = None,
    pin: str | uuid.UUID | None = None,
) -> CourseRunInfo:
    """
    Create run ``new_run_key`` showing the same LearningPackage as ``from_run_key``; copy no content.

    Writes one CourseRun row. The new run starts with ``run_settings`` only (the source run's dates
    are not carried over: a new run has its own). ``pin`` is None (follow every publish),
    ``"current"`` (the package's latest publish now) or the uuid of one of the package's publishes.
    Raises ``InvalidKey``, :class:`CourseNotFound`, :class:`CourseRunExists`,
    :class:`InvalidRunSettings` or :class:`SnapshotNotFound`; then nothing is written.
    """
    source_key, new_key = _key(from_run_key), _key(new_run_key)
    settings = {
        name: value for name, value in normalize_run_settings(run_settings or {}).items() if value is not None
    }
    with transaction.atomic():
        source = _get_run(source_key)
        if CourseRun.objects.filter(course_key=new_key).exists():
            raise CourseRunExists(f"The course run {new_key} already exists")
        pinned = _resolve_snapshot(source, pin) if pin is not None else None
        try:
            with transaction.atomic():
                run = CourseRun.objects.create(
                    course_key=new_key,
                    learning_package_id=source.learning_package_id,
                    root_id=source.root_id,
                    run_settings=settings,
                    pinned_publish_log=pinned,
                )
        except IntegrityError as exc:  # created by someone else since the check above
            raise CourseRunExists(f"The course run {new_key} already exists") from exc
        run.learning_package = source.learning_package
    return _info(run)


def list_runs(*, sharing_with=None) -> list[CourseRunInfo]:
    """
    Every course run, by key; or, with ``sharing_with``, the runs of that run's package (itself included).

    One query. Raises :class:`CourseNotFound` if ``sharing_with`` names no run.
    """
    runs = _runs().order_by("course_key")
    if sharing_with is not None:
        key = _key(sharing_with)
        package = CourseRun.objects.filter(course_key=key).values("learning_package_id")
        runs = runs.filter(learning_package_id__in=package)
        found = [_info(run) for run in runs]
        if not found:
            raise CourseNotFound(f"No course run {key}")
        return found
    return [_info(run) for run in runs]


def list_snapshots(course_key) -> list[PublishedSnapshot]:
    """The publishes of a run's package, newest first: what :func:`pin_run` accepts. Two queries."""
    run = _get_run(_key(course_key))
    logs = (
        PublishLog.objects.filter(learning_package_id=run.learning_package_id)
        .annotate(entities=Count("records"))
        .order_by("-id")
    )
    return [PublishedSnapshot(str(log.uuid), log.published_at, log.message, log.entities) for log in logs]


def pin_run(course_key, snapshot: str | uuid.UUID = CURRENT_SNAPSHOT) -> CourseRunInfo:
    """
    Pin a run to one published snapshot of its package: ``"current"`` (the latest publish) or a uuid.

    From then on its learners see the content as published then; later publishes do not reach them.
    Raises :class:`CourseNotFound` or :class:`SnapshotNotFound`; then nothing is written.
    """
    with transaction.atomic():
        run = _get_run(_key(course_key), for_update=True)
        run.pinned_publish_log = _resolve_snapshot(run, snapshot)
        run.save(update_fields=["pinned_publish_log"])
    return _info(run)


def unpin_run(course_key) -> CourseRunInfo:
    """Let a run follow the package's latest publish again. Unpinning an unpinned run writes nothing."""
    with transaction.atomic():
        run = _get_run(_key(course_key), for_update=True)
        if run.pinned_publish_log_id is not None:
            run.pinned_publish_log = None
            run.save(update_fields=["pinned_publish_log"])
    return _info(run)


def update_run_settings(course_key, changes: Mapping[str, object]) -> CourseRunInfo:
    """
    Change a run's own settings: each name in ``changes`` is set to its date, or removed if None.

    A removed setting falls back to the course root's value. Raises :class:`CourseNotFound` or
    :class:`InvalidRunSettings`; then nothing is written.
    """
    normalized = normalize_run_settings(changes)
    with transaction.atomic():
        run = _get_run(_key(course_key), for_update=True)
        settings = dict(run.run_settings or {})
        for name, value in normalized.items():
            if value is None:
                settings.pop(name, None)
            else:
                settings[name] = value
        if settings != run.run_settings:
            run.run_settings = settings
            run.save(update_fields=["run_settings"])
    return _info(run)
