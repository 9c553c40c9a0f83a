"""
Import keeps everything an export carries: every course setting, about/info/tabs, drafts, unknown
blocks as written, warnings — and damaged blocks as error placeholders, reported with file and line,
or (strict) refused with nothing written.
"""

from __future__ import annotations

import shutil
import tarfile
from html import escape as html_escape
from pathlib import Path

import pytest

from lc_runtime import api
from lc_runtime.content.courses.api import load_course_tree, read_course_files
from lc_runtime.olx.damaged import damage_of
from lc_runtime.olx.policy import POLICY_EXTRAS_KEY
from tests.conftest import ROOT, usage
from tests.olx_snapshots import row_counts, tree_snapshot

FIDELITY_COURSE = ROOT / "tests" / "fixtures" / "fidelity-course"
FIDELITY_KEY = "course-v1:LcX+Fidelity+2026"
COPY_KEY = "course-v1:LcX+Fidelity+Copy"
NOTICE = "This block cannot be shown here."

pytestmark = pytest.mark.django_db


@pytest.fixture
def fidelity_course():
    return api.import_olx(FIDELITY_COURSE)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(FIDELITY_COURSE, target)
    return target


def _record(course_key: str, block_type: str, block_id: str, mode: str = "published"):
    return load_course_tree(course_key, mode=mode).blocks[(block_type, block_id)]


# ---- the course root and its policy


def test_every_course_setting_is_kept_with_its_json_type(fidelity_course):
    root = _record(FIDELITY_KEY, "course", "course")
    assert root.fields["display_name"] == "Fidelity Course"  # policy.json wins over the attribute
    assert (root.fields["start"], root.fields["end"]) == ("2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z")
    assert root.fields["enrollment_start"] == "2025-12-01T00:00:00Z"
    assert root.fields["advanced_modules"] == ["done", "hologram", "mystery"]
    assert [tab["type"] for tab in root.fields["tabs"]] == ["courseware", "course_info", "static_tab"]
    assert root.fields["user_partitions"][0]["groups"] == [{"id": 1, "name": "Group 1", "version": 1}]
    assert root.fields["self_paced"] is True and root.fields["days_early_for_beta"] is None
    assert root.fields["grading_policy"]["GRADE_CUTOFFS"] == {"Pass": 0.6}
    assert root.fields["wiki_slug"] == "LcX.Fidelity.2026"
    assert (root.fields["org"], root.fields["course"]) == ("LcX", "Fidelity")
    # Settings no field declares: attributes as text, policy entries as JSON ("true" is not true).
    assert root.extra_attributes["catalog_visibility"] == "both"
    assert root.extra_attributes["custom_flag"] == "kept as written"
    assert root.extra_attributes[POLICY_EXTRAS_KEY] == {
        "discussion_topics": {"General": {"id": "course"}},
        "allow_anonymous": False,
        "minimum_grade_credit": 0.8,
        "cert_name_short": "true",
    }
    chapter = _record(FIDELITY_KEY, "chapter", "basics")
    assert chapter.fields["start"] == "2026-02-01T00:00:00Z"
    assert chapter.extra_attributes[POLICY_EXTRAS_KEY] == {"lc_policy_only": [1, 2]}


def test_the_course_block_reads_its_policy(fidelity_course):
    runtime = api.get_runtime(None, course_key=FIDELITY_KEY)
    course = runtime.get_block(runtime.root_usage_key)
    assert course.advanced_modules == ["done", "hologram", "mystery"]
    assert course.tabs[2] == {"type": "static_tab", "name": "Syllabus", "url_slug": "syllabus"}
    assert course.user_partitions[0]["name"] == "Content Groups"
    assert course.grading_policy["GRADER"][0]["short_label"] == "HW"
    problem = runtime.get_block(usage(FIDELITY_KEY, "problem", "q1"))
    assert problem.max_attempts == 3  # a leaf's policy entry


# ---- about/, info/, tabs/


def test_about_info_and_tabs_are_kept_byte_for_byte(fidelity_course):
    package_id = load_course_tree(FIDELITY_KEY, mode="published").learning_package_id
    expected = {
        str(path.relative_to(FIDELITY_COURSE)): path.read_bytes()
        for folder in ("about", "info", "tabs")
        for path in (FIDELITY_COURSE / folder).rglob("*")
        if path.is_file()
    }
    assert fidelity_course.course_files == len(expected) == 9
    assert read_course_files(package_id, mode="published") == expected
    assert read_course_files(package_id, mode="draft") == expected
    assert b"Caf\xe9" in expected["about/legacy.html"]  # not UTF-8: kept as a file, not as text


def test_course_files_changed_or_removed_by_a_new_import_follow_it(tmp_path, fidelity_course):
    source = _copy(tmp_path)
    (source / "about" / "effort.html").write_text("3:00")
    (source / "info" / "updates.items.json").unlink()
    (source / "tabs" / "syllabus.html").unlink()
    api.import_olx(source)
    files = read_course_files(load_course_tree(FIDELITY_KEY, mode="published").learning_package_id)
    assert files["about/effort.html"] == b"3:00"
    assert "info/updates.items.json" not in files and "info/updates.html" in files
    assert not any(path.startswith("tabs/") for path in files)


# ---- drafts/


def test_drafts_become_draft_versions_after_the_publish(fidelity_course, make_user):
    assert fidelity_course.draft_units == ["vertical/reading", "vertical/new-unit"]  # by position in the parent
    published = load_course_tree(FIDELITY_KEY, mode="published")
    draft = load_course_tree(FIDELITY_KEY, mode="draft")
    assert published.blocks[("sequential", "lesson")].children == [("vertical", "reading"), ("vertical", "quiz")]
    assert draft.blocks[("sequential", "lesson")].children == [
        ("vertical", "reading"), ("vertical", "new-unit"), ("vertical", "quiz"),
    ]
    assert published.blocks[("vertical", "reading")].title == "Reading"
    assert draft.blocks[("vertical", "reading")].title == "Reading (revised)"
    assert ("vertical", "new-unit") not in published.blocks

    learner = api.get_runtime(make_user("ada"), course_key=FIDELITY_KEY)
    html = learner.render(learner.get_block(usage(FIDELITY_KEY, "vertical", "reading")), "student_view").content
    assert "keeps <em>everything</em>" in html and "A revised welcome" not in html
    author = api.get_runtime(make_user("sam", is_staff=True), course_key=FIDELITY_KEY, mode="draft")
    html = author.render(author.get_block(usage(FIDELITY_KEY, "vertical", "reading")), "student_view").content
    assert "A revised welcome, not published yet." in html
    html = author.render(author.get_block(usage(FIDELITY_KEY, "vertical", "new-unit")), "student_view").content
    assert "Only authors see this until it is published." in html


def test_publishing_after_the_import_publishes_the_drafts(fidelity_course):
    api.publish(FIDELITY_KEY)
    published = load_course_tree(FIDELITY_KEY, mode="published")
    assert ("vertical", "new-unit") in published.blocks
    assert published.blocks[("vertical", "reading")].title == "Reading (revised)"


def test_importing_without_publishing_leaves_everything_a_draft(db):
    result = api.import_olx(FIDELITY_COURSE, publish=False)
    assert result.draft_units == ["vertical/reading", "vertical/new-unit"]
    with pytest.raises(api.CourseNotPublished):
        load_course_tree(FIDELITY_KEY, mode="published")
    assert load_course_tree(FIDELITY_KEY, mode="draft").blocks[("vertical", "reading")].title == "Reading (revised)"


def test_a_draft_unit_whose_parent_is_missing_is_reported(tmp_path):
    source = _copy(tmp_path)
    unit = source / "drafts" / "vertical" / "new-unit.xml"
    unit.write_text(unit.read_text().replace("block@lesson", "block@no-such-lesson"))
    result = api.import_olx(source)
    [problem] = result.problems
    assert (problem.file, problem.line, problem.block) == ("drafts/vertical/new-unit.xml", 1, "vertical/new-unit")
    assert "no sequential 'no-such-lesson'" in problem.message
    assert result.draft_units == ["vertical/reading"]


# ---- unknown blocks and warnings


def test_unknown_blocks_are_stored_as_written_and_render_a_notice(fidelity_course, make_user):
    hologram = _record(FIDELITY_KEY, "hologram", "future-block")
    assert hologram.olx == (
        '<hologram display_name="A block no package provides" depth="3"><layer name="a">Some &amp; text</layer>'
        '<!-- kept --><layer name="b"/></hologram>'
    )
    mystery = _record(FIDELITY_KEY, "mystery", "m1")  # written as a pointer: its file, as it was
    assert mystery.olx == (FIDELITY_COURSE / "mystery" / "m1.xml").read_text().strip()
    runtime = api.get_runtime(make_user("ada"), course_key=FIDELITY_KEY)
    html = runtime.render(runtime.get_block(usage(FIDELITY_KEY, "vertical", "reading")), "student_view").content
    assert "No XBlock is installed for the block type <code>mystery</code>" in html


def test_warnings_are_collected_in_the_result_not_printed(capsys, caplog):
    result = api.import_olx(FIDELITY_COURSE)
    warnings = {(w.file, w.line, w.block): w.message for w in result.warnings}
    assert "catalog_visibility, custom_flag" in warnings[("course/2026.xml", 1, "course/course")]
    assert "lc_unknown_setting" in warnings[("course/2026.xml", 4, "sequential/inline-seq")]
    unknown = sorted(w.message for w in result.warnings if w.block is None)
    assert unknown == [
        "no installed XBlock reads <hologram> (1 block(s)): kept as written, shown as a notice, exported unchanged",
        "no installed XBlock reads <mystery> (1 block(s) in drafts/): kept as written, shown as a notice, "
        "exported unchanged",
        "no installed XBlock reads <mystery> (1 block(s)): kept as written, shown as a notice, exported unchanged",
    ]
    assert result.problems == []
    assert result.as_dict()["warnings"][0]["message"]
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ---- damaged blocks: kept as placeholders by default, refused under strict


def _malformed_problem(source: Path) -> None:
    (source / "problem" / "q1.xml").write_text('<problem display_name="Broken">\n  <p>unclosed\n</problem>\n')


def _missing_pointer_file(source: Path) -> None:
    (source / "video" / "intro.xml").unlink()


def _missing_html_body(source: Path) -> None:
    (source / "html" / "welcome.html").unlink()


def _duplicate_url_name(source: Path) -> None:
    unit = source / "vertical" / "quiz.xml"
    unit.write_text(unit.read_text().replace("</vertical>", '  <problem url_name="q1"/>\n</vertical>'))


def _bad_key(source: Path) -> None:
    unit = source / "vertical" / "quiz.xml"
    unit.write_text(unit.read_text().replace(
        "</vertical>", '  <html url_name="not a key!" display_name="Bad key">Text.</html>\n</vertical>'
    ))


def _path_leaving_the_export(source: Path) -> None:
    unit = source / "vertical" / "quiz.xml"
    unit.write_text(unit.read_text().replace("</vertical>", '  <problem url_name="..:..:secret"/>\n</vertical>'))


def _malformed_unit(source: Path) -> None:
    (source / "vertical" / "quiz.xml").write_text('<vertical display_name="Quiz">\n  <problem url_name="q1">\n')


def _missing_chapter(source: Path) -> None:
    (source / "chapter" / "basics.xml").unlink()
    shutil.rmtree(source / "drafts")  # its drafts would have no subsection to go to: another problem


# damage, (file, line) reported, placeholder (type, id), the unit (or parent) that still renders around it
DAMAGE = {
    "malformed XML": (_malformed_problem, ("problem/q1.xml", 3), ("problem", "q1"), ("vertical", "quiz")),
    "missing pointer file": (_missing_pointer_file, ("vertical/reading.xml", 3), ("video", "intro"),
                             ("vertical", "reading")),
    "missing html body": (_missing_html_body, ("html/welcome.xml", 1), ("html", "welcome"), ("vertical", "reading")),
    "duplicate url_name": (_duplicate_url_name, ("vertical/quiz.xml", 3), ("problem", "q1.duplicate2"),
                           ("vertical", "quiz")),
    "bad key": (_bad_key, ("vertical/quiz.xml", 3), None, ("vertical", "quiz")),
    "path leaving the export": (_path_leaving_the_export, ("vertical/quiz.xml", 3), ("problem", "..:..:secret"),
                                ("vertical", "quiz")),
    "malformed unit": (_malformed_unit, ("vertical/quiz.xml", 3), ("vertical", "quiz"), ("sequential", "lesson")),
    "missing chapter": (_missing_chapter, ("course/2026.xml", 2), ("chapter", "basics"), ("course", "course")),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_block_is_kept_as_a_placeholder_and_reported(damage, tmp_path, make_user):
    break_it, (file, line), placeholder, around = DAMAGE[damage]
    source = _copy(tmp_path)
    break_it(source)
    result = api.import_olx(source)
    [problem] = result.problems
    assert (problem.file, problem.line) == (file, line), str(problem)
    block_type, block_id = problem.block.split("/", 1)
    if placeholder is not None:
        assert (block_type, block_id) == placeholder
    else:
        assert block_type == "html" and block_id.startswith("damaged-")  # a valid id, derived stably
    record = _record(FIDELITY_KEY, block_type, block_id)
    kept = damage_of(record)
    assert kept is not None and kept.message == problem.message
    # The rest of the course is there, and the parent renders with a notice in the placeholder's place.
    assert ("hologram", "future-block") in load_course_tree(FIDELITY_KEY, mode="published").blocks
    runtime = api.get_runtime(make_user("ada"), course_key=FIDELITY_KEY)
    html = runtime.render(runtime.get_block(usage(FIDELITY_KEY, *around)), "student_view").content
    assert NOTICE in html
    staff = api.get_runtime(make_user("sam", is_staff=True), course_key=FIDELITY_KEY)
    html = staff.render(staff.get_block(usage(FIDELITY_KEY, block_type, block_id)), "student_view").content
    assert html_escape(problem.message) in html  # staff see why


def test_a_placeholder_keeps_the_damaged_file_byte_for_byte(tmp_path):
    source = _copy(tmp_path)
    _malformed_problem(source)
    api.import_olx(source)
    kept = damage_of(_record(FIDELITY_KEY, "problem", "q1"))
    assert kept.own_file == "problem/q1.xml"
    assert kept.own_file_data == (source / "problem" / "q1.xml").read_bytes()
    assert kept.element == '<problem url_name="q1"/>'


def test_a_duplicate_keeps_the_first_block(tmp_path):
    source = _copy(tmp_path)
    _duplicate_url_name(source)
    api.import_olx(source)
    tree = load_course_tree(FIDELITY_KEY, mode="published")
    assert tree.blocks[("vertical", "quiz")].children == [("problem", "q1"), ("problem", "q1.duplicate2")]
    assert damage_of(tree.blocks[("problem", "q1")]) is None


def test_reimporting_a_damaged_export_is_stable(tmp_path):
    source = _copy(tmp_path)
    shutil.rmtree(source / "drafts")
    _duplicate_url_name(source)
    _missing_pointer_file(source)
    first = api.import_olx(source)
    again = api.import_olx(source)
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems]
    assert again.created == 0 and again.updated == 0


def test_reimporting_an_export_with_drafts_gives_the_same_course(fidelity_course):
    published, draft = tree_snapshot(FIDELITY_KEY, "published"), tree_snapshot(FIDELITY_KEY, "draft")
    again = api.import_olx(FIDELITY_COURSE)
    assert again.created == 0
    # The export is the published course, then the drafts: blocks that drafts change get versions again.
    assert set(again.updated_blocks) <= {"html/welcome", "vertical/reading", "sequential/lesson"}
    assert tree_snapshot(FIDELITY_KEY, "published") == published
    assert tree_snapshot(FIDELITY_KEY, "draft") == draft


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_strict_import_of_damage_is_refused_and_writes_nothing(damage, tmp_path):
    break_it, (file, line), _placeholder, _around = DAMAGE[damage]
    source = _copy(tmp_path)
    break_it(source)
    before = row_counts()
    with pytest.raises(api.StrictImportError) as refused:
        api.import_olx(source, strict=True)
    assert f"{file}:{line}" in str(refused.value)
    assert row_counts() == before
    with pytest.raises(api.CourseNotFound):
        load_course_tree(FIDELITY_KEY, mode="draft")


def test_a_strict_import_refuses_a_damaged_draft_too(tmp_path):
    source = _copy(tmp_path)
    (source / "drafts" / "html" / "draft-note.html").unlink()
    before = row_counts()
    with pytest.raises(api.StrictImportError, match="drafts/html/draft-note.xml"):
        api.import_olx(source, strict=True)
    assert row_counts() == before


def test_a_damaged_draft_is_a_placeholder_in_the_draft_only(tmp_path):
    source = _copy(tmp_path)
    (source / "drafts" / "html" / "draft-note.html").unlink()
    result = api.import_olx(source)
    [problem] = result.problems
    assert (problem.file, problem.line, problem.block) == ("drafts/html/draft-note.xml", 1, "html/draft-note")
    draft = load_course_tree(FIDELITY_KEY, mode="draft")
    assert damage_of(draft.blocks[("html", "draft-note")]) is not None
    assert ("html", "draft-note") not in load_course_tree(FIDELITY_KEY, mode="published").blocks


# ---- the workflow: the export opened once, strict applied once, loading checked through a callable


def test_an_archive_is_checked_and_unpacked_once_for_the_course_and_its_drafts(tmp_path, monkeypatch):
    from lc_runtime.olx import sources

    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(FIDELITY_COURSE, arcname="course")
    checked = []
    check_tar = sources._check_tar
    monkeypatch.setattr(sources, "_check_tar", lambda path: (checked.append(path), check_tar(path))[-1])
    result = api.import_olx(archive)
    assert result.draft_units == ["vertical/reading", "vertical/new-unit"]
    assert checked == [archive]


def test_strict_refuses_once_counting_the_problems_of_the_course_and_its_drafts(tmp_path):
    source = _copy(tmp_path)
    _malformed_problem(source)
    (source / "drafts" / "html" / "draft-note.html").unlink()
    assert [problem.file for problem in api.import_olx(source, course_key=COPY_KEY).problems] == [
        "problem/q1.xml", "drafts/html/draft-note.xml",
    ]
    before = row_counts()
    with pytest.raises(api.StrictImportError, match=r"^2 problem\(s\); first: problem/q1.xml:3 \[problem/q1\]"):
        api.import_olx(source, strict=True)
    assert row_counts() == before


def test_the_olx_workflow_checks_that_blocks_load_through_the_callable_it_is_given():
    from lc_runtime.olx.importer import import_course
    from lc_runtime.selectors.block import selector_block_classes

    asked = []

    def check_loadable(course_key: str) -> dict[tuple[str, str], str]:
        asked.append(str(course_key))  # a CourseKey
        return {("problem", "q1"): "ValueError: not today"}

    before = row_counts()
    with pytest.raises(api.StrictImportError, match=r"^1 problem\(s\); first: .*not today"):
        import_course(FIDELITY_COURSE, strict=True, selectors=selector_block_classes(), check_loadable=check_loadable)
    assert row_counts() == before
    asked.clear()
    result = import_course(FIDELITY_COURSE, selectors=selector_block_classes(), check_loadable=check_loadable)
    assert asked == [FIDELITY_KEY, FIDELITY_KEY]  # once the course is written, and again after its drafts
    [problem] = result.problems  # reported once
    assert (problem.file, problem.line, problem.block) == ("problem/q1.xml", 1, "problem/q1")
    assert problem.message == "<problem> could not be loaded by its XBlock class: ValueError: not today"
