"""
What the platform is told (lc_runtime.signals, lc_runtime.announcements): ``course_published`` once per
course run whose published content changed, and openedx-events with their own data classes; all after
the commit, none for a transaction that rolls back, once per run for a bulk of changes.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest
from django.db import transaction
from opaque_keys.edx.keys import CourseKey
from openedx_events.content_authoring.data import CourseCatalogData, CourseData
from openedx_events.content_authoring.signals import (
    COURSE_CATALOG_INFO_CHANGED,
    COURSE_CREATED,
    COURSE_IMPORT_COMPLETED,
)

from lc_runtime import api
from lc_runtime.signals import course_published
from tests.conftest import DEMO_COURSE, DEMO_KEY

pytestmark = pytest.mark.django_db

RUN_2 = "course-v1:LcX+Demo+2027"
RUN_3 = "course-v1:LcX+Demo+2028"
EVENTS = (COURSE_IMPORT_COMPLETED, COURSE_CREATED, COURSE_CATALOG_INFO_CHANGED)


class Told:
    """Everything sent, in order: ("course_published", key) and (event type, its data)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def published(self, sender, course_key, **kwargs) -> None:
        assert isinstance(course_key, CourseKey)
        self.sent.append(("course_published", str(course_key)))

    def event(self, signal, **kwargs) -> None:
        name = signal.event_type.split(".")[-2]  # org.openedx.content_authoring.course.created.v1 -> created
        data = kwargs.get("course") or kwargs.get("catalog_info")
        self.sent.append((name, data))

    def of(self, kind: str) -> list:
        return [what for name, what in self.sent if name == kind]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def told():
    record = Told()
    course_published.connect(record.published)
    handlers = []
    for event in EVENTS:
        def handler(sender=None, signal=event, **kwargs):
            record.event(signal, **kwargs)
        event.connect(handler)
        handlers.append((event, handler))
    yield record
    course_published.disconnect(record.published)
    for event, handler in handlers:
        event.disconnect(handler)


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    """The demo course, imported, its announcements sent (as the commit of a real transaction would)."""
    with django_capture_on_commit_callbacks(execute=True):
        api.import_olx(DEMO_COURSE)


def _edit_and_publish(course_key: str, title: str) -> None:
    with api.unit_of_work():
        runtime = api.get_runtime(None, course_key=course_key, mode="draft")
        root = runtime.get_block(runtime.root_usage_key)
        section = runtime.get_block(root.children[0])
        section.display_name = title
        section.save()
    api.publish(course_key)


def test_an_import_tells_of_a_new_run_its_publish_and_the_import(told, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.import_olx(DEMO_COURSE)
    assert told.of("course_published") == [DEMO_KEY]
    assert told.of("created") == [CourseData(course_key=CourseKey.from_string(DEMO_KEY))]
    assert told.of("completed") == [CourseData(course_key=CourseKey.from_string(DEMO_KEY))]
    (catalog,) = told.of("changed")
    assert isinstance(catalog, CourseCatalogData)
    assert (catalog.name, catalog.schedule_data.pacing) == ("lc-runtime Demo Course", "self")

    told.clear()
    with django_capture_on_commit_callbacks(execute=True):
        api.import_olx(DEMO_COURSE)  # unchanged: nothing published, nothing new
    assert [name for name, _ in told.sent] == ["completed"]


def test_one_course_published_per_publish_after_commit_and_none_without_changes(
    demo, told, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        _edit_and_publish(DEMO_KEY, "Renamed once")
        assert told.sent == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert told.sent == [("course_published", DEMO_KEY)]  # the course's name is not the section's: no catalog event

    told.clear()
    with django_capture_on_commit_callbacks(execute=True):
        api.publish(DEMO_KEY)  # nothing left to publish
    assert told.sent == []


def test_a_bulk_of_edits_in_one_transaction_is_one_course_published(demo, told, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for number in range(3):
            _edit_and_publish(DEMO_KEY, f"Renamed {number}")
    assert told.sent == [("course_published", DEMO_KEY)]


def test_nothing_is_sent_for_a_transaction_that_rolls_back(demo, told, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        api.update_run_settings(DEMO_KEY, {"start": datetime(2031, 1, 1, tzinfo=UTC)})
        raise RuntimeError("the caller's own failure after the change")
    assert told.sent == []

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back: its catalog change
            api.update_run_settings(DEMO_KEY, {"start": datetime(2031, 1, 1, tzinfo=UTC)})
            raise RuntimeError("rolled back")
        _edit_and_publish(DEMO_KEY, "Seen")  # a later publish in the same transaction is told
    assert told.sent == [("course_published", DEMO_KEY)]  # and no catalog change: it was rolled back


def test_runs_are_told_when_what_they_show_moves(told, django_capture_on_commit_callbacks, tmp_path):
    source = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, source)
    with django_capture_on_commit_callbacks(execute=True):
        api.import_olx(source)
    told.clear()
    with django_capture_on_commit_callbacks(execute=True):
        api.create_run(DEMO_KEY, RUN_2, pin="current")
        api.create_run(DEMO_KEY, RUN_3)
    assert told.of("created") == [CourseData(course_key=CourseKey.from_string(key)) for key in (RUN_2, RUN_3)]
    assert told.of("course_published") == [RUN_2, RUN_3]

    told.clear()  # a publish reaches the runs that follow the package, not the pinned one
    with django_capture_on_commit_callbacks(execute=True):
        _edit_and_publish(DEMO_KEY, "Renamed")
    assert sorted(told.of("course_published")) == [DEMO_KEY, RUN_3]

    told.clear()  # pinning a run to what it already shows moves nothing; unpinning the pinned one does
    with django_capture_on_commit_callbacks(execute=True):
        api.pin_run(RUN_3)
        api.unpin_run(RUN_2)
    assert told.of("course_published") == [RUN_2]

    told.clear()  # a run's own dates: its learners' course changes, and its catalog data
    start = datetime(2031, 2, 3, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        api.update_run_settings(RUN_2, {"start": start})
    assert told.of("course_published") == [RUN_2]
    (catalog,) = told.of("changed")
    assert catalog.course_key == CourseKey.from_string(RUN_2) and catalog.schedule_data.start == start
