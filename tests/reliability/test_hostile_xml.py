"""
Any DOCTYPE or entity declaration anywhere in an export's XML refuses the whole import as hostile
(:class:`~lc_runtime.olx.parsing.HostileOlx`), whatever the file's encoding and wherever the DOCTYPE
stands: found by the parser, not by looking at the first bytes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lc_runtime import api
from lc_runtime.olx.parsing import HostileOlx
from tests.conftest import DEMO_COURSE
from tests.contract.test_import import BILLION_LAUGHS
from tests.contract.test_import_fidelity import FIDELITY_COURSE
from tests.olx_snapshots import row_counts

pytestmark = pytest.mark.django_db

BOMB_BODY = BILLION_LAUGHS.split("]>", 1)  # the DTD, and the element using it


def _bomb(root_element: str) -> str:
    """The billion laughs DTD in front of ``root_element`` (which may use ``&lol9;``)."""
    return f"{BOMB_BODY[0]}]>{root_element}"


ENCODINGS = {
    "utf-8 with a BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "utf-16": lambda text: text.encode("utf-16"),  # with its BOM, as editors write it
    "utf-16 declared": lambda text: ('<?xml version="1.0" encoding="UTF-16"?>\n' + text).encode("utf-16-le"),
    "after 64 KB of comment": lambda text: ("<!--" + "x" * 70_000 + "-->\n" + text).encode("utf-8"),
}


def _copy(course: Path, tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(course, target)
    return target


def _refused_as_hostile(source: Path, file: str) -> HostileOlx:
    before = row_counts()
    with pytest.raises(HostileOlx, match="A DOCTYPE is not allowed in OLX") as refused:
        api.import_olx(source)
    assert refused.value.file == file
    assert "lollol" not in str(refused.value)
    assert row_counts() == before
    return refused.value


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_an_entity_bomb_in_a_pointer_file_refuses_the_import(tmp_path, encoding):
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "html" / "after-the-question.xml").write_bytes(
        ENCODINGS[encoding](_bomb('<html display_name="x">&lol9;</html>'))
    )
    refused = _refused_as_hostile(source, "html/after-the-question.xml")
    assert refused.line == (2 if encoding in ("after 64 KB of comment", "utf-16 declared") else 1)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_an_entity_bomb_in_a_drafts_file_refuses_the_import(tmp_path, encoding):
    source = _copy(FIDELITY_COURSE, tmp_path)
    unit = source / "drafts" / "vertical" / "new-unit.xml"
    element = unit.read_text().replace('display_name="A unit not published yet"', 'display_name="&lol9;"')
    unit.write_bytes(ENCODINGS[encoding](_bomb(element)))
    _refused_as_hostile(source, "drafts/vertical/new-unit.xml")


def test_an_entity_bomb_in_a_drafts_child_file_refuses_the_import(tmp_path):
    source = _copy(FIDELITY_COURSE, tmp_path)
    (source / "drafts" / "problem" / "draft-question.xml").write_bytes(
        ENCODINGS["utf-8 with a BOM"](_bomb("<problem>&lol9;</problem>"))
    )
    _refused_as_hostile(source, "drafts/problem/draft-question.xml")


def test_a_doctype_without_entities_in_a_container_file_refuses_the_import(tmp_path):
    source = _copy(DEMO_COURSE, tmp_path)
    sequential = source / "sequential" / "welcome.xml"
    sequential.write_bytes(ENCODINGS["utf-16"]('<!DOCTYPE sequential SYSTEM "http://example.com/x.dtd">\n'
                                               + sequential.read_text()))
    _refused_as_hostile(source, "sequential/welcome.xml")


def test_a_doctype_in_course_xml_refuses_the_import(tmp_path):
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "course.xml").write_bytes(
        ENCODINGS["after 64 KB of comment"](_bomb('<course url_name="2026" org="LcX" course="Demo"/>'))
    )
    _refused_as_hostile(source, "course.xml")


def test_an_undefined_entity_without_a_doctype_is_damage_not_an_attack(tmp_path):
    # No declaration, nothing to expand: the file is malformed, kept as a damaged block and reported.
    source = _copy(DEMO_COURSE, tmp_path)
    (source / "html" / "after-the-question.xml").write_text('<html display_name="x">&nbsp;</html>')
    result = api.import_olx(source)
    assert [(problem.file, problem.block) for problem in result.problems] == [
        ("html/after-the-question.xml", "html/after-the-question")
    ]
