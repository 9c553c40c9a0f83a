"""Damaged content: reported at import with file, line and block; isolated at render time."""

from __future__ import annotations

import shutil

import pytest

from lc_runtime import api
from lc_runtime.content.models import LearnerState
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
    }
    assert "attribute due: 'not a date' is not a valid Date" in reported[("sequential/bad-dates", "course/2026.xml", 3)]
    assert "attribute max_attempts: 'lots'" in reported[("problem/bad-attempts", "course/2026.xml", 6)]
    # Everything is still imported, as written.
    assert broken_course.blocks_by_type == {
        "course": 1, "chapter": 1, "sequential": 1, "vertical": 1, "html": 2, "problem": 1, "lc_test_fragile": 3,
    }


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
