"""
What the platform is told when course runs change: which runs' published content changed, their
catalog data, imports and new runs (sent after commit by :mod:`lc_runtime.signals`).

A publish changes what every run that follows the package shows (a pinned run keeps its pin); a pin
that moves, or a run's own dates, change one run. Each such run gets ``course_published``, and
``COURSE_CATALOG_INFO_CHANGED`` when its catalog data (name, dates, pacing, visibility, invitation)
differs from before the change.
"""

from __future__ import annotations

from collections.abc import Mapping

from opaque_keys.edx.keys import CourseKey
from openedx_events.content_authoring.data import CourseCatalogData, CourseData, CourseScheduleData
from openedx_events.content_authoring.signals import (
    COURSE_CATALOG_INFO_CHANGED,
    COURSE_CREATED,
    COURSE_IMPORT_COMPLETED,
)

from lc_runtime.content.courses.api import CourseNotFound, CourseNotPublished, list_runs, load_course_tree
from lc_runtime.keys import to_course_key
from lc_runtime.signals import course_published, send_after_commit, send_event_after_commit
from lc_runtime.summaries import summary_or_none

__all__ = [
    "announce_following_runs",
    "announce_import",
    "announce_new_run",
    "announce_published",
    "catalog_info",
    "catalogs_of_following_runs",
    "following_runs",
    "shown_state",
]

def following_runs(course_key: str | CourseKey) -> list[CourseKey]:
    """The runs that show the latest publish of ``course_key``'s package (not the pinned ones)."""
    return [to_course_key(run.course_key) for run in list_runs(sharing_with=course_key) if run.pinned_snapshot is None]


def catalog_info(course_key: CourseKey) -> CourseCatalogData | None:
    """The catalog data of what the run shows learners, as edx-platform builds it; None if never published."""
    summary = summary_or_none(course_key)
    if summary is None:
        return None
    return CourseCatalogData(
        course_key=course_key,
        name=summary.display_name,
        schedule_data=CourseScheduleData(
            start=summary.start, pacing=summary.pacing, end=summary.end,
            enrollment_start=summary.enrollment_start, enrollment_end=summary.enrollment_end,
        ),
        hidden=summary.hidden,
        invitation_only=summary.invitation_only,
    )


def shown_state(course_key: CourseKey) -> tuple[frozenset, dict] | None:
    """
    What a run shows, to tell whether a change moved it: the version of each of its blocks and its own
    settings (a pin to the latest publish shows what the run showed already: nothing moved).
    """
    try:
        tree = load_course_tree(course_key, mode="published")
    except (CourseNotFound, CourseNotPublished):
        return None
    return frozenset((ref, record.version_id) for ref, record in tree.blocks.items()), dict(tree.run_settings)


def announce_published(course_key: CourseKey, catalog_before: CourseCatalogData | None) -> None:
    """``course_published`` for the run, and its new catalog data if it changed."""
    send_after_commit(course_published, course_key=course_key)
    catalog = catalog_info(course_key)
    if catalog is not None and catalog != catalog_before:
        # Read again after the commit: what the platform is told is what was kept.
        send_event_after_commit(COURSE_CATALOG_INFO_CHANGED, str(course_key),
                                data=lambda: {"catalog_info": catalog_info(course_key)})


def catalogs_of_following_runs(course_key: CourseKey) -> dict[CourseKey, CourseCatalogData | None]:
    """Before a publish: the catalog data of every run that will follow it (none if the run is new)."""
    try:
        return {run: catalog_info(run) for run in following_runs(course_key)}
    except CourseNotFound:
        return {}


def announce_following_runs(
    course_key: CourseKey, catalogs_before: Mapping[CourseKey, CourseCatalogData | None]
) -> None:
    """After a publish of ``course_key``'s package: every run that follows it."""
    for run in following_runs(course_key):
        announce_published(run, catalogs_before.get(run))


def announce_import(course_key: CourseKey) -> None:
    """``COURSE_IMPORT_COMPLETED`` for the run an import wrote."""
    send_event_after_commit(COURSE_IMPORT_COMPLETED, str(course_key), course=CourseData(course_key=course_key))


def announce_new_run(course_key: CourseKey) -> None:
    """``COURSE_CREATED`` for a run that did not exist (made by an import or from another run)."""
    send_event_after_commit(COURSE_CREATED, str(course_key), course=CourseData(course_key=course_key))
