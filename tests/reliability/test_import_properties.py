"""
Property: whatever is done to a real export — bytes cut or garbled, files deleted, tags swapped, invalid
UTF-8, a DOCTYPE, deep nesting, duplicate url_names, NaN in a policy, a corrupt archive — an import
either succeeds or raises :class:`~lc_runtime.api.OlxError` (or one of its subclasses: ``HostileOlx``,
``UnsafeExportPath``, ``UnreadableExport``, ``TooDeep``, ``StrictImportError``), and an import that
raises wrote nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lc_runtime import api
from tests.conftest import DEMO_COURSE
from tests.contract.test_import_fidelity import FIDELITY_COURSE
from tests.olx_snapshots import row_counts

pytestmark = pytest.mark.django_db

COURSES = [DEMO_COURSE, FIDELITY_COURSE]
TAGS = ["course", "chapter", "sequential", "vertical", "problem", "html", "video", "randomize", "split_test", "wiki"]


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and path.name != "README.md")


def _truncate(path: Path, data: st.DataObject) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: data.draw(st.integers(0, max(len(content) - 1, 0)), label="keep")])


def _garble(path: Path, data: st.DataObject) -> None:
    content = path.read_bytes()
    at = data.draw(st.integers(0, len(content)), label="at")
    noise = data.draw(st.binary(min_size=1, max_size=16), label="noise")
    path.write_bytes(content[:at] + noise + content[at + len(noise):])


def _delete(path: Path, _data: st.DataObject) -> None:
    path.unlink()


def _invalid_utf8(path: Path, data: st.DataObject) -> None:
    content = path.read_bytes()
    at = data.draw(st.integers(0, len(content)), label="at")
    path.write_bytes(content[:at] + b"\xff\xc3(" + content[at:])


def _doctype(path: Path, data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"<!-- a comment -->\n"]), label="before")
    doctype = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    path.write_bytes(prefix + doctype + path.read_bytes())


def _swap_tag(path: Path, data: st.DataObject) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    start = text.find("<", text.find("<") if text.startswith("<?") else 0)
    if start < 0 or start + 1 >= len(text) or not text[start + 1].isalpha():
        return
    end = start + 1
    while end < len(text) and (text[end].isalnum() or text[end] in "_-"):
        end += 1
    old, new = text[start + 1:end], data.draw(st.sampled_from(TAGS), label="tag")
    path.write_text(text.replace(f"<{old}", f"<{new}", 1).replace(f"</{old}>", f"</{new}>", 1))


def _deep_nesting(path: Path, data: st.DataObject) -> None:
    levels = data.draw(st.integers(1, 60), label="levels")
    inner = "<randomize>" * levels + '<html url_name="deep"><![CDATA[<p>x</p>]]></html>' + "</randomize>" * levels
    path.write_text(f"<vertical>{inner}</vertical>")


def _duplicate_url_names(path: Path, _data: st.DataObject) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    start = text.find("<", text.find(">") + 1)  # the root's first child
    end = text.find("/>", start)
    if start < 0 or end < 0:
        return
    path.write_text(text[:end + 2] + text[start:end + 2] + text[end + 2:])


def _nan_policy(path: Path, data: st.DataObject) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    constant = data.draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]), label="constant")
    path.write_text(text.replace("{", f'{{"days_early_for_beta": {constant}, ', 1))


MUTATIONS: dict[str, tuple[Callable[[Path, st.DataObject], None], str]] = {
    # name: (mutation, the files it applies to)
    "truncate": (_truncate, "*"),
    "garble": (_garble, "*"),
    "delete": (_delete, "*"),
    "invalid utf-8": (_invalid_utf8, "*"),
    "doctype": (_doctype, "*.xml"),
    "swap tag": (_swap_tag, "*.xml"),
    "deep nesting": (_deep_nesting, "vertical/*.xml"),
    "duplicate url_names": (_duplicate_url_names, "*.xml"),
    "nan in policy": (_nan_policy, "*.json"),
}


def _mutate(root: Path, data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        name = data.draw(st.sampled_from(sorted(MUTATIONS)), label="mutation")
        mutation, pattern = MUTATIONS[name]
        candidates = [path for path in _files(root) if path.match(pattern)]
        if candidates:
            mutation(data.draw(st.sampled_from(candidates), label="file"), data)


def _zipped(root: Path, data: st.DataObject) -> Path:
    """The export as a zip, maybe with a byte of it changed (a member failing its checksum, a broken directory)."""
    archive = root.parent / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in _files(root):
            zf.write(path, f"course/{path.relative_to(root)}")
    if data.draw(st.booleans(), label="corrupt the archive"):
        content = bytearray(archive.read_bytes())
        content[data.draw(st.integers(0, len(content) - 1), label="byte")] ^= 0xFF
        archive.write_bytes(bytes(content))
    return archive


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_mutated_export_imports_or_is_refused_with_an_olx_error_writing_nothing(data):
    course = data.draw(st.sampled_from(COURSES), label="course")
    with tempfile.TemporaryDirectory(prefix="lc-runtime-mutated-") as folder:
        root = Path(folder) / "course"
        shutil.copytree(course, root)
        _mutate(root, data)
        source = _zipped(root, data) if data.draw(st.booleans(), label="as a zip") else root
        strict = data.draw(st.booleans(), label="strict")
        before = row_counts()
        try:
            result = api.import_olx(source, strict=strict)
        except api.OlxError:
            assert row_counts() == before, "a refused import wrote something"
        else:
            assert result.block_count > 0
            assert not (strict and result.problems)
