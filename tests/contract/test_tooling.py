"""
Operators' tooling: ``lc-runtime runs``, the import's progress line on a terminal, what re-import
reports, and the ``lc_runtime_*`` Django management commands that run the same code.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import shutil

import pytest
from django.core.management import CommandError, call_command, get_commands

from lc_runtime import api, cli
from lc_runtime.models import CourseRun
from tests.conftest import DEMO_COURSE, DEMO_KEY

RUN_2 = "course-v1:LcX+Demo+2027"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``lc-runtime ARGV`` in-process; return its exit status, stdout and stderr."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def imported(db, capsys):
    assert run(capsys, "import", str(DEMO_COURSE))[0] == 0


# ---- lc-runtime runs


def test_runs_create_list_pin_unpin_and_set(imported, capsys):
    status, out, err = run(capsys, "runs", "create", DEMO_KEY, RUN_2, "--start", "2027-03-01", "--pin", "current")
    assert (status, err) == (0, "")
    snapshot = api.list_snapshots(DEMO_KEY)[0].uuid
    assert out == (f"Created {RUN_2}  (package {DEMO_KEY}; pinned to {snapshot}; start=2027-03-01T00:00:00Z)\n")

    status, out, _ = run(capsys, "runs", "list")
    assert out.splitlines() == [
        f"{DEMO_KEY}  (package {DEMO_KEY}; follows the latest publish; no own dates)",
        f"{RUN_2}  (package {DEMO_KEY}; pinned to {snapshot}; start=2027-03-01T00:00:00Z)",
    ]

    status, out, _ = run(capsys, "runs", "unpin", RUN_2)
    assert out.startswith(f"Unpinned {RUN_2}  (package {DEMO_KEY}; follows the latest publish;")
    status, out, _ = run(capsys, "runs", "pin", RUN_2, snapshot)
    assert f"pinned to {snapshot}" in out
    status, out, _ = run(capsys, "runs", "set", RUN_2, "--start", "none", "--end", "2027-06-30")
    assert out == f"Updated {RUN_2}  (package {DEMO_KEY}; pinned to {snapshot}; end=2027-06-30T00:00:00Z)\n"

    status, out, _ = run(capsys, "runs", "snapshots", RUN_2)
    assert out.startswith(f"{snapshot}  ") and out.rstrip().endswith("14 entities")


def test_runs_as_json(imported, capsys):
    status, out, _ = run(capsys, "runs", "create", DEMO_KEY, RUN_2, "--end", "2027-06-30", "--json")
    created = json.loads(out)
    assert created["course_key"] == RUN_2 and created["run_settings"] == {"end": "2027-06-30T00:00:00Z"}
    status, out, _ = run(capsys, "runs", "list", RUN_2, "--json")
    assert [r["course_key"] for r in json.loads(out)] == [DEMO_KEY, RUN_2]
    status, out, _ = run(capsys, "runs", "pin", RUN_2, "--json")
    pinned = json.loads(out)
    status, out, _ = run(capsys, "runs", "snapshots", DEMO_KEY, "--json")
    assert pinned["pinned_snapshot"] == json.loads(out)[0]["uuid"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("runs", "pin", "course-v1:LcX+Nope+1"), "No course run course-v1:LcX+Nope+1"),
        (("runs", "create", DEMO_KEY, DEMO_KEY), "already exists"),
        (("runs", "create", DEMO_KEY, RUN_2, "--start", "soon"), "start: 'soon' is not a date"),
        (("runs", "pin", DEMO_KEY, "last-week"), "neither 'current' nor the uuid of a publish"),
        (("runs", "set", DEMO_KEY), "give at least one of --start, --end, --enrollment-start, --enrollment-end"),
    ],
)
def test_runs_refusals_are_one_line_and_write_nothing(imported, capsys, argv, message):
    before = list(CourseRun.objects.values_list("course_key", "run_settings", "pinned_publish_log_id"))
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("lc-runtime: ") and message in err and err.count("\n") == 1
    assert list(CourseRun.objects.values_list("course_key", "run_settings", "pinned_publish_log_id")) == before


# ---- import: what changed, progress


def test_reimport_names_what_changed(db, capsys, tmp_path):
    source = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, source)
    run(capsys, "import", str(source))
    body = source / "html" / "welcome-text.html"
    body.write_text(body.read_text().replace("Welcome!", "Welcome back!"))

    status, out, _ = run(capsys, "import", str(source))
    assert "  versions: 0 created, 1 updated, 13 unchanged" in out.splitlines()
    assert "  changed: html/welcome-text" in out.splitlines()
    assert "  new:" not in out

    status, out, _ = run(capsys, "import", str(source), "--json")
    result = json.loads(out)
    assert (result["created_blocks"], result["updated_blocks"]) == ([], [])


def test_a_first_import_does_not_list_every_block_as_new(db, capsys):
    status, out, _ = run(capsys, "import", str(DEMO_COURSE))
    assert "  new:" not in out and "  changed:" not in out


def read_everything(fd: int) -> str:
    """All a pseudo-terminal holds: one read may return only part of it."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_import_progress_on_a_terminal_counts_blocks_and_files(db, capsys, tmp_path, monkeypatch):
    source = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, source)
    (source / "static").mkdir()
    (source / "static" / "notes.txt").write_text("Notes for the course.")
    monkeypatch.delenv("CI", raising=False)
    controller, terminal_fd = os.openpty()
    terminal = os.fdopen(terminal_fd, "w")
    monkeypatch.setattr("sys.stderr", terminal)
    try:
        status = cli.main(["import", str(source)])
        terminal.flush()
        drawn = read_everything(controller)
    finally:
        monkeypatch.undo()
        terminal.close()
        os.close(controller)
    out, err = capsys.readouterr()
    assert status == 0
    assert out.startswith(f"Imported {DEMO_KEY}: 14 blocks")  # stdout keeps the plain summary
    # The bar and the counts, redrawn in place.
    assert re.search(rf"\rImporting {re.escape(str(source))} \[ *= *\] \d+ blocks, [01] files \(\w+\)", drawn)
    assert drawn.rstrip().endswith(f"Importing {source}: 14 blocks, 1 files.")


def test_progress_is_silent_off_a_terminal(db, capsys, tmp_path):
    stream = io.StringIO()
    progress = cli._Progress("Importing", stream=stream)
    api.import_olx(DEMO_COURSE, progress=progress)
    progress.done()
    assert (progress.count, progress.files) == (14, 0)
    assert stream.getvalue() == ""


# ---- management commands


def test_management_commands_do_not_shadow_edx_platform_commands():
    ours = {name for name, app in get_commands().items() if app == "lc_runtime"}
    assert ours >= {"lc_runtime_import", "lc_runtime_export", "lc_runtime_runs"}
    assert not ours & {"import", "export", "runs"}  # Studio has import and export of its own


def test_management_import_and_runs_run_the_cli_code(db):
    out = io.StringIO()
    call_command("lc_runtime_import", str(DEMO_COURSE), "--json", stdout=out)
    assert json.loads(out.getvalue())["block_count"] == 14

    out = io.StringIO()
    call_command("lc_runtime_runs", "create", DEMO_KEY, RUN_2, "--pin", "current", stdout=out)
    assert out.getvalue().startswith(f"Created {RUN_2}  (package {DEMO_KEY}; pinned to ")
    assert out.getvalue().count("\n") == 1

    out = io.StringIO()
    call_command("lc_runtime_runs", "list", "--json", stdout=out)
    assert [r["course_key"] for r in json.loads(out.getvalue())] == [DEMO_KEY, RUN_2]


def test_management_export_writes_what_management_import_reads(db, tmp_path):
    call_command("lc_runtime_import", str(DEMO_COURSE), stdout=io.StringIO())
    out = io.StringIO()
    call_command("lc_runtime_export", DEMO_KEY, str(tmp_path / "demo.tar.gz"), "--json", stdout=out)
    assert json.loads(out.getvalue())["block_count"] == 14

    out = io.StringIO()
    call_command("lc_runtime_import", str(tmp_path / "demo.tar.gz"), "--json", stdout=out)
    again = json.loads(out.getvalue())
    assert again["course_key"] == DEMO_KEY and again["created"] == 0  # the same course, no block new to it
    assert again["block_count"] == 14 and again["problems"] == []
    with pytest.raises(CommandError, match="exist"):
        call_command("lc_runtime_export", DEMO_KEY, str(tmp_path / "demo.tar.gz"), stdout=io.StringIO())


def test_management_command_errors_are_command_errors_and_write_nothing(db, tmp_path):
    (tmp_path / "course.xml").write_text('<course url_name="2026" org="LcX" course="Broken">')
    with pytest.raises(CommandError, match="import refused, nothing was written: course.xml") as refused:
        call_command("lc_runtime_import", str(tmp_path), stdout=io.StringIO(), stderr=io.StringIO())
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match=re.escape("No course run course-v1:LcX+Nope+1")):
        call_command("lc_runtime_runs", "unpin", "course-v1:LcX+Nope+1", stdout=io.StringIO())
    assert not CourseRun.objects.exists()
