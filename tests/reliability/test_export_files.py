"""
An import reads only the export's own files: a file or folder of a folder export that is a symbolic
link (to anywhere) refuses the whole import, naming the file, and writes nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from lc_runtime import api
from lc_runtime.olx.parsing import UnsafeExportPath
from tests.conftest import DEMO_COURSE
from tests.contract.test_import_fidelity import FIDELITY_COURSE
from tests.olx_snapshots import row_counts

pytestmark = pytest.mark.django_db

SECRET = "TOP SECRET: not course content"


def _copy(course: Path, tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(course, target)
    return target


def _link_file(source: Path, relative: str, tmp_path: Path) -> None:
    """Replace the export's file ``relative`` with a link to a copy of it outside the export, holding a secret."""
    original = source / relative
    outside = tmp_path / "elsewhere" / original.name
    outside.parent.mkdir(exist_ok=True)
    outside.write_bytes(original.read_bytes().replace(b"</problem>", f"<p>{SECRET}</p></problem>".encode()))
    original.unlink()
    os.symlink(outside, original)


@pytest.mark.parametrize(
    ("course", "relative"),
    [
        (DEMO_COURSE, "problem/orbit-question.xml"),  # a pointer's file
        (DEMO_COURSE, "html/welcome-text.html"),  # an html block's body
        (DEMO_COURSE, "policies/2026/policy.json"),
        (DEMO_COURSE, "policies/2026/grading_policy.json"),
        (FIDELITY_COURSE, "about/overview.html"),
        (FIDELITY_COURSE, "drafts/vertical/new-unit.xml"),
    ],
)
def test_a_file_that_is_a_link_refuses_the_import(tmp_path, course, relative):
    source = _copy(course, tmp_path)
    _link_file(source, relative, tmp_path)
    before = row_counts()
    with pytest.raises(UnsafeExportPath, match="is a symbolic link") as refused:
        api.import_olx(source)
    assert refused.value.file == relative
    assert SECRET not in str(refused.value)
    assert row_counts() == before


def test_a_folder_that_is_a_link_refuses_the_import(tmp_path):
    source = _copy(DEMO_COURSE, tmp_path)
    outside = tmp_path / "elsewhere-problems"
    shutil.move(source / "problem", outside)
    os.symlink(outside, source / "problem")
    before = row_counts()
    with pytest.raises(api.OlxError, match=r"problem/orbit-question.xml: problem is a symbolic link"):
        api.import_olx(source)
    assert row_counts() == before


def test_a_link_that_stays_inside_the_export_is_refused_too(tmp_path):
    # Even a link to the export's own file: an import reads files, never follows links.
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "html" / "welcome-text.html").unlink()
    os.symlink(source / "html" / "after-the-question.xml", source / "html" / "welcome-text.html")
    before = row_counts()
    with pytest.raises(UnsafeExportPath, match="html/welcome-text.html"):
        api.import_olx(source)
    assert row_counts() == before


def test_a_fifo_is_not_read(tmp_path):
    # Reading a FIFO would wait for a writer forever: an import refuses anything but a regular file.
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "html" / "welcome-text.html").unlink()
    os.mkfifo(source / "html" / "welcome-text.html")
    before = row_counts()

    def waited(_signum, _frame):
        raise AssertionError("the import waited for a writer of the FIFO")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(10)  # without the check, opening the FIFO blocks: fail instead of hanging the suite
    try:
        with pytest.raises(UnsafeExportPath, match="not a regular file"):
            api.import_olx(source)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert row_counts() == before


def test_an_export_folder_reached_through_a_link_imports(tmp_path):
    # The folder the caller names may itself be a link (as /tmp is on some systems): only what is below it counts.
    source = _copy(DEMO_COURSE, tmp_path)
    os.symlink(source, tmp_path / "linked-course")
    assert api.import_olx(tmp_path / "linked-course").problems == []


@pytest.mark.parametrize("folder", ["about", "drafts/vertical"])
def test_a_folder_linking_back_to_itself_is_refused_not_walked(tmp_path, folder):
    source = _copy(FIDELITY_COURSE, tmp_path)
    os.symlink(source / folder, source / folder / "loop")
    before = row_counts()
    with pytest.raises(UnsafeExportPath, match="loop is a symbolic link"):
        api.import_olx(source)
    assert row_counts() == before


def test_a_folder_where_a_file_is_expected_is_damage_not_an_attack(tmp_path):
    """A problem's file that is a folder: the problem is a damaged block, reported; the rest imports."""
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "problem" / "orbit-question.xml").unlink()
    (source / "problem" / "orbit-question.xml").mkdir()
    result = api.import_olx(source)
    [problem] = [p for p in result.problems if p.block == "problem/orbit-question"]
    assert "problem/orbit-question.xml: a folder where a file is expected" in problem.message
