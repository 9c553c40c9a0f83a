"""
Every way an export can fail to be read is an :class:`~lc_runtime.olx.parsing.OlxError` naming the file
(and the line where one is known), never ``EOFError``, ``BadZipFile``, ``UnicodeDecodeError``, a
database error or ``RecursionError``; an import it refuses writes nothing, and the CLI says it in one line.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from lc_runtime import api, cli
from lc_runtime.olx.parsing import MAX_TREE_DEPTH, TooDeep, UnreadableExport
from tests.conftest import DEMO_COURSE
from tests.olx_snapshots import row_counts

pytestmark = pytest.mark.django_db

POLICY = "policies/2026/policy.json"
GRADING_POLICY = "policies/2026/grading_policy.json"


def _copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, target)
    return target


def _refused(source, error=api.OlxError, match: str | None = None) -> api.OlxError:
    """Import ``source``; assert it is refused with ``error`` and that nothing was written."""
    before = row_counts()
    with pytest.raises(error, match=match) as refused:
        api.import_olx(source)
    assert row_counts() == before
    return refused.value


def _truncated_tar(tmp_path: Path) -> Path:
    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(DEMO_COURSE, arcname="course")
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])  # an interrupted download
    return archive


def test_a_truncated_tar_gz_is_an_olx_error(tmp_path):
    archive = _truncated_tar(tmp_path)
    refused = _refused(archive, UnreadableExport, "not a readable tar archive")
    assert refused.file == str(archive)


def test_a_zip_member_failing_its_checksum_is_an_olx_error_naming_it(tmp_path):
    archive = tmp_path / "export.zip"
    member = "course/problem/orbit-question.xml"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(DEMO_COURSE.rglob("*")):
            if path.is_file():
                zf.write(path, f"course/{path.relative_to(DEMO_COURSE)}")
    data = bytearray(archive.read_bytes())
    text = (DEMO_COURSE / "problem" / "orbit-question.xml").read_bytes()
    at = data.index(text)  # stored uncompressed: the member's bytes as they are
    data[at + 10] ^= 0x01  # one flipped bit: the CRC no longer matches
    archive.write_bytes(bytes(data))
    refused = _refused(archive, UnreadableExport, "could not be read")
    assert refused.file == "problem/orbit-question.xml"
    assert member.endswith(refused.file)


def test_an_html_body_that_is_not_utf8_is_a_damaged_block_with_its_line(tmp_path):
    source = _copy_demo(tmp_path)
    body = source / "html" / "welcome-text.html"
    body.write_bytes(b"<p>Welcome!</p>\n<p>caf\xe9</p>\n")  # Latin-1
    result = api.import_olx(source)
    assert [(problem.file, problem.line, problem.block) for problem in result.problems] == [
        ("html/welcome-text.html", 2, "html/welcome-text")
    ]
    assert "not UTF-8" in result.problems[0].message


@pytest.mark.parametrize("policy_file", [POLICY, GRADING_POLICY])
def test_a_policy_that_is_not_utf8_is_an_olx_error_with_its_line(tmp_path, policy_file):
    source = _copy_demo(tmp_path)
    path = source / policy_file
    path.write_bytes(path.read_bytes().replace(b"{", b'{\n"x": "\xff\xfe",', 1))
    refused = _refused(source, match="not UTF-8")
    assert (refused.file, refused.line) == (policy_file, 2)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("policy_file", [POLICY, GRADING_POLICY])
def test_nan_and_infinity_in_a_policy_are_refused_when_read(tmp_path, policy_file, constant):
    source = _copy_demo(tmp_path)
    path = source / policy_file
    policy = json.loads(path.read_text())
    if policy_file == POLICY:
        policy.setdefault("sequential/practice", {})["days_early_for_beta"] = "@"
        policy["sequential/practice"]["note"] = "NaN in a string is text"
    else:
        policy["GRADE_CUTOFFS"] = {"Pass": "@"}
    path.write_text(json.dumps(policy, indent=2).replace('"@"', constant))
    refused = _refused(source, match=f"{constant} is (not a JSON value|too large a number)")
    assert refused.file == policy_file
    lines = path.read_text().splitlines()
    assert constant in lines[refused.line - 1] and '"NaN in' not in lines[refused.line - 1]


def test_nan_in_a_container_attribute_is_kept_as_text_and_reported(tmp_path):
    # A Float field reads "NaN"; the container's settings (a JSON column) cannot hold it.
    source = _copy_demo(tmp_path)
    chapter = source / "chapter" / "going-further.xml"
    chapter.write_text(chapter.read_text().replace('graded="true"', 'graded="true" days_early_for_beta="NaN"'))
    result = api.import_olx(source)
    assert [(problem.file, problem.block) for problem in result.problems] == [
        ("chapter/going-further.xml", "sequential/practice")
    ]
    assert "days_early_for_beta" in result.problems[0].message


DEEP_HTML = '<html url_name="deep"><![CDATA[<p>deep</p>]]></html>'


def _nested_randomize(levels: int, member: str = DEEP_HTML) -> str:
    """``levels`` selectors, each the only member of the one around it, holding ``member``."""
    return "<randomize>" * levels + member + "</randomize>" * levels


@pytest.mark.parametrize(
    "inner",
    [
        _nested_randomize(3),  # the html at 10: Unit 3, each selector 2 (its proxy and its pool), the html 1
        _nested_randomize(2, f"<vertical><randomize>{DEEP_HTML}</randomize></vertical>"),  # the html at 11
        _nested_randomize(200),
    ],
)
def test_a_tree_deeper_than_the_maximum_is_refused(tmp_path, inner):
    source = _copy_demo(tmp_path)
    (source / "vertical" / "welcome-unit.xml").write_text(f'<vertical display_name="Deep">\n{inner}\n</vertical>\n')
    refused = _refused(source, TooDeep, f"nested deeper than {MAX_TREE_DEPTH} levels")
    assert (refused.file, refused.line) == ("vertical/welcome-unit.xml", 2)


def test_a_tree_at_the_maximum_depth_imports(tmp_path):
    # The html stands at 9: two selectors (4-5, 6-7), a Unit in the inner pool (8), the html (9).
    source = _copy_demo(tmp_path)
    inner = _nested_randomize(2, f'<vertical url_name="deep-unit">{DEEP_HTML}</vertical>')
    (source / "vertical" / "welcome-unit.xml").write_text(f'<vertical display_name="Deep">\n{inner}\n</vertical>\n')
    result = api.import_olx(source)
    assert result.problems == []
    assert result.blocks_by_type["randomize"] == 2


def test_a_deep_chain_of_pointer_files_is_refused(tmp_path):
    # Pointers let the tree go deeper than one file can (libxml2 stops at 256 levels per file).
    source = _copy_demo(tmp_path)
    (source / "vertical" / "welcome-unit.xml").write_text('<vertical><randomize url_name="r0"/></vertical>\n')
    (source / "randomize").mkdir()
    for level in range(300):
        pointer = f'<randomize url_name="r{level + 1}"/>'
        (source / "randomize" / f"r{level}.xml").write_text(f"<randomize>{pointer}</randomize>")
    _refused(source, TooDeep)


@pytest.mark.parametrize(
    "damage",
    ["truncated tar", "nan policy", "not utf-8 policy", "deep tree"],
)
def test_the_cli_reports_each_in_one_line(tmp_path, capsys, damage):
    if damage == "truncated tar":
        source = _truncated_tar(tmp_path)
    else:
        source = _copy_demo(tmp_path)
        if damage == "nan policy":
            (source / POLICY).write_text('{"course/2026": {"days_early_for_beta": NaN}}')
        elif damage == "not utf-8 policy":
            (source / POLICY).write_bytes(b'{"course/2026": {"display_name": "\xff"}}')
        else:
            (source / "vertical" / "welcome-unit.xml").write_text(f"<vertical>{_nested_randomize(200)}</vertical>")
    before = row_counts()
    status = cli.main(["import", str(source)])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.startswith("lc-runtime: import refused, nothing was written: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert row_counts() == before
