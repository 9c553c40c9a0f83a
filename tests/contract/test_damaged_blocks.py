"""Damaged content: reported at import with file, line and block; isolated at render time."""

from __future__ import annotations

import shutil

import pytest

from lc_runtime import api
from lc_runtime.models import LearnerState
from tests.conftest import ROOT, usage

BROKEN_COURSE = ROOT / "tests" / "fixtures" / "broken-course"
BROKEN_KEY = "course-v1:LcX+Broken+2026"
UNIT = usage(BROKEN_KEY, "vertical", "damaged-unit")


@pytest.fixture
def broken_course(db):
    return api.import_olx(BROKEN_COURSE)


def test_damaged_attributes_are_reported_with_file_line_and_block(broken_course):
    reported = {(p.block, p.file, p.line): p.message for p in broken_course.problems}
    assert set(reported) == {
        ("sequential/bad-dates", "course/2026.xml", 3),
        ("problem/bad-attempts", "course/2026.xml", 6),
        ("lc_test_fragile/refuses-to-parse", "course/2026.xml", 11),
    }
    assert "could not be loaded by its XBlock class: ValueError: this block refuses to parse" in (
        reported[("lc_test_fragile/refuses-to-parse", "course/2026.xml", 11)]
    )
    assert "attribute due: 'not a date' is not a valid Date" in reported[("sequential/bad-dates", "course/2026.xml", 3)]
    assert "attribute max_attempts: 'lots'" in reported[("problem/bad-attempts", "course/2026.xml", 6)]
    # Everything is still imported, as written.
    assert broken_course.blocks_by_type == {
        "course": 1, "chapter": 1, "sequential": 1, "vertical": 1, "html": 2, "problem": 1, "lc_test_fragile": 3,
    }


def test_a_strict_import_refuses_a_block_its_class_cannot_load(tmp_path, db):
    source = tmp_path / "course"
    shutil.copytree(BROKEN_COURSE, source)
    unit = source / "course" / "2026.xml"
    text = unit.read_text().replace(' due="not a date"', "").replace(' max_attempts="lots"', "")
    unit.write_text(text)
    with pytest.raises(api.StrictImportError, match="refuses-to-parse.*this block refuses to parse"):
        api.import_olx(source, strict=True)
    with pytest.raises(api.CourseNotFound):
        api.get_runtime(None, course_key=BROKEN_KEY)


def test_policy_values_are_checked_and_reported_against_the_policy_file(tmp_path, db):
    source = tmp_path / "course"
    shutil.copytree(BROKEN_COURSE, source)
    (source / "policies" / "2026").mkdir(parents=True)
    (source / "policies" / "2026" / "policy.json").write_text(
        '{"chapter/damage": {"due": "garbage"}, "html/fine-after": {"max_attempts": "many"}}'
    )
    result = api.import_olx(source)
    from_policy = {(p.block, p.file) for p in result.problems if p.message.startswith("policy ")}
    assert from_policy == {
        ("chapter/damage", "policies/2026/policy.json"),
        ("html/fine-after", "policies/2026/policy.json"),
    }
    runtime = api.get_runtime(None, course_key=BROKEN_KEY)
    assert runtime.get_block(usage(BROKEN_KEY, "chapter", "damage")).due is None


def test_a_strict_import_of_damaged_content_writes_nothing(db):
    with pytest.raises(api.StrictImportError, match="course/2026.xml"):
        api.import_olx(BROKEN_COURSE, strict=True)
    assert not LearnerState.objects.exists()
    with pytest.raises(api.CourseNotFound):
        api.get_runtime(None, course_key=BROKEN_KEY)


def test_a_unit_with_damaged_blocks_still_renders_the_rest(broken_course, make_user):
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=BROKEN_KEY)
    html = runtime.render(runtime.get_block(UNIT), "student_view").content
    assert "Before the damage." in html and "After the damage." in html
    assert "fragile, visit 1" in html  # the healthy fragile block
    assert html.count("This block cannot be shown here.") == 3  # bad attempts, refuses to parse, fails to render
    assert "lc-error-detail" not in html  # learners are not shown internals
    # The failed view's learner-state write was dropped with it; the healthy block's was kept.
    stored = {row.block_key.rsplit("@", 1)[-1]: row.state for row in LearnerState.objects.filter(user_id=ada.id)}
    assert stored.get("renders-fine") == {"visits": 1}
    assert "fails-to-render" not in stored


def test_staff_see_why_a_block_is_broken(broken_course, make_user):
    sam = make_user("sam", is_staff=True)
    runtime = api.get_runtime(sam, course_key=BROKEN_KEY)
    html = runtime.render(runtime.get_block(UNIT), "student_view").content
    assert "ValueError: this block refuses to parse" in html
    assert "RuntimeError: the view failed after writing" in html
    broken = runtime.get_block(usage(BROKEN_KEY, "lc_test_fragile", "refuses-to-parse"))
    assert 'explode="yes"' in broken.olx  # kept as written


def test_an_invalid_inherited_date_falls_back_to_the_default(broken_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=BROKEN_KEY)
    sequential = runtime.get_block(usage(BROKEN_KEY, "sequential", "bad-dates"))
    assert sequential.due is None


def test_a_policy_that_is_not_an_object_is_refused_clearly(tmp_path, db):
    source = tmp_path / "course"
    shutil.copytree(BROKEN_COURSE, source)
    (source / "policies" / "2026").mkdir(parents=True)
    (source / "policies" / "2026" / "policy.json").write_text("[1, 2, 3]")
    with pytest.raises(api.OlxError, match="policies/2026/policy.json.*JSON object"):
        api.import_olx(source)


def test_a_failed_childs_events_are_dropped_with_its_state(
    broken_course, make_user, django_capture_on_commit_callbacks
):
    from lc_runtime.runtime.events import xblock_event

    seen = []

    def receiver(sender, event, **kwargs):
        seen.append((event.event_type, event.usage_key.rsplit("@", 1)[-1]))

    xblock_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            runtime = api.get_runtime(make_user("ada"), course_key=BROKEN_KEY)
            runtime.render(runtime.get_block(UNIT), "student_view")
    finally:
        xblock_event.disconnect(receiver)
    assert seen == [("lc_test.fragile_viewed", "renders-fine")]
