"""
Dates per learner with edx-when: a publish writes the run's content dates, a learner's blocks read their own.

The dates course (tests/fixtures/dates-course) is instructor-paced: two graded subsections with a
``due``, each holding a problem that inherits it. Its self-paced variant adds a policy file with
``"self_paced": true``: then the subsections are due some weeks after each learner's start.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from edx_when import api as edx_when
from edx_when.models import ContentDate, UserDate
from opaque_keys.edx.keys import UsageKey

from lc_runtime import api
from lc_runtime.content.dates import api as dates
from lc_runtime.content.dates import course_dates
from lc_runtime.runtime.date_extraction import EXPECTED_DURATION
from tests.conftest import ROOT, usage

pytestmark = pytest.mark.django_db

DATES_COURSE = ROOT / "tests" / "fixtures" / "dates-course"
KEY = "course-v1:LcX+Dates+2026"
SELF_PACED_KEY = "course-v1:LcX+Dates+Self"
RUN_2 = "course-v1:LcX+Dates+2027"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def key(block_type: str, block_id: str, course_key: str = KEY) -> UsageKey:
    return UsageKey.from_string(usage(course_key, block_type, block_id))


COURSE, WEEK2 = ("course", "course"), ("chapter", "week2")
HW1, HW2, Q1, Q2 = ("sequential", "hw1"), ("sequential", "hw2"), ("problem", "q1"), ("problem", "q2")
NOTE = ("html", "hw1-note")

AUTHORED = {
    (key(*COURSE), "start"): at("2026-01-05T00:00:00"),
    (key(*COURSE), "end"): at("2026-12-20T00:00:00"),
    (key(*WEEK2), "start"): at("2026-02-01T00:00:00"),
    (key(*HW1), "due"): at("2026-02-01T12:00:00"),
    (key(*HW2), "due"): at("2026-03-01T12:00:00"),
}
"""Every date the dates course sets itself (the problems inherit theirs)."""


@pytest.fixture
def course(db):
    result = api.import_olx(DATES_COURSE, strict=True)
    assert result.problems == []
    return result


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "dates-course"
    shutil.copytree(DATES_COURSE, target)
    return target


@pytest.fixture
def self_paced(db, tmp_path):
    """The self-paced variant, as its own run: hw1 without a due (as Studio writes them), hw2 still with one."""
    source = _copy(tmp_path)
    (source / "policies" / "2026").mkdir(parents=True)
    (source / "policies" / "2026" / "policy.json").write_text(json.dumps({"course/2026": {"self_paced": True}}))
    outline = source / "course" / "2026.xml"
    outline.write_text(outline.read_text().replace(' due="2026-02-01T12:00:00Z"', ""))
    return api.import_olx(source, course_key=SELF_PACED_KEY, strict=True)


def _stored_dates(course_key: str) -> dict[tuple[UsageKey, str], datetime | timedelta]:
    """The active content dates edx-when holds for a run, absolute or relative, straight from its table."""
    rows = ContentDate.objects.filter(course_id=course_key, active=True).select_related("policy")
    return {(row.location, row.field): row.policy.abs_date or row.policy.rel_date for row in rows}


def _due_for(user, block: tuple[str, str], course_key: str = KEY) -> datetime | None:
    runtime = api.get_runtime(user, course_key=course_key)
    return runtime.get_block(usage(course_key, *block)).due


# ---- writing on publish


def test_a_publish_writes_the_dates_the_course_sets_to_edx_when(course):
    assert edx_when.get_dates_for_course(KEY, use_cached=False) == AUTHORED
    assert _stored_dates(KEY) == AUTHORED
    assert edx_when.is_enabled_for_course(KEY)


def test_a_republish_updates_changed_dates_and_deactivates_dropped_ones(course, make_user):
    ada = make_user("ada")
    assert _due_for(ada, Q1) == at("2026-02-01T12:00:00")
    author = make_user("author", is_staff=True)
    draft = api.get_runtime(author, course_key=KEY, mode="draft")
    hw1 = draft.get_block(usage(KEY, *HW1))
    hw1.due = at("2026-02-08T12:00:00")
    hw1.save()
    hw2 = draft.get_block(usage(KEY, *HW2))
    hw2.due = None  # cleared, as Studio does
    hw2.save()
    assert _stored_dates(KEY) == AUTHORED  # drafts are not learners' dates

    api.publish(KEY)

    expected = {**AUTHORED, (key(*HW1), "due"): at("2026-02-08T12:00:00")}
    del expected[(key(*HW2), "due")]
    assert _stored_dates(KEY) == expected
    assert ContentDate.objects.get(location=key(*HW2), field="due").active is False
    # A learner's next request reads the new publish, whatever was cached for the previous one.
    assert _due_for(ada, Q1) == at("2026-02-08T12:00:00")
    assert _due_for(ada, Q2) is None


def test_a_reimport_that_changes_dates_rewrites_them(course, tmp_path):
    source = _copy(tmp_path)
    outline = source / "course" / "2026.xml"
    outline.write_text(outline.read_text().replace('due="2026-03-01T12:00:00Z"', 'due="2026-03-15T12:00:00Z"'))

    api.import_olx(source)

    assert _stored_dates(KEY) == {**AUTHORED, (key(*HW2), "due"): at("2026-03-15T12:00:00")}


def test_an_import_that_does_not_publish_writes_no_dates(db):
    api.import_olx(DATES_COURSE, publish=False)

    assert not ContentDate.objects.exists()
    api.publish(KEY)
    assert _stored_dates(KEY) == AUTHORED


def test_each_run_has_its_own_course_dates_and_a_pinned_run_keeps_its_pins(course, make_user):
    api.create_run(KEY, RUN_2, run_settings={"start": "2026-01-04T00:00:00Z"})
    in_run_2 = {(key(block_type, block_id, RUN_2), field) for (block_type, block_id), field in [(COURSE, "start")]}
    assert {k: v for k, v in _stored_dates(RUN_2).items() if k in in_run_2} == {
        (key(*COURSE, RUN_2), "start"): at("2026-01-04T00:00:00")
    }
    assert _stored_dates(RUN_2)[(key(*HW1, RUN_2), "due")] == at("2026-02-01T12:00:00")

    api.update_run_settings(RUN_2, {"end": "2027-12-31T00:00:00Z"})
    assert _stored_dates(RUN_2)[(key(*COURSE, RUN_2), "end")] == at("2027-12-31T00:00:00")
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=RUN_2)
    assert runtime.get_block(runtime.root_usage_key).end == "2027-12-31T00:00:00Z"

    api.pin_run(RUN_2)
    author = make_user("author", is_staff=True)
    hw1 = api.get_runtime(author, course_key=KEY, mode="draft").get_block(usage(KEY, *HW1))
    hw1.due = at("2026-02-08T12:00:00")
    hw1.save()
    api.publish(KEY)
    assert _stored_dates(KEY)[(key(*HW1), "due")] == at("2026-02-08T12:00:00")
    assert _stored_dates(RUN_2)[(key(*HW1, RUN_2), "due")] == at("2026-02-01T12:00:00")  # as pinned

    api.unpin_run(RUN_2)
    assert _stored_dates(RUN_2)[(key(*HW1, RUN_2), "due")] == at("2026-02-08T12:00:00")
    assert _due_for(ada, Q1, RUN_2) == at("2026-02-08T12:00:00")


# ---- a learner's dates


def test_a_personal_date_reaches_the_problems_due_for_that_learner_only(course, make_user):
    ada, bob, staff = make_user("ada"), make_user("bob"), make_user("staff", is_staff=True)

    dates.set_personal_date(KEY, usage(KEY, *HW1), "due", ada, at("2026-02-15T12:00:00"), reason="ill", actor=staff)

    assert _due_for(ada, Q1) == at("2026-02-15T12:00:00")  # the problem inherits its subsection's date
    assert _due_for(ada, NOTE) == at("2026-02-15T12:00:00")
    assert _due_for(ada, HW1) == at("2026-02-15T12:00:00")
    assert _due_for(bob, Q1) == at("2026-02-01T12:00:00")
    assert _due_for(ada, Q2) == at("2026-03-01T12:00:00")
    runtime = api.get_runtime(ada, course_key=KEY)
    assert runtime.learner_dates()[(key(*HW1), "due")] == at("2026-02-15T12:00:00")
    override = UserDate.objects.get()
    assert (override.user, override.actor, override.reason) == (ada, staff, "ill")


def test_an_extension_and_the_latest_personal_date_win(course, make_user):
    ada = make_user("ada")
    dates.set_personal_date(KEY, usage(KEY, *HW2), "due", ada, at("2026-03-20T12:00:00"))
    dates.set_personal_date(KEY, usage(KEY, *HW2), "due", ada, timedelta(days=2))

    assert _due_for(ada, Q2) == at("2026-03-03T12:00:00")


def test_a_learners_dates_hide_nothing_from_authors_and_system_runtimes(course, make_user):
    ada = make_user("ada", is_staff=True)
    dates.set_personal_date(KEY, usage(KEY, *HW1), "due", ada, at("2026-02-15T12:00:00"))

    draft = api.get_runtime(ada, course_key=KEY, mode="draft")
    assert draft.get_block(usage(KEY, *Q1)).due == at("2026-02-01T12:00:00")
    assert draft.learner_dates() == {}
    assert _due_for(None, Q1) == at("2026-02-01T12:00:00")


def test_a_self_paced_due_date_counts_from_the_learners_start(self_paced, make_user):
    stored = _stored_dates(SELF_PACED_KEY)
    half, whole = EXPECTED_DURATION / 2, EXPECTED_DURATION  # two sections share the course's duration
    assert stored == {
        (key(*COURSE, SELF_PACED_KEY), "start"): at("2026-01-05T00:00:00"),
        (key(*COURSE, SELF_PACED_KEY), "end"): at("2026-12-20T00:00:00"),
        (key(*HW1, SELF_PACED_KEY), "due"): half,
        (key(*Q1, SELF_PACED_KEY), "due"): half,
        (key(*HW2, SELF_PACED_KEY), "due"): whole,  # its absolute due is not a self-paced date
        (key(*Q2, SELF_PACED_KEY), "due"): whole,
    }
    ada = make_user("ada")
    start = at("2026-03-02T09:30:00.123456")
    dates.set_learner_schedule(ada.id, SELF_PACED_KEY, start)

    assert _due_for(ada, Q1, SELF_PACED_KEY) == start + half
    assert _due_for(ada, NOTE, SELF_PACED_KEY) == start + half
    assert _due_for(ada, Q2, SELF_PACED_KEY) == start + whole
    assert dates.learner_schedule(ada, SELF_PACED_KEY) == start


def test_a_learner_without_a_schedule_gets_no_relative_date(self_paced, make_user):
    bob = make_user("bob")

    assert _due_for(bob, Q1, SELF_PACED_KEY) is None
    learner_dates = api.get_runtime(bob, course_key=SELF_PACED_KEY).learner_dates()
    assert sorted(field for (_block, field) in learner_dates) == ["end", "start"]  # the course's, no due


def test_a_learner_who_starts_too_late_to_meet_every_due_date_gets_none(self_paced, make_user):
    ada, cleo = make_user("ada"), make_user("cleo")
    # edx-when's cutoff: the course's end less its longest relative due date.
    cutoff = at("2026-12-20T00:00:00") - EXPECTED_DURATION
    dates.set_learner_schedule(ada.id, SELF_PACED_KEY, cutoff - timedelta(days=1))
    dates.set_learner_schedule(cleo.id, SELF_PACED_KEY, cutoff + timedelta(days=1))

    assert _due_for(ada, Q2, SELF_PACED_KEY) == cutoff - timedelta(days=1) + EXPECTED_DURATION
    assert _due_for(cleo, Q2, SELF_PACED_KEY) is None
    assert api.get_runtime(cleo, course_key=SELF_PACED_KEY).learner_dates()[(key(*Q2, SELF_PACED_KEY), "due")] is None


def test_a_self_paced_learner_can_get_a_personal_date(self_paced, make_user):
    ada = make_user("ada")
    start = at("2026-03-02T00:00:00")
    dates.set_learner_schedule(ada.id, SELF_PACED_KEY, start)
    hw1 = usage(SELF_PACED_KEY, *HW1)

    dates.set_personal_date(SELF_PACED_KEY, hw1, "due", ada, timedelta(days=3))
    assert _due_for(ada, Q1, SELF_PACED_KEY) == start + EXPECTED_DURATION / 2 + timedelta(days=3)
    dates.set_personal_date(SELF_PACED_KEY, hw1, "due", ada, at("2026-05-01T00:00:00"))
    assert _due_for(ada, Q1, SELF_PACED_KEY) == at("2026-05-01T00:00:00")
    with pytest.raises(dates.InvalidPersonalDate, match="earlier than the learner's date"):
        dates.set_personal_date(SELF_PACED_KEY, hw1, "due", ada, start)
    bob = make_user("bob")
    with pytest.raises(dates.DateError, match="no schedule"):
        dates.set_personal_date(SELF_PACED_KEY, hw1, "due", bob, at("2026-05-01T00:00:00"))
    assert UserDate.objects.count() == 4  # two personal dates, each for hw1 and the problem in it, q1


# ---- refused input


@pytest.mark.parametrize(
    ("usage_key", "field", "date", "error", "message"),
    [
        (usage(KEY, *Q1), "due", at("2026-03-01T00:00:00"), dates.NoContentDate, "q1 has no due date"),
        (usage(KEY, *HW1), "start", at("2026-03-01T00:00:00"), dates.NoContentDate, "hw1 has no start date"),
        ("not a key", "due", at("2026-03-01T00:00:00"), api.InvalidKey, "Not a usage key"),
        (usage("course-v1:LcX+Other+2026", *HW1), "due", at("2026-03-01T00:00:00"), api.InvalidKey, "is not in"),
        (usage(KEY, *HW1), "graded", at("2026-03-01T00:00:00"), dates.DateError, "not 'graded'"),
        (usage(KEY, *HW1), "due", datetime(2026, 3, 1), dates.DateError, "no time zone"),
        (usage(KEY, *HW1), "due", "2026-03-01", dates.DateError, "neither a datetime"),
        (usage(KEY, *HW1), "due", at("2026-01-20T00:00:00"), dates.InvalidPersonalDate, "may not be earlier"),
        (usage(KEY, *HW1), "due", timedelta(days=-1), dates.InvalidPersonalDate, "may not be earlier"),
    ],
)
def test_a_refused_personal_date_says_why_and_writes_nothing(course, make_user, usage_key, field, date, error, message):
    ada = make_user("ada")

    with pytest.raises(error, match=message):
        dates.set_personal_date(KEY, usage_key, field, ada, date)

    assert not UserDate.objects.exists()
    assert _stored_dates(KEY) == AUTHORED


def test_a_personal_date_needs_a_date_the_run_still_sets(course, make_user):
    author = make_user("author", is_staff=True)
    hw2 = api.get_runtime(author, course_key=KEY, mode="draft").get_block(usage(KEY, *HW2))
    hw2.due = None  # cleared, as Studio does
    hw2.save()
    api.publish(KEY)

    with pytest.raises(dates.NoContentDate):
        dates.set_personal_date(KEY, usage(KEY, *HW2), "due", make_user("ada"), at("2026-04-01T00:00:00"))
    assert ContentDate.objects.get(location=key(*HW2), field="due").active is False  # not revived


def test_bad_content_dates_are_refused_before_anything_is_written(course):
    with pytest.raises(dates.DateError, match="not graded"):
        dates.write_content_dates(
            KEY, [(usage(KEY, *HW1), {"due": at("2026-03-01T00:00:00")}), (usage(KEY, *HW2), {"graded": True})]
        )
    with pytest.raises(api.InvalidKey):
        dates.write_content_dates(KEY, [(usage("course-v1:LcX+Other+2026", *HW1), {"due": at("2026-03-01T00:00:00")})])
    assert _stored_dates(KEY) == AUTHORED


# ---- costs


def test_a_learners_dates_load_once_per_runtime_in_a_fixed_number_of_queries(
    course, make_user, django_assert_num_queries
):
    ada = make_user("ada")
    dates.set_personal_date(KEY, usage(KEY, *HW1), "due", ada, at("2026-02-15T12:00:00"))
    runtime = api.get_runtime(ada, course_key=KEY)
    # The first block built decides what ada may reach, with her dates: the run's content dates (then
    # cached for this publish) and her personal dates.
    with CaptureQueriesContext(connection) as first_block:
        problem = runtime.get_block(usage(KEY, *Q1))
    assert date_queries(first_block) == 2
    with django_assert_num_queries(0):
        assert problem.due == at("2026-02-15T12:00:00")
        other = runtime.get_block(usage(KEY, *Q2))
        assert other.due == at("2026-03-01T12:00:00")
        assert runtime.learner_dates()[(key(*HW2), "due")] == at("2026-03-01T12:00:00")

    runtime = api.get_runtime(ada, course_key=KEY)
    with CaptureQueriesContext(connection) as first_block:
        problem = runtime.get_block(usage(KEY, *Q1))
    assert date_queries(first_block) == 1  # the next request: the personal dates only
    with django_assert_num_queries(0):
        assert problem.due == at("2026-02-15T12:00:00")


def date_queries(captured) -> int:
    """The queries of edx-when's tables and of the learners' schedules among ``captured``."""
    return sum("edx_when_" in query["sql"] or "learnerschedule" in query["sql"] for query in captured)


def test_a_self_paced_learners_dates_cost_one_query_more_for_the_schedule(
    self_paced, make_user, django_assert_num_queries
):
    ada = make_user("ada")
    dates.set_learner_schedule(ada.id, SELF_PACED_KEY, at("2026-03-02T00:00:00"))
    api.get_runtime(ada, course_key=SELF_PACED_KEY).learner_dates()  # the run's dates, cached now
    runtime = api.get_runtime(ada, course_key=SELF_PACED_KEY)
    with CaptureQueriesContext(connection) as first_block:
        problem = runtime.get_block(usage(SELF_PACED_KEY, *Q1))
    assert date_queries(first_block) == 2  # the schedule and the personal dates
    with django_assert_num_queries(0):
        assert problem.due == at("2026-03-02T00:00:00") + EXPECTED_DURATION / 2


def test_inside_edx_platform_edx_when_answers_for_the_learner(course, make_user, monkeypatch):
    ada = make_user("ada")
    dates.set_personal_date(KEY, usage(KEY, *HW1), "due", ada, at("2026-02-15T12:00:00"))
    monkeypatch.setattr(course_dates, "edx_when_resolves_dates", lambda: True)

    answer = dates.learner_dates(KEY, ada, published_version="v1")

    assert answer == edx_when.get_dates_for_course(KEY, user=ada, published_version="v1")
    assert answer[(key(*HW1), "due")] == at("2026-02-15T12:00:00")
    assert _due_for(ada, Q1) == at("2026-02-15T12:00:00")
