"""
OLX export: import → export → import gives the same course (tree, fields, course files, static files,
drafts), for our own fixtures and the three real courses in ../shared/olx; the destination is written
safely; what OLX cannot represent is said, not dropped silently.
"""

from __future__ import annotations

import doctest
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from xblock.exceptions import NoSuchUsage

from lc_runtime import api, cli
from lc_runtime.content.courses.api import load_course_tree, update_container
from lc_runtime.olx.damaged import damage_of
from tests.conftest import DEMO_COURSE, DEMO_KEY, ROOT, shared_olx, usage
from tests.contract.test_import_fidelity import DAMAGE, FIDELITY_COURSE, FIDELITY_KEY
from tests.olx_snapshots import (
    course_files_snapshot,
    files_of,
    row_counts,
    static_files_snapshot,
    tree_snapshot,
)

SELECTOR_COURSE = ROOT / "tests" / "fixtures" / "selector-course"
COPY_KEY = "course-v1:LcX+Copy+2026"

pytestmark = pytest.mark.django_db


def assert_same_course(original: str, copy: str) -> None:
    """The two runs hold the same course: trees, fields, OLX, course files and static files, in both modes."""
    for mode in ("published", "draft"):
        expected, actual = tree_snapshot(original, mode), tree_snapshot(copy, mode)
        assert list(actual) == list(expected), mode  # the same blocks, found in the same order
        different = {ref: (expected[ref], actual[ref]) for ref in expected if expected[ref] != actual[ref]}
        assert different == {}, mode
        assert course_files_snapshot(copy, mode) == course_files_snapshot(original, mode)
        assert static_files_snapshot(copy, mode) == static_files_snapshot(original, mode)


def round_trip(source, tmp_path: Path, course_key: str, dest_name: str = "export.tar.gz", **export_options):
    """Import ``source``, export it to ``tmp_path/dest_name``, import that as ``course_key``; return all three."""
    first = api.import_olx(source)
    exported = api.export_olx(first.course_key, tmp_path / dest_name, **export_options)
    second = api.import_olx(tmp_path / dest_name, course_key=course_key)
    return first, exported, second


# ---- round trips of our own fixtures


@pytest.mark.parametrize("dest_name", ["export.tar.gz", "export-folder"])
def test_the_fidelity_course_round_trips(dest_name, tmp_path):
    first, exported, second = round_trip(FIDELITY_COURSE, tmp_path, COPY_KEY, dest_name)
    assert exported.warnings == []
    assert exported.draft_units == ["vertical/reading", "vertical/new-unit"]
    assert (exported.course_files, exported.static_files) == (9, 2)
    assert exported.block_count == first.block_count == second.block_count == 18
    assert second.problems == first.problems == []
    assert second.draft_units == first.draft_units
    assert_same_course(FIDELITY_KEY, COPY_KEY)


def test_exporting_the_reimported_course_gives_the_same_files(tmp_path):
    """An export is a fixed point: importing it and exporting again writes the same bytes (keys aside)."""
    round_trip(FIDELITY_COURSE, tmp_path, "course-v1:LcX+Fidelity+Copy", "first")
    api.export_olx("course-v1:LcX+Fidelity+Copy", tmp_path / "second")
    first = files_of(tmp_path / "first")
    second = files_of(tmp_path / "second")
    # The run names course/<run>.xml and policies/<run>/; drafts name their parent by its usage key.
    renamed = {path.replace("Copy", "2026"): digest for path, digest in second.items()}
    keyed = {"course.xml", "policies/2026/policy.json", "drafts/vertical/reading.xml", "drafts/vertical/new-unit.xml"}
    assert {path: d for path, d in renamed.items() if path not in keyed} == {
        path: d for path, d in first.items() if path not in keyed
    }
    for path in keyed:
        text = (tmp_path / "second" / path.replace("2026", "Copy")).read_text()
        text = text.replace("Fidelity+Copy", "Fidelity+2026").replace('"course/Copy"', '"course/2026"')
        assert text.replace('url_name="Copy"', 'url_name="2026"') == (tmp_path / "first" / path).read_text()


def test_reimporting_its_own_export_into_the_same_run_changes_nothing_published(tmp_path):
    first = api.import_olx(FIDELITY_COURSE)
    published = tree_snapshot(FIDELITY_KEY, "published")
    draft = tree_snapshot(FIDELITY_KEY, "draft")
    api.export_olx(FIDELITY_KEY, tmp_path / "export")
    again = api.import_olx(tmp_path / "export")
    assert again.course_key == first.course_key and again.created == 0
    assert tree_snapshot(FIDELITY_KEY, "published") == published
    assert tree_snapshot(FIDELITY_KEY, "draft") == draft


def test_the_demo_course_round_trips(tmp_path):
    round_trip(DEMO_COURSE, tmp_path, COPY_KEY)
    assert_same_course(DEMO_KEY, COPY_KEY)


def test_selectors_round_trip_with_their_pools(tmp_path):
    first, exported, second = round_trip(SELECTOR_COURSE, tmp_path, COPY_KEY)
    assert exported.warnings == []
    assert second.problems == first.problems
    assert_same_course(first.course_key, COPY_KEY)
    root = tmp_path / "unpacked"
    with tarfile.open(tmp_path / "export.tar.gz") as archive:
        archive.extractall(root, filter="data")
    # A selector written straight into a sequential comes back there, not inside the Unit the import made.
    sequential = (root / "course" / "sequential" / "seq2.xml").read_text()
    assert '<split_test url_name="ab_seq"/>' in sequential and "__lc_unit" not in sequential


def test_unknown_blocks_are_exported_byte_for_byte_equivalent(tmp_path):
    api.import_olx(FIDELITY_COURSE)
    api.export_olx(FIDELITY_KEY, tmp_path / "export")
    unit = (tmp_path / "export" / "vertical" / "inline-unit.xml").read_text()
    # Inline as it was written (an unknown block may be a pure XBlock, which does not follow pointers).
    assert (
        '<hologram url_name="future-block" display_name="A block no package provides" depth="3">'
        '<layer name="a">Some &amp; text</layer><!-- kept --><layer name="b"/></hologram>'
    ) in unit
    reading = (tmp_path / "export" / "vertical" / "reading.xml").read_text()
    original = (FIDELITY_COURSE / "mystery" / "m1.xml").read_text().strip()
    assert original.replace("<mystery ", '<mystery url_name="m1" ', 1) in reading


def test_the_export_is_standard_olx(tmp_path):
    api.import_olx(FIDELITY_COURSE)
    api.export_olx(FIDELITY_KEY, tmp_path / "export")
    root = tmp_path / "export"
    assert (root / "course.xml").read_text() == '<course url_name="2026" org="LcX" course="Fidelity"/>\n'
    assert '<chapter url_name="basics"/>' in (root / "course" / "2026.xml").read_text()
    assert (root / "html" / "welcome.xml").read_text() == '<html display_name="Welcome" filename="welcome"/>\n'
    assert (root / "html" / "welcome.html").read_bytes() == (FIDELITY_COURSE / "html" / "welcome.html").read_bytes()
    assert (root / "problem" / "q1.xml").read_text().startswith('<problem display_name="First question"')
    policy = json.loads((root / "policies" / "2026" / "policy.json").read_text())
    original = json.loads((FIDELITY_COURSE / "policies" / "2026" / "policy.json").read_text())
    assert policy["course/2026"] == {**original["course/2026"], "language": "en"}  # + the course.xml attribute
    assert policy["chapter/basics"] == {"lc_policy_only": [1, 2]}  # its start went back to an attribute
    assert json.loads((root / "policies" / "2026" / "grading_policy.json").read_text()) == json.loads(
        (FIDELITY_COURSE / "policies" / "2026" / "grading_policy.json").read_text()
    )
    assets = json.loads((root / "policies" / "assets.json").read_text())
    assert assets["notes.txt"]["locked"] is True and assets["images_diagram.png"]["contentType"] == "image/png"
    for path in ("about/legacy.html", "info/updates.items.json", "tabs/syllabus.html", "static/images/diagram.png"):
        assert (root / path).read_bytes() == (FIDELITY_COURSE / path).read_bytes(), path
    draft_unit = (root / "drafts" / "vertical" / "new-unit.xml").read_text()
    assert 'parent_url="block-v1:LcX+Fidelity+2026+type@sequential+block@lesson"' in draft_unit
    assert 'index_in_children_list="1"' in draft_unit
    assert (root / "drafts" / "html" / "draft-note.html").is_file()


def test_a_tar_gz_export_holds_the_course_folder(tmp_path):
    api.import_olx(DEMO_COURSE)
    api.export_olx(DEMO_KEY, tmp_path / "demo.tar.gz")
    with tarfile.open(tmp_path / "demo.tar.gz") as archive:
        names = archive.getnames()
    assert "course/course.xml" in names and all(name.startswith("course") for name in names)


def test_a_draft_mode_export_is_the_draft_course(tmp_path):
    api.import_olx(FIDELITY_COURSE)
    exported = api.export_olx(FIDELITY_KEY, tmp_path / "draft", mode="draft")
    assert exported.draft_units == [] and not (tmp_path / "draft" / "drafts").exists()
    assert "new-unit" in (tmp_path / "draft" / "sequential" / "lesson.xml").read_text()
    api.import_olx(tmp_path / "draft", course_key=COPY_KEY)
    assert tree_snapshot(COPY_KEY, "published") == tree_snapshot(FIDELITY_KEY, "draft")


def test_an_unpublished_course_exports_in_draft_mode_only(tmp_path):
    api.import_olx(DEMO_COURSE, publish=False)
    with pytest.raises(api.CourseNotPublished):
        api.export_olx(DEMO_KEY, tmp_path / "published")
    assert api.export_olx(DEMO_KEY, tmp_path / "draft", mode="draft").block_count == 14
    with pytest.raises(api.CourseNotFound):
        api.export_olx("course-v1:LcX+Nothing+Here", tmp_path / "none")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["draft"]


def test_draft_changes_olx_cannot_hold_are_warned_about(tmp_path):
    api.import_olx(DEMO_COURSE)
    package_id = load_course_tree(DEMO_KEY, mode="draft").learning_package_id
    update_container(package_id, "sequential", "practice", "Practice (renamed)", {"display_name": "Practice (renamed)"})
    exported = api.export_olx(DEMO_KEY, tmp_path / "export")
    assert exported.warnings == ["sequential/practice has unpublished setting changes, which are not exported"]
    assert 'display_name="Practice"' in (tmp_path / "export" / "chapter" / "going-further.xml").read_text() or (
        'display_name="Practice"' in (tmp_path / "export" / "sequential" / "practice.xml").read_text()
    )


# ---- damaged blocks come back as they were found


# The file each damage is in (or missing from), and the element written in the parent's file for it.
DAMAGED_FILE = {
    "malformed XML": ("problem/q1.xml", '<problem url_name="q1"/>'),
    "missing pointer file": ("video/intro.xml", '<video url_name="intro"/>'),
    "missing html body": ("html/welcome.html", '<html url_name="welcome"/>'),
    "duplicate url_name": ("vertical/quiz.xml", '<problem url_name="q1"/>\n  <problem url_name="q1"/>'),
    "bad key": ("vertical/quiz.xml", '<html url_name="not a key!" display_name="Bad key">Text.</html>'),
    "path leaving the export": ("vertical/quiz.xml", '<problem url_name="..:..:secret"/>'),
    "malformed unit": ("vertical/quiz.xml", '<vertical url_name="quiz"/>'),
    "missing chapter": ("chapter/basics.xml", '<chapter url_name="basics"/>'),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_blocks_are_exported_as_they_were_found(damage, tmp_path):
    break_it, _where, placeholder, _around = DAMAGE[damage]
    path, element = DAMAGED_FILE[damage]
    source = tmp_path / "source"
    shutil.copytree(FIDELITY_COURSE, source)
    break_it(source)
    first = api.import_olx(source)
    api.export_olx(first.course_key, tmp_path / "export")
    exported = tmp_path / "export" / path
    # A damaged file comes back byte for byte, a missing one stays missing, and the parent names the block
    # as it did. (Files that only a damaged file named are not reached, so not kept: as in edx-platform.)
    assert exported.is_file() == (source / path).is_file()
    if damage.startswith("malformed"):
        assert exported.read_bytes() == (source / path).read_bytes()
    parents = [file.read_text() for file in (tmp_path / "export").rglob("*.xml")]
    assert any(element in text for text in parents), element
    second = api.import_olx(tmp_path / "export", course_key=COPY_KEY)
    assert [(p.message, p.file, p.line, p.block) for p in second.problems] == [
        (p.message, p.file, p.line, p.block) for p in first.problems
    ]
    assert_same_course(first.course_key, COPY_KEY)


# ---- where an export goes


def test_an_export_never_overwrites_unless_asked(tmp_path):
    api.import_olx(DEMO_COURSE)
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(api.ExportError, match="not empty"):
        api.export_olx(DEMO_KEY, occupied)
    with pytest.raises(api.ExportError, match="no course.xml"):
        api.export_olx(DEMO_KEY, occupied, overwrite=True)
    assert [path.name for path in occupied.iterdir()] == ["notes.txt"]

    api.export_olx(DEMO_KEY, tmp_path / "earlier")
    (tmp_path / "earlier" / "stale.txt").write_text("from an earlier export")
    api.export_olx(DEMO_KEY, tmp_path / "earlier", overwrite=True)
    assert not (tmp_path / "earlier" / "stale.txt").exists() and (tmp_path / "earlier" / "course.xml").is_file()

    (tmp_path / "demo.tar.gz").write_bytes(b"an earlier archive")
    with pytest.raises(api.ExportError, match="already exists"):
        api.export_olx(DEMO_KEY, tmp_path / "demo.tar.gz")
    api.export_olx(DEMO_KEY, tmp_path / "demo.tar.gz", overwrite=True)
    assert tarfile.is_tarfile(tmp_path / "demo.tar.gz")

    with pytest.raises(api.ExportError, match="does not exist"):
        api.export_olx(DEMO_KEY, tmp_path / "missing" / "export")
    empty = tmp_path / "empty"
    empty.mkdir()
    api.export_olx(DEMO_KEY, empty)  # an empty folder is a fine destination
    # Nothing half-written is left beside the destinations.
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]


def test_a_failed_export_leaves_no_trace(tmp_path, monkeypatch):
    from lc_runtime.olx import exporter

    api.import_olx(DEMO_COURSE)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(exporter, "read_course_files", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        api.export_olx(DEMO_KEY, tmp_path / "export")
    assert list(tmp_path.iterdir()) == []


def test_an_export_writes_nothing_to_the_database(tmp_path):
    api.import_olx(FIDELITY_COURSE)
    before = row_counts()
    api.export_olx(FIDELITY_KEY, tmp_path / "export")
    assert row_counts() == before


def test_export_costs_the_same_queries_whatever_the_course_size(tmp_path):
    bigger = tmp_path / "bigger"
    shutil.copytree(FIDELITY_COURSE, bigger)
    lesson = bigger / "sequential" / "lesson.xml"
    extra_units = "".join(
        f'  <vertical url_name="extra-{n}" display_name="Extra {n}"><html url_name="extra-text-{n}">Text {n}.</html>'
        f'<problem url_name="extra-q-{n}"><p>Q{n}</p><stringresponse answer="{n}"><textline/></stringresponse>'
        "</problem></vertical>\n"
        for n in range(20)
    )
    lesson.write_text(lesson.read_text().replace("</sequential>", extra_units + "</sequential>"))
    api.import_olx(FIDELITY_COURSE)
    assert api.import_olx(bigger, course_key=COPY_KEY).block_count == 18 + 60
    counts = []
    for key in (FIDELITY_KEY, COPY_KEY):
        caches["default"].clear()  # both trees loaded from the database
        with CaptureQueriesContext(connection) as queries:
            api.export_olx(key, tmp_path / key.rpartition("+")[0].rpartition("+")[2])
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


# ---- the API example and the command line


def test_the_api_docstring_example(monkeypatch):
    monkeypatch.chdir(ROOT)
    [example] = doctest.DocTestFinder().find(api.export_olx, "lc_runtime.api.export_olx", globs=vars(api).copy())
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(example)
    assert runner.summarize(verbose=False) == (0, len(example.examples))


def test_the_export_command(tmp_path, capsys):
    api.import_olx(FIDELITY_COURSE)
    assert cli.main(["export", FIDELITY_KEY, str(tmp_path / "export.tar.gz"), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["block_count"] == 18 and result["draft_units"] == ["vertical/reading", "vertical/new-unit"]
    assert err == ""
    assert cli.main(["export", FIDELITY_KEY, str(tmp_path / "export.tar.gz")]) == 2
    out, err = capsys.readouterr()
    assert "already exists (pass overwrite=True" in err
    assert cli.main(["export", FIDELITY_KEY, str(tmp_path / "folder"), "--draft"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"Exported {FIDELITY_KEY} (draft) to {tmp_path / 'folder'}:")
    assert cli.main(["export", "course-v1:LcX+Nothing+Here", str(tmp_path / "x")]) == 2


# ---- the real courses in ../shared/olx


@pytest.mark.parametrize("name", ["oxa-kitchen-sink", "openedx-test-course", "harvardx-studio-advanced"])
def test_a_real_course_round_trips(name, tmp_path, make_user):
    # To a folder: importing a .tar.gz reads each member from the start of the gzip stream (slow for ~1000 files).
    first, exported, second = round_trip(shared_olx(name), tmp_path, "course-v1:Shared+RoundTrip+Copy", "export")
    assert exported.warnings == []
    assert second.problems == first.problems == []
    assert second.blocks_by_type == first.blocks_by_type
    assert sorted(second.draft_units) == sorted(exported.draft_units)
    assert_same_course(first.course_key, "course-v1:Shared+RoundTrip+Copy")
    # The copy renders for a learner like the original: every unit of the published tree.
    runtime = api.get_runtime(make_user("ada"), course_key="course-v1:Shared+RoundTrip+Copy")
    system = api.get_runtime(None, course_key="course-v1:Shared+RoundTrip+Copy")  # reaches every pool member
    for ref, record in runtime.tree.blocks.items():
        if ref[0] == "vertical" and damage_of(record) is None:
            key = usage("course-v1:Shared+RoundTrip+Copy", *ref)
            try:
                block = runtime.get_block(key)
            except NoSuchUsage:  # in a split test group this learner is not in
                block = system.get_block(key)
            block.runtime.render(block, "student_view")
