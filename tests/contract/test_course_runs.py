"""
Course runs: several runs share one LearningPackage, each with its own key, dates and optional pin.

The demo course is imported as run 2026; the tests create more runs of it, publish changes and
check what each run's learners see.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.blocks.inheritance import DEFAULT_START_DATE
from lc_runtime.fielddata.authored import AuthoredFieldReadOnly
from lc_runtime.models import CourseRun
from tests.conftest import DEMO_COURSE, DEMO_KEY, forget_cached_courses, usage

pytestmark = pytest.mark.django_db

RUN_2 = "course-v1:LcX+Demo+2027"
RUN_3 = "course-v1:LcX+Demo+2028"
TEXT = ("html", "after-the-question")
TEXT_BEFORE = "Knowing how long a year is on Mars"
TEXT_AFTER = "A Martian year is 687 Earth days"


def _row_counts() -> dict[str, int]:
    """Rows in every table of lc-runtime and openedx-core."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("lc_runtime", "openedx_content")
    }


def _copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, target)
    return target


def _text_seen_in(run_key: str) -> str:
    runtime = api.get_runtime(None, course_key=run_key)
    return runtime.get_block(usage(run_key, *TEXT)).data


def _change_text_and_publish(source: Path) -> api.ImportResult:
    body = source / "html" / "after-the-question.xml"
    body.write_text(body.read_text().replace(TEXT_BEFORE, TEXT_AFTER))
    return api.import_olx(source)


@pytest.fixture
def source(tmp_path) -> Path:
    """A copy of the demo course, imported and published as run 2026."""
    path = _copy_demo(tmp_path)
    api.import_olx(path)
    return path


def test_two_runs_share_one_package_and_a_new_run_copies_no_content(source):
    before = _row_counts()

    run = api.create_run(DEMO_KEY, RUN_2)

    after = _row_counts()
    assert after.pop("lc_runtime.CourseRun") == before.pop("lc_runtime.CourseRun") + 1
    assert after == before  # not one component, container, version or media row more
    assert run.course_key == RUN_2 and run.pinned_snapshot is None and run.run_settings == {}
    runs = api.list_runs(sharing_with=RUN_2)
    assert [r.course_key for r in runs] == [DEMO_KEY, RUN_2]
    assert runs[0].package_ref == runs[1].package_ref == DEMO_KEY
    # Each run has its own usage keys over the same content.
    assert TEXT_BEFORE in _text_seen_in(DEMO_KEY)
    assert TEXT_BEFORE in _text_seen_in(RUN_2)
    runtime = api.get_runtime(None, course_key=RUN_2)
    assert str(runtime.root_usage_key) == usage(RUN_2, "course", "course")
    with pytest.raises(NoSuchUsage):
        runtime.get_block(usage(DEMO_KEY, *TEXT))


def test_a_publish_reaches_a_following_run_and_not_a_pinned_one(source):
    api.create_run(DEMO_KEY, RUN_2, pin="current")
    api.create_run(DEMO_KEY, RUN_3)  # follows the latest publish

    _change_text_and_publish(source)

    assert TEXT_AFTER in _text_seen_in(DEMO_KEY)
    assert TEXT_AFTER in _text_seen_in(RUN_3)
    pinned_text = _text_seen_in(RUN_2)
    assert TEXT_BEFORE in pinned_text and TEXT_AFTER not in pinned_text

    api.unpin_run(RUN_2)
    assert TEXT_AFTER in _text_seen_in(RUN_2)


def test_a_run_can_be_pinned_to_an_earlier_snapshot_by_its_uuid(source):
    first_publish = api.list_snapshots(DEMO_KEY)[0]
    _change_text_and_publish(source)
    snapshots = api.list_snapshots(DEMO_KEY)
    assert [s.uuid for s in snapshots][1:] == [first_publish.uuid]  # newest first
    assert snapshots[1].entities_published == 14

    api.create_run(DEMO_KEY, RUN_2)
    assert TEXT_AFTER in _text_seen_in(RUN_2)
    info = api.pin_run(RUN_2, first_publish.uuid)
    assert info.pinned_snapshot == first_publish.uuid

    assert TEXT_BEFORE in _text_seen_in(RUN_2)
    assert TEXT_AFTER in _text_seen_in(DEMO_KEY)


def test_a_pinned_run_keeps_its_outline_when_blocks_are_added_and_removed(source):
    api.create_run(DEMO_KEY, RUN_2, pin="current")
    unit = source / "vertical" / "welcome-unit.xml"
    unit.write_text(
        '<vertical display_name="Welcome to the course">\n'
        '  <html url_name="welcome-text"/>\n'
        '  <html url_name="new-text"><![CDATA[<p>New.</p>]]></html>\n'
        "</vertical>\n"
    )
    result = api.import_olx(source)
    assert result.created_blocks == ["html/new-text"]

    def unit_children(run_key: str) -> list[str]:
        runtime = api.get_runtime(None, course_key=run_key)
        block = runtime.get_block(usage(run_key, "vertical", "welcome-unit"))
        return [child.scope_ids.usage_id.block_id for child in block.get_children()]

    assert unit_children(DEMO_KEY) == ["welcome-text", "new-text"]
    assert unit_children(RUN_2) == ["welcome-text", "welcome-video"]
    with pytest.raises(NoSuchUsage):
        api.get_runtime(None, course_key=RUN_2).get_block(usage(RUN_2, "html", "new-text"))


def test_authors_edit_the_shared_draft_whichever_run_they_open(source):
    api.create_run(DEMO_KEY, RUN_2, pin="current")
    with api.unit_of_work():
        studio = api.get_runtime(None, course_key=RUN_2, mode="draft")
        block = studio.get_block(usage(RUN_2, *TEXT))
        block.display_name = "Why it matters, revised"
        block.save()
    assert api.publish(RUN_2).entities_published >= 1

    def title_in(run_key: str) -> str:
        return api.get_runtime(None, course_key=run_key).get_block(usage(run_key, *TEXT)).display_name

    assert title_in(DEMO_KEY) == "Why it matters, revised"
    assert title_in(RUN_2) == "Why it matters"  # pinned before that publish


def test_run_dates_override_the_course_root_and_are_inherited(source):
    api.create_run(DEMO_KEY, RUN_2, run_settings={"start": "2027-03-01", "end": "2027-06-30T12:00:00+02:00"})

    def dates(run_key: str) -> tuple:
        runtime = api.get_runtime(None, course_key=run_key)
        course = runtime.get_block(runtime.root_usage_key)
        # The chapter sets no start of its own: it inherits the course's.
        chapter = runtime.get_block(usage(run_key, "chapter", "getting-started"))
        return course.start, course.end, chapter.start

    assert dates(RUN_2) == (datetime(2027, 3, 1, tzinfo=UTC), "2027-06-30T10:00:00Z", datetime(2027, 3, 1, tzinfo=UTC))
    assert dates(DEMO_KEY) == (datetime(2026, 1, 1, tzinfo=UTC), None, datetime(2026, 1, 1, tzinfo=UTC))

    info = api.update_run_settings(RUN_2, {"start": None, "enrollment_start": "2027-01-15"})
    assert info.run_settings == {"end": "2027-06-30T10:00:00Z", "enrollment_start": "2027-01-15T00:00:00Z"}
    assert dates(RUN_2)[0] == datetime(2026, 1, 1, tzinfo=UTC)  # back to the course's own start
    assert DEFAULT_START_DATE.year == 2030  # (the default is not what either run shows)


def test_saving_the_course_root_in_a_run_with_dates_keeps_the_dates_out_of_the_content(source):
    api.create_run(DEMO_KEY, RUN_2, run_settings={"start": "2027-03-01"})
    with api.unit_of_work():
        studio = api.get_runtime(None, course_key=RUN_2, mode="draft")
        course = studio.get_block(studio.root_usage_key)
        course.display_name = "Demo, second run"
        course.save()
    api.publish(RUN_2)
    run_1 = api.get_runtime(None, course_key=DEMO_KEY)
    course_1 = run_1.get_block(run_1.root_usage_key)
    assert course_1.display_name == "Demo, second run"  # the content is shared
    assert course_1.start == datetime(2026, 1, 1, tzinfo=UTC)  # the other run's date did not leak into it

    versions = _row_counts()["openedx_content.PublishableEntityVersion"]
    with pytest.raises(AuthoredFieldReadOnly, match="update_run_settings"), api.unit_of_work():
        studio = api.get_runtime(None, course_key=RUN_2, mode="draft")
        course = studio.get_block(studio.root_usage_key)
        course.start = datetime(2028, 1, 1, tzinfo=UTC)
        course.save()
    assert _row_counts()["openedx_content.PublishableEntityVersion"] == versions


def test_learner_state_is_kept_per_run(source, make_user):
    api.create_run(DEMO_KEY, RUN_2)
    ada = make_user("ada")
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        problem = runtime.get_block(usage(DEMO_KEY, "problem", "orbit-question"))
        problem.attempts = 2
        problem.save()
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=RUN_2)
        assert runtime.get_block(usage(RUN_2, "problem", "orbit-question")).attempts == 0


def _tree_queries(run_key: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        api.get_runtime(None, course_key=run_key)
    return len(queries)


def test_loading_a_pinned_tree_costs_one_query_more_cold_and_one_warm(source, django_assert_num_queries):
    api.create_run(DEMO_KEY, RUN_2, pin="current")
    api.create_run(DEMO_KEY, RUN_3)
    _change_text_and_publish(source)
    forget_cached_courses()

    following_cold = _tree_queries(RUN_3)
    # The extra query reads the versions published as of the pin, for every entity at once.
    with django_assert_num_queries(following_cold + 1):
        api.get_runtime(None, course_key=RUN_2)
    with django_assert_num_queries(1):
        api.get_runtime(None, course_key=RUN_2)
    # A later publish leaves the pinned snapshot's cache entry good: still one query.
    welcome = source / "html" / "welcome-text.html"
    welcome.write_text(welcome.read_text().replace("Welcome!", "Welcome back!"))
    assert api.import_olx(source).published.entities_published >= 1
    with django_assert_num_queries(1):
        assert TEXT_BEFORE in _text_seen_in(RUN_2)


def test_a_pinned_tree_costs_the_same_for_a_bigger_course(tmp_path):
    from tests.contract.test_query_counts import write_course

    counts = []
    for size in (5, 50):
        forget_cached_courses()
        result = api.import_olx(write_course(tmp_path / str(size), size))
        other_run = result.course_key.replace("+2026", f"+Pinned{size}")
        api.create_run(result.course_key, other_run, pin="current")
        counts.append(_tree_queries(other_run))
        CourseRun.objects.filter(course_key=other_run).delete()
    assert counts[0] == counts[1]


# ---- bad input: a clear error, and nothing written


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: api.create_run("course-v1:LcX+Nope+1", RUN_2), api.CourseNotFound, "No course run"),
        (lambda: api.create_run(DEMO_KEY, DEMO_KEY), api.CourseRunExists, "already exists"),
        (lambda: api.create_run(DEMO_KEY, "not a key"), api.InvalidKey, "not a key"),
        (lambda: api.create_run(DEMO_KEY, RUN_2, run_settings={"due": "2027-01-01"}), api.InvalidRunSettings,
         "'due' is not a run setting"),
        (lambda: api.create_run(DEMO_KEY, RUN_2, run_settings={"start": "someday"}), api.InvalidRunSettings,
         "start: 'someday' is not a date"),
        (lambda: api.create_run(DEMO_KEY, RUN_2, pin="yesterday"), api.SnapshotNotFound, "neither 'current'"),
        (lambda: api.create_run(DEMO_KEY, RUN_2, pin="7b0c7f4e-6a55-4d55-9a8c-000000000000"),
         api.SnapshotNotFound, "has no published snapshot"),
        (lambda: api.pin_run(RUN_3), api.CourseNotFound, "No course run"),
        (lambda: api.update_run_settings(DEMO_KEY, {"end": "2027-13-45"}), api.InvalidRunSettings, "end:"),
        (lambda: api.list_runs(sharing_with=RUN_3), api.CourseNotFound, "No course run"),
    ],
)
def test_bad_run_requests_are_refused_and_write_nothing(source, call, error, message):
    before = _row_counts()
    runs_before = list(CourseRun.objects.values_list("course_key", "run_settings", "pinned_publish_log_id"))
    with pytest.raises(error, match=message):
        call()
    assert _row_counts() == before
    assert list(CourseRun.objects.values_list("course_key", "run_settings", "pinned_publish_log_id")) == runs_before


def test_a_run_cannot_be_pinned_to_another_packages_publish(source, tmp_path):
    from tests.conftest import LEAF_COURSE

    other = api.import_olx(LEAF_COURSE)
    other_publish = api.list_snapshots(other.course_key)[0]
    with pytest.raises(api.SnapshotNotFound, match="has no published snapshot"):
        api.pin_run(DEMO_KEY, other_publish.uuid)
    assert api.list_runs(sharing_with=DEMO_KEY)[0].pinned_snapshot is None


def test_a_never_published_course_has_nothing_to_pin(db):
    api.import_olx(DEMO_COURSE, publish=False)
    with pytest.raises(api.SnapshotNotFound, match="never been published"):
        api.create_run(DEMO_KEY, RUN_2, pin="current")
    assert not CourseRun.objects.filter(course_key=RUN_2).exists()


def test_run_info_as_json(source):
    info = api.create_run(DEMO_KEY, RUN_2, run_settings={"start": "2027-03-01"}, pin="current")
    data = info.as_dict()
    assert data["course_key"] == RUN_2 and data["package_ref"] == DEMO_KEY
    assert data["run_settings"] == {"start": "2027-03-01T00:00:00Z"}
    assert data["pinned_snapshot"] == api.list_snapshots(DEMO_KEY)[0].uuid
    assert isinstance(data["pinned_published_at"], str) and isinstance(data["created"], str)
