"""OLX import: sources, problems reported with file and line, strict mode, hostile archives, idempotency."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from fs.memoryfs import MemoryFS

from lc_runtime import api
from lc_runtime.models import CourseRun
from tests.conftest import DEMO_COURSE, DEMO_KEY, usage


def _copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, target)
    return target


def _row_counts() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("lc_runtime", "openedx_content")
    }


@pytest.mark.django_db
def test_import_from_a_parent_folder_holding_course(tmp_path):
    _copy_demo(tmp_path)
    result = api.import_olx(tmp_path)
    assert result.course_key == DEMO_KEY
    assert result.block_count == 14


@pytest.mark.django_db
def test_import_from_tar_gz_zip_and_fs(tmp_path):
    source = _copy_demo(tmp_path)
    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="course")
    assert api.import_olx(archive, course_key="course-v1:LcX+Demo+Tar").block_count == 14

    zipped = tmp_path / "export.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for path in source.rglob("*"):
            if path.is_file():
                zf.write(path, f"course/{path.relative_to(source)}")
    assert api.import_olx(zipped, course_key="course-v1:LcX+Demo+Zip").block_count == 14

    memory = MemoryFS()
    for path in source.rglob("*"):
        relative = str(path.relative_to(source))
        if path.is_dir():
            memory.makedirs(relative, recreate=True)
        else:
            memory.writebytes(relative, path.read_bytes())
    assert api.import_olx(memory, course_key="course-v1:LcX+Demo+Mem").block_count == 14
    assert CourseRun.objects.count() == 3


@pytest.mark.django_db
def test_course_key_may_be_given_as_a_key_object(tmp_path):
    from opaque_keys.edx.keys import CourseKey

    result = api.import_olx(DEMO_COURSE, course_key=CourseKey.from_string("course-v1:LcX+Other+1"))
    assert result.course_key == "course-v1:LcX+Other+1"


@pytest.mark.django_db
def test_a_missing_pointer_file_is_reported_and_the_rest_imports(tmp_path):
    source = _copy_demo(tmp_path)
    (source / "problem" / "orbit-question.xml").unlink()
    result = api.import_olx(source)
    assert result.blocks_by_type["problem"] == 1  # kept as an error placeholder (test_import_fidelity.py)
    [problem] = result.problems
    assert (problem.file, problem.line) == ("chapter/going-further.xml", 4)  # the pointer that leads nowhere
    assert problem.block == "problem/orbit-question"
    assert "problem/orbit-question.xml: file not found" in problem.message
    assert result.blocks_by_type["html"] == 3


@pytest.mark.django_db
def test_a_malformed_block_file_is_reported_with_its_line(tmp_path):
    source = _copy_demo(tmp_path)
    (source / "html" / "after-the-question.xml").write_text('<html display_name="x">\n<p>unclosed\n</html>')
    result = api.import_olx(source)
    [problem] = result.problems
    assert problem.file == "html/after-the-question.xml"
    assert problem.line is not None and problem.line >= 2


@pytest.mark.django_db
def test_duplicate_url_names_are_reported(tmp_path):
    source = _copy_demo(tmp_path)
    unit = source / "vertical" / "welcome-unit.xml"
    unit.write_text(unit.read_text().replace("</vertical>", '  <html url_name="welcome-text"/>\n</vertical>'))
    result = api.import_olx(source)
    [problem] = result.problems
    assert "duplicate url_name 'welcome-text'" in problem.message
    assert (problem.file, problem.line) == ("vertical/welcome-unit.xml", 4)


@pytest.mark.django_db
def test_strict_import_refuses_everything_on_a_problem(tmp_path):
    source = _copy_demo(tmp_path)
    (source / "problem" / "orbit-question.xml").unlink()
    before = _row_counts()
    with pytest.raises(api.StrictImportError, match="problem/orbit-question.xml"):
        api.import_olx(source, strict=True)
    assert _row_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("course_xml", "message"),
    [
        ('<course url_name="2026" org="LcX" course="Demo">', "course.xml"),
        ('<!DOCTYPE c [<!ENTITY x "boom">]><course url_name="2026" org="LcX" course="&x;"/>', "course.xml"),
        ('<course org="LcX" course="Demo"/>', "url_name"),
        ('<course url_name="2026" org="Lc X" course="Demo"/>', "course key"),
    ],
)
def test_an_unreadable_course_is_refused_and_writes_nothing(tmp_path, course_xml, message):
    source = _copy_demo(tmp_path)
    (source / "course.xml").write_text(course_xml)
    before = _row_counts()
    with pytest.raises(api.OlxError, match=message):
        api.import_olx(source)
    assert _row_counts() == before


BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><html display_name="x">&lol9;</html>'
)


@pytest.mark.django_db
@pytest.mark.parametrize("attack", ["external entity", "billion laughs"])
def test_hostile_xml_refuses_the_whole_import_and_writes_nothing(tmp_path, attack):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    source = _copy_demo(tmp_path)
    hostile = {
        "external entity": f'<!DOCTYPE h [<!ENTITY leak SYSTEM "file://{secret}">]><html>&leak;</html>',
        "billion laughs": BILLION_LAUGHS,
    }[attack]
    (source / "html" / "after-the-question.xml").write_text(hostile)
    before = _row_counts()
    with pytest.raises(api.OlxError, match="html/after-the-question.xml:1: A DOCTYPE is not allowed in OLX") as refused:
        api.import_olx(source)
    assert "TOP SECRET" not in str(refused.value) and "lollol" not in str(refused.value)
    assert _row_counts() == before


@pytest.mark.django_db
def test_a_zip_bomb_is_refused_and_writes_nothing(tmp_path):
    """A member that inflates past the limit (101 MB of zeros in a 100 KB archive) is refused before reading."""
    from lc_runtime.olx.sources import MAX_MEMBER_BYTES

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in DEMO_COURSE.rglob("*"):
            if path.is_file():
                zf.write(path, f"course/{path.relative_to(DEMO_COURSE)}")
        with zf.open("course/static/zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(MAX_MEMBER_BYTES // len(chunk) + 1):
                member.write(chunk)
    assert bomb.stat().st_size < 1024 * 1024
    before = _row_counts()
    with pytest.raises(api.OlxError, match="zeros.bin"):
        api.import_olx(bomb)
    assert _row_counts() == before


def _tar_with(tmp_path: Path, add) -> Path:
    archive = tmp_path / "hostile.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(DEMO_COURSE, arcname="course")
        add(tar)
    return archive


@pytest.mark.django_db
def test_hostile_archives_are_refused_and_write_nothing(tmp_path):
    def escaping_member(tar):
        data = b"owned"
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    def symlink_member(tar):
        info = tarfile.TarInfo("course/static/passwd")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)

    before = _row_counts()
    with pytest.raises(api.OlxError, match="escapes the archive"):
        api.import_olx(_tar_with(tmp_path, escaping_member))
    with pytest.raises(api.OlxError, match="link"):
        api.import_olx(_tar_with(tmp_path, symlink_member))
    zipped = tmp_path / "hostile.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("course/course.xml", '<course url_name="2026" org="LcX" course="Demo"/>')
        zf.writestr("../outside.xml", "<x/>")
    with pytest.raises(api.OlxError, match="escapes the archive"):
        api.import_olx(zipped)
    assert _row_counts() == before
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.django_db
def test_an_archive_member_with_an_empty_name_is_refused(tmp_path):
    def nameless_member(tar):
        info = tarfile.TarInfo("")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))

    zipped = tmp_path / "nameless.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("course/course.xml", '<course url_name="2026" org="LcX" course="Demo"/>')
        zf.writestr("", "x")
    before = _row_counts()
    with pytest.raises(api.OlxError, match="empty name"):
        api.import_olx(_tar_with(tmp_path, nameless_member))
    with pytest.raises(api.OlxError, match="empty name"):
        api.import_olx(zipped)
    assert _row_counts() == before


@pytest.mark.django_db
def test_a_tar_made_from_inside_the_course_folder_imports(tmp_path):
    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(DEMO_COURSE, arcname=".")  # members ".", "./course.xml", ... as `tar -C course -czf x .` makes
    assert api.import_olx(archive).block_count == 14


@pytest.mark.django_db
def test_something_that_is_no_export_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(api.OlxError, match="no course.xml"):
        api.import_olx(tmp_path)
    with pytest.raises(api.OlxError, match="not an OLX export"):
        api.import_olx(tmp_path / "notes.txt")


@pytest.mark.django_db
def test_reimporting_a_changed_block_updates_only_that_block(tmp_path, make_user):
    source = _copy_demo(tmp_path)
    first = api.import_olx(source)
    body = source / "html" / "welcome-text.html"
    body.write_text(body.read_text().replace("Welcome!", "Welcome back!"))
    second = api.import_olx(source)
    assert (second.created, second.updated) == (0, 1)
    assert second.unchanged == first.created - 1
    assert second.published.entities_published >= 1
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    assert "Welcome back!" in runtime.get_block(usage(DEMO_KEY, "html", "welcome-text")).data


@pytest.mark.django_db
def test_import_without_publish_leaves_learners_nothing(tmp_path, make_user):
    api.import_olx(DEMO_COURSE, publish=False)
    with pytest.raises(api.CourseNotPublished):
        api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    assert api.publish(DEMO_KEY).entities_published == 14
    api.get_runtime(make_user("grace"), course_key=DEMO_KEY)
