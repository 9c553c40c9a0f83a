"""
Query counts are part of the API: a learner's request costs the same whatever the unit's size.

Each test builds a course whose one Unit holds 5 or 50 components (``html`` and ``lc_test_counter``
alternately), so a count that grows with the unit shows up as a difference between the two.

The tests run inside the test's transaction, so the runtime's unit of work is a savepoint there:
``SAVEPOINT`` and ``RELEASE SAVEPOINT`` are two of the queries counted below. In a real request
the unit is the outermost transaction (or joins the middleware's), and those two are not issued.
The numbers are the same on SQLite and MySQL/MariaDB.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from webob import Request

from lc_runtime import api
from tests.conftest import forget_cached_courses, usage

COURSE_KEY = "course-v1:LcX+Count+2026"
UNIT = usage(COURSE_KEY, "vertical", "unit")

# What a learner may reach is decided once per runtime, at the first block it builds: 1 query for the
# user's course roles (lc_runtime.content.roles), 1 for their personal dates (edx-when), and the run's
# content dates, 1 more when they are not cached for this publish yet. The course outline the processors
# read is cached with the tree: no query.
ACCESS_DECISION = 1 + 1
COLD_RUN_DATES = 1
# A cold tree cache: 1 query for the run, its root and latest publish; 4 for the outline levels
# (sections, subsections, units, components); 1 for container settings; 1 for the components' OLX;
# 1 for the pools of selectors among them; 1 for the children of leaf blocks. Then the render:
# SAVEPOINT, the learner state of the unit and all its descendants (1 query), RELEASE.
COLD_UNIT_RENDER = 9 + ACCESS_DECISION + COLD_RUN_DATES + 3
# A warm tree cache: 1 query (the run and its latest publish: is the cached tree still current?),
# then the render as above.
WARM_UNIT_RENDER = 1 + ACCESS_DECISION + 3
# A handler in a new request (warm tree): 1 for the tree, the access decision, SAVEPOINT, 1 to lock the learner's
# user_state row of the block (SELECT ... FOR UPDATE: one learner's requests to one block queue
# there, ADR 0016), 1 for the rest of the block's learner state, then the flush when the unit ends —
# an upsert that creates missing rows and locks all, 1 SELECT, 1 UPDATE — and RELEASE.
HANDLER_CALL = 1 + ACCESS_DECISION + 1 + 1 + 1 + 3 + 1
# A learner's first call of a block's handlers: the row to lock does not exist yet, so the lock
# creates it (an upsert) and reads it again, locked: 2 more.
FIRST_HANDLER_CALL = HANDLER_CALL + 2


def component(index: int) -> str:
    if index % 2:
        return f'<html url_name="text-{index}" display_name="Text {index}"><![CDATA[<p>Text {index}</p>]]></html>'
    return f'<lc_test_counter url_name="counter-{index}" display_name="Counter {index}"/>'


def counter_keys(size: int) -> list[str]:
    return [usage(COURSE_KEY, "lc_test_counter", f"counter-{i}") for i in range(0, size, 2)]


def write_course(folder: Path, size: int, component=component) -> Path:
    """A course of one Section, one Subsection and one Unit of ``size`` components, as OLX."""
    (folder / "course").mkdir(parents=True)
    (folder / "course.xml").write_text('<course url_name="2026" org="LcX" course="Count"/>')
    (folder / "course" / "2026.xml").write_text(
        '<course start="2026-01-01T00:00:00Z" display_name="Query counts">'
        '<chapter url_name="section" display_name="Section">'
        '<sequential url_name="subsection" display_name="Subsection">'
        f'<vertical url_name="unit" display_name="Unit">{"".join(component(i) for i in range(size))}</vertical>'
        "</sequential></chapter></course>"
    )
    return folder


@pytest.fixture(params=[5, 50], ids=lambda size: f"{size} components")
def course_size(request, db, tmp_path) -> int:
    result = api.import_olx(write_course(tmp_path / "course", request.param), strict=True)
    assert result.problems == []
    assert result.blocks_by_type["html"] + result.blocks_by_type["lc_test_counter"] == request.param
    return request.param


@pytest.fixture
def learner(make_user):
    return make_user("ada")


def click(runtime, key: str) -> dict:
    request = Request.blank("/", method="POST", body=b"{}")
    return json.loads(runtime.handle(runtime.get_block(key), "click", request).body)


def render_unit(user) -> str:
    """One learner request: a runtime, the Unit, its student_view."""
    runtime = api.get_runtime(user, course_key=COURSE_KEY)
    return runtime.render(runtime.get_block(UNIT), "student_view").content


def test_unit_render_costs_the_same_whatever_the_unit_size(course_size, learner, django_assert_num_queries):
    forget_cached_courses()
    with django_assert_num_queries(COLD_UNIT_RENDER):
        html = render_unit(learner)
    assert html.count('data-block-type="lc_test_counter"') == len(counter_keys(course_size))
    with django_assert_num_queries(WARM_UNIT_RENDER):
        render_unit(learner)

    # With learner state stored for every counter, the render still reads it in one query.
    runtime = api.get_runtime(learner, course_key=COURSE_KEY)
    for key in counter_keys(course_size):
        click(runtime, key)
    with django_assert_num_queries(WARM_UNIT_RENDER):
        html = render_unit(learner)
    assert html.count(": 1 of 1</p>") == len(counter_keys(course_size))


def test_get_block_in_a_loaded_tree_costs_no_query(course_size, learner, django_assert_num_queries):
    render_unit(learner)  # the tree and the run's dates are cached
    runtime = api.get_runtime(learner, course_key=COURSE_KEY)
    keys = [usage(COURSE_KEY, "course", "course"), UNIT, *counter_keys(course_size)]
    keys += [usage(COURSE_KEY, "html", f"text-{i}") for i in range(1, course_size, 2)]
    with django_assert_num_queries(ACCESS_DECISION):  # the first block decides what the learner may reach
        runtime.get_block(UNIT)
    with django_assert_num_queries(0):
        blocks = [runtime.get_block(key) for key in keys]
        assert [runtime.get_block(key) for key in keys] == blocks
        assert [block.display_name for block in blocks[2:4]] == ["Counter 0", "Counter 2"]
        unit = blocks[1]
        assert len(unit.get_children()) == course_size
        assert unit.get_parent().get_parent().get_parent() is blocks[0]


def test_handler_call_costs_a_fixed_number(course_size, learner, django_assert_num_queries):
    render_unit(learner)  # the tree is cached
    first, last = counter_keys(course_size)[0], counter_keys(course_size)[-1]
    calls = [(first, 1, FIRST_HANDLER_CALL), (first, 2, HANDLER_CALL), (last, 1, FIRST_HANDLER_CALL)]
    for key, expected, queries in calls:
        with django_assert_num_queries(queries):
            runtime = api.get_runtime(learner, course_key=COURSE_KEY)
            assert click(runtime, key) == {"clicks": expected, "total": expected}


def test_a_unit_of_thousands_of_learner_state_keys_costs_the_same(db, tmp_path, learner, django_assert_num_queries):
    """760 counters: 1,520 learner-state keys (user_state and user_state_summary), read and written at once."""
    size = 760

    def counter(index: int) -> str:
        return f'<lc_test_counter url_name="counter-{index}" display_name="Counter {index}"/>'

    result = api.import_olx(write_course(tmp_path / "course", size, counter), strict=True)
    assert result.blocks_by_type["lc_test_counter"] == size
    render_unit(learner)  # the tree is cached
    with django_assert_num_queries(WARM_UNIT_RENDER):
        assert render_unit(learner).count(": 0 of 0</p>") == size

    with api.unit_of_work():  # one flush of every key
        runtime = api.get_runtime(learner, course_key=COURSE_KEY)
        for index in range(size):
            click(runtime, usage(COURSE_KEY, "lc_test_counter", f"counter-{index}"))
    with django_assert_num_queries(WARM_UNIT_RENDER):
        assert render_unit(learner).count(": 1 of 1</p>") == size


def write_outline_course(folder: Path, units: int) -> Path:
    """A course of ``units`` Units (ten to a Subsection, five Subsections to a Section), some staff-only or
    restricted to a cohort, each holding one html block."""
    partitions = [{"id": 200, "name": "Cohorts", "scheme": "cohort", "version": 3, "active": True,
                   "description": "", "parameters": {}, "groups": [{"id": 1, "name": "Red", "version": 1}]}]
    body = []
    for s in range(0, units, 10):
        if s % 50 == 0:
            body.append(f'<chapter url_name="ch{s}" display_name="Section {s}">')
        body.append(f'<sequential url_name="seq{s}" display_name="Subsection {s}" graded="true" format="Homework">')
        for u in range(s, min(s + 10, units)):
            extra = ' visible_to_staff_only="true"' if u % 7 == 3 else ""
            extra += ' group_access=\'{"200": [1]}\'' if u % 7 == 5 else ""
            body.append(f'<vertical url_name="u{u}" display_name="Unit {u}"{extra}>'
                        f'<html url_name="h{u}"><![CDATA[<p>{u}</p>]]></html></vertical>')
        body.append("</sequential>")
        if s % 50 == 40 or s + 10 >= units:
            body.append("</chapter>")
    (folder / "course").mkdir(parents=True)
    (folder / "policies" / "2026").mkdir(parents=True)
    (folder / "course.xml").write_text('<course url_name="2026" org="LcX" course="Outline"/>')
    (folder / "course" / "2026.xml").write_text(
        f'<course start="2026-01-01T00:00:00Z" display_name="Outline">{"".join(body)}</course>'
    )
    policy = {"course/2026": {"user_partitions": partitions}}
    (folder / "policies" / "2026" / "policy.json").write_text(json.dumps(policy))
    return folder


def test_a_learners_outline_costs_the_same_for_10_and_500_units(db, tmp_path, learner):
    counts = {}
    for units in (10, 500):
        result = api.import_olx(write_outline_course(tmp_path / str(units), units), strict=True)
        course = str(result.course_key)
        api.get_user_outline(course, learner)  # the tree, the outline and the run's dates are cached now
        with CaptureQueriesContext(connection) as warm:
            outline = api.get_user_outline(course, learner)
        shown = sum(len(sequence.units) for sequence in outline.sequences.values())
        assert shown == units - sum(1 for u in range(units) if u % 7 in (3, 5))
        counts[units] = [q["sql"].split()[0] for q in warm.captured_queries]
    # The run (1), the learner's roles (1), personal dates (1) and partition groups (1): whatever the size.
    assert counts[10] == counts[500]
    assert len([sql for sql in counts[10] if sql not in ("SAVEPOINT", "RELEASE")]) == 4


def test_a_runtimes_outline_asks_nothing_the_runtime_has_asked(db, tmp_path, learner):
    course = str(api.import_olx(write_outline_course(tmp_path, 10), strict=True).course_key)
    now = timezone.now()
    expected = api.get_user_outline(course, learner, at=now)  # the tree, outline and run's dates are cached now
    runtime = api.get_runtime(learner, course_key=course)
    first_unit = next(iter(expected.sequences.values())).units[0].usage_key
    runtime.get_block(first_unit)  # the runtime decides what the learner may reach
    with CaptureQueriesContext(connection) as queries:
        outline = api.outline_for_runtime(runtime, at=now)
    assert outline == expected
    # The learner's roles, dates and groups were read for the runtime's own decision: only savepoints remain.
    assert [q["sql"] for q in queries.captured_queries if q["sql"].split()[0] not in ("SAVEPOINT", "RELEASE")] == []
    with pytest.raises(ValueError, match="published"):
        api.outline_for_runtime(api.get_runtime(None, course_key=course, mode="draft"))
