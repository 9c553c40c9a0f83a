"""The ``lc-runtime`` command, run in-process through ``lc_runtime.cli.main`` on the test database."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from django.contrib.auth import get_user_model

from lc_runtime import cli
from lc_runtime.models import CourseRun, LearnerState
from tests.conftest import DEMO_COURSE, DEMO_KEY, usage

PROBLEM = usage(DEMO_KEY, "problem", "orbit-question")
SOMETHING_NEW = usage(DEMO_KEY, "vertical", "something-new")
ANSWER = "input_orbit-question_2_1=choice_1"  # 687 days: the correct choice


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``lc-runtime ARGV``; return its exit status, stdout and stderr."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def imported(db, capsys):
    status, _, _ = run(capsys, "import", str(DEMO_COURSE))
    assert status == 0


def test_setup_under_tests_does_not_migrate(db, django_assert_num_queries):
    assert os.environ["DJANGO_SETTINGS_MODULE"] == "tests.settings"
    with django_assert_num_queries(0):  # migrate would read django_migrations at least
        cli.setup_standalone()


def test_a_migrated_database_has_no_migrations_pending_and_a_missing_one_shows(db, django_assert_num_queries):
    from django.db.migrations.recorder import MigrationRecorder

    # Without loading the migrations: the recorder's table check and its rows.
    with django_assert_num_queries(2):
        assert cli._migrations_pending() is False
    MigrationRecorder.Migration.objects.filter(app="lc_runtime").order_by("-name").first().delete()
    assert cli._migrations_pending() is True


def test_import_prints_a_summary(db, capsys):
    status, out, err = run(capsys, "import", str(DEMO_COURSE))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"Imported {DEMO_KEY}: 14 blocks (")
    assert "1 problem" in lines[0] and "3 vertical" in lines[0] and "1 hologram" in lines[0]
    assert "  versions: 14 created, 0 updated, 0 unchanged" in lines
    assert "  published 14 entities" in lines
    assert not any(line.startswith("  problem:") for line in lines)
    assert err == ""
    assert CourseRun.objects.filter(course_key=DEMO_KEY).exists()


def test_import_as_json(db, capsys):
    status, out, err = run(capsys, "import", str(DEMO_COURSE), "--json")
    assert status == 0
    result = json.loads(out)
    assert result["course_key"] == DEMO_KEY
    assert result["block_count"] == sum(result["blocks_by_type"].values()) == 14
    assert result["blocks_by_type"]["problem"] == 1
    assert result["problems"] == []
    assert result["published"]["entities_published"] == 14
    assert err == ""


def test_a_broken_export_is_refused_in_one_line_and_writes_nothing(db, capsys, tmp_path):
    source = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, source)
    (source / "course.xml").write_text('<course url_name="2026" org="LcX" course="Demo">')
    status, out, err = run(capsys, "import", str(source))
    assert status == 2
    assert out == ""
    assert err.startswith("lc-runtime: import refused, nothing was written: course.xml")
    assert err.count("\n") == 1
    assert not CourseRun.objects.exists()


def test_publish_after_import_has_nothing_left(imported, capsys):
    status, out, err = run(capsys, "publish", DEMO_KEY)
    assert (status, out, err) == (0, f"Published 0 entities of {DEMO_KEY}\n", "")


def test_publish_a_draft_import(db, capsys):
    assert run(capsys, "import", str(DEMO_COURSE), "--no-publish")[0] == 0
    status, out, _ = run(capsys, "publish", DEMO_KEY)
    assert (status, out) == (0, f"Published 14 entities of {DEMO_KEY}\n")


def test_tree_prints_the_outline_with_types_titles_and_keys(imported, capsys):
    status, out, err = run(capsys, "tree", DEMO_KEY, "--user", "ada")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 14
    assert lines[0].split() == ["course", "lc-runtime", "Demo", "Course", f"[{usage(DEMO_KEY, 'course', 'course')}]"]
    assert f"        problem     Martian year  [{PROBLEM}]" in lines
    assert f"      vertical    Something new  [{SOMETHING_NEW}]" in lines
    hologram = usage(DEMO_KEY, "hologram", "future-block")
    assert f"        hologram    A block from the future  [{hologram}]" in lines


def test_render_html_for_two_learners(imported, capsys):
    for learner in ("ada", "grace"):
        status, out, err = run(capsys, "render", SOMETHING_NEW, "--user", learner)
        assert status == 0 and err == ""
        assert out.startswith(f'<div class="xblock-v1 xblock-v1-student_view" data-usage="{SOMETHING_NEW}"')
        assert "<p>The next block is of a type that no installed package provides.</p>" in out
        assert 'class="lc-placeholder" data-block-type="hologram"' in out


def test_render_pretty_indents_the_html_and_keeps_its_text(imported, capsys):
    _, html, _ = run(capsys, "render", SOMETHING_NEW, "--user", "grace")
    status, pretty, _ = run(capsys, "render", SOMETHING_NEW, "--user", "grace", "--pretty")
    assert status == 0
    lines = pretty.splitlines()
    assert lines[0] == f'<div class="xblock-v1 xblock-v1-student_view" data-usage="{SOMETHING_NEW}"' + (
        ' data-block-type="vertical">'
    )
    assert '  <div class="lc-vertical">' in lines
    assert "      <p>The next block is of a type that no installed package provides.</p>" in lines
    assert lines[-1] == "</div>"
    assert cli._as_text(pretty) == cli._as_text(html)
    assert cli._as_text(pretty).splitlines() == [
        "The next block is of a type that no installed package provides.",
        "This block cannot be shown here. No XBlock is installed for the block type hologram"
        " (\u201cA block from the future\u201d). Its content is kept unchanged.",
    ]


def test_render_as_text(imported, capsys):
    status, out, _ = run(capsys, "render", PROBLEM, "--user", "grace", "--text")
    assert status == 0
    assert "<" not in out
    lines = out.splitlines()
    assert "Martian year" in lines
    assert "About how many Earth days does Mars take to go once around the Sun?" in lines
    assert "You have used 0 of 3 attempts" in lines


def test_an_answer_through_the_handler_shows_in_that_learners_render_only(imported, capsys):
    status, out, err = run(
        capsys, "handle", PROBLEM, "xmodule_handler", "problem_check", "--user", "ada", "--post", ANSWER
    )
    assert status == 0 and err == ""
    response = json.loads(out)
    assert response["success"] == "correct"
    assert (response["current_score"], response["total_possible"]) == (1, 1)
    assert LearnerState.objects.filter(block_key=PROBLEM, user_id=get_user_model().objects.get(username="ada").id)

    _, ada, _ = run(capsys, "render", PROBLEM, "--user", "ada", "--text")
    assert "You have used 1 of 3 attempts" in ada.splitlines()
    assert "correct" in ada.splitlines()
    _, grace, _ = run(capsys, "render", PROBLEM, "--user", "grace", "--text")
    assert "You have used 0 of 3 attempts" in grace.splitlines()
    assert "correct" not in grace.splitlines()
    assert "unanswered" in grace.splitlines()
    _, grace_html, _ = run(capsys, "render", PROBLEM, "--user", "grace")
    assert "You have used 0 of 3 attempts" in grace_html


def test_draft_makes_the_user_staff_for_the_command_only(imported, capsys):
    status, out, err = run(capsys, "tree", DEMO_KEY, "--user", "ada", "--draft")
    assert status == 0 and err == ""
    assert f"[{PROBLEM}]" in out
    status, out, _ = run(capsys, "render", SOMETHING_NEW, "--user", "ada", "--draft", "--text")
    assert status == 0 and "A block from the future" in out
    assert get_user_model().objects.get(username="ada").is_staff is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["render", "not-a-key", "--user", "ada"], "lc-runtime: Not a usage key: 'not-a-key'"),
        (["tree", "course-v1:LcX+Nowhere+1", "--user", "ada"], "lc-runtime: No course run course-v1:LcX+Nowhere+1"),
        (["publish", "course-v1:LcX+Nowhere+1"], "lc-runtime: No course run course-v1:LcX+Nowhere+1"),
        (["tree", "nonsense"], "lc-runtime: Not a course key: 'nonsense'"),
        (["tree", "course-v1:LcX+Draft+1", "--user", "ada"], "lc-runtime: "),
        (["render", usage("course-v1:LcX+Nowhere+1", "html", "x"), "--user", "ada"], "lc-runtime: No course run"),
        (["render", usage(DEMO_KEY, "html", "nothing"), "--user", "ada"], "lc-runtime: no such block: block-v1:"),
    ],
)
def test_bad_keys_and_unknown_courses_exit_2_with_one_line(imported, capsys, argv, message):
    assert run(capsys, "import", str(DEMO_COURSE), "--course-key", "course-v1:LcX+Draft+1", "--no-publish")[0] == 0
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.startswith(message)
    assert err.count("\n") == 1
