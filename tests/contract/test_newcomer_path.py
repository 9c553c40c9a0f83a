"""
What a newcomer tried, and what went wrong (issue 13's "Why"): each case, as a test of what happens now.
"""

from __future__ import annotations

import html as html_module
import os
import re

import pytest

from lc_runtime import api
from tests.conftest import DEMO_KEY, usage

ORBIT_QUESTION = usage(DEMO_KEY, "problem", "orbit-question")


def test_problem_text_is_escaped_in_capas_data_content_attribute(demo_course, make_user):
    """
    capa puts its HTML, passed through the ``replace_urls`` service, into ``data-content="..."``. A
    ``SafeString`` handed back unchanged (nothing to rewrite) left it unescaped: stray ``"`` and
    ``data-graded="True">`` lines in the page.
    """
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    page = runtime.render(runtime.get_block(ORBIT_QUESTION), "student_view").content
    (content,) = re.findall(r'data-content="([^"]*)"', page)
    assert "<" not in content and "&lt;" in content
    assert "Martian year" in html_module.unescape(content)


def test_an_export_path_ending_in_zip_writes_a_zip(demo_course, tmp_path, capsys):
    """``lc-runtime export KEY x.zip`` wrote a folder named ``x.zip``."""
    import zipfile

    from lc_runtime import cli

    dest = tmp_path / "demo.zip"
    assert cli.main(["export", DEMO_KEY, str(dest)]) == 0
    assert dest.is_file() and zipfile.is_zipfile(dest)
    with zipfile.ZipFile(dest) as archive:
        assert "course/course.xml" in archive.namelist()
    copy = api.import_olx(dest, course_key="course-v1:LcX+Demo+Zip")
    assert copy.problems == [] and copy.block_count == demo_course.block_count


def run_cli(home, *args: str, terminal: bool = False, **environment_overrides: str) -> tuple[int, str]:
    """``lc-runtime ARGS`` in a process of its own, with ``home`` as its home folder: (status, its output)."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "LC_RUNTIME_HOME": str(home), "LC_RUNTIME_DB": "sqlite"}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    environment.pop("LC_RUNTIME_DB_NAME", None)
    environment.update(environment_overrides)
    command = [sys.executable, "-m", "lc_runtime.cli", *args]
    if not terminal:
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
        return done.returncode, done.stdout + done.stderr
    import pty

    output = bytearray()

    def read(fd: int) -> bytes:
        data = os.read(fd, 4096)
        output.extend(data)
        return data

    saved = dict(os.environ)  # pty.spawn's child takes this process's environment
    try:
        os.environ.clear()
        os.environ.update(environment)
        status = pty.spawn(command, read)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_a_missing_export_or_a_bad_key_is_refused_before_the_database_is_prepared(tmp_path):
    """The import of a missing path waited (a new home's migrations) and never said the path did not exist."""
    home = tmp_path / "home"
    status, output = run_cli(home, "import", str(tmp_path / "nowhere"))
    assert status == 2
    refused = f"lc-runtime: import refused, nothing was written: {tmp_path / 'nowhere'}: no such file or folder"
    assert output.strip() == refused
    status, output = run_cli(home, "tree", "course-v1:not a key")
    assert (status, output.strip()) == (2, "lc-runtime: Not a course key: 'course-v1:not a key'")
    assert not home.exists()  # nothing was prepared: no database, no migrations


def test_a_new_home_shows_its_migrations_on_a_terminal_and_nothing_elsewhere(tmp_path):
    """A new home's first call waited in silence while its database was migrated."""
    status, output = run_cli(tmp_path / "terminal", "runs", "list", terminal=True)
    assert status == 0
    counts = re.findall(r"preparing the database \S+: (\d+) of (\d+) migrations", output)
    assert counts[0][0] == "0" and counts[-1][0] == counts[-1][1] != "0"
    status, output = run_cli(tmp_path / "pipe", "runs", "list")
    assert status == 0 and "preparing the database" not in output


def test_a_mariadb_database_that_does_not_exist_is_one_line(tmp_path):
    """A MariaDB database that did not exist gave a raw traceback."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=2).close()
    except OSError:
        pytest.skip("MariaDB does not answer on 127.0.0.1:3306")
    status, output = run_cli(tmp_path, "runs", "list", LC_RUNTIME_DB="mysql", LC_RUNTIME_DB_NAME="lc_no_such_db")
    assert status == 2
    assert output.strip() == (
        "lc-runtime: cannot use the mysql database 'lc_no_such_db' on 127.0.0.1:3306: Unknown database "
        "'lc_no_such_db'; create it (CREATE DATABASE lc_no_such_db CHARACTER SET utf8mb4) or name another "
        "with LC_RUNTIME_DB_NAME"
    )


def test_the_demo_and_later_commands_share_one_home(tmp_path):
    """The demo's course was not found by later CLI calls: ``make demo`` used a home of its own."""
    import os
    import subprocess
    import sys

    from tests.conftest import DEMO_COURSE, ROOT

    demo_recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "LC_RUNTIME_HOME" not in demo_recipe  # the command's own default home

    environment = {**os.environ, "LC_RUNTIME_DB": "sqlite"}
    for name in ("DJANGO_SETTINGS_MODULE", "LC_RUNTIME_DB_NAME", "LC_RUNTIME_HOME"):
        environment.pop(name, None)

    def lc_runtime(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lc_runtime.cli", *args], cwd=tmp_path, env=environment,
                              capture_output=True, text=True, timeout=300)

    assert lc_runtime("import", str(DEMO_COURSE)).returncode == 0
    later = lc_runtime("tree", DEMO_KEY)
    assert later.returncode == 0 and "Martian year" in later.stdout
    assert (tmp_path / ".lc-runtime" / "db.sqlite3").is_file()


@pytest.mark.parametrize("name", ["oxa-kitchen-sink", "openedx-test-course", "harvardx-studio-advanced"])
def test_make_bench_walks_every_shared_course(name, db, make_user, capsys):
    """``make bench`` crashed on openedx-test-course ("not in this learner's variant"): its walk, per course."""
    from benchmarks.run import SHARED_COURSES, bench_shared_course
    from tests.conftest import shared_olx

    assert name in SHARED_COURSES
    row = bench_shared_course(name, shared_olx(name), make_user("bench-learner"))
    assert row["units"] > 0 and row["unit_render"]["median"] > 0
    assert row["reimport_updated"] == 0


@pytest.mark.parametrize("args", [
    ["--help"], ["import", "--help"], ["tree", "course-v1:not a key"], ["import", "/no/such/export"],
    ["render", "not-a-usage-key", "--user", "ada"], ["no-such-command"], ["serve", "--host", "0.0.0.0"],
])
def test_help_and_errors_answer_before_django_is_set_up(args):
    """Every call took 4-10 s: help and bad arguments now answer without configuring Django or its apps."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from lc_runtime import cli\n"
        "try:\n"
        f"    status = cli.main({args!r})\n"
        "except SystemExit as exit:\n"
        "    status = exit.code\n"
        "from django.apps import apps\n"
        "print('STATUS', status, 'APPS_READY', apps.ready, 'XBLOCKS_LOADED', 'xblocks_contrib' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})
    last = done.stdout.strip().splitlines()[-1]
    status = 0 if args[-1] == "--help" else 2
    assert last == f"STATUS {status} APPS_READY False XBLOCKS_LOADED False", done.stdout + done.stderr


def test_serve_beyond_this_machine_needs_a_secret_key_of_its_own(tmp_path):
    """The standalone settings' development SECRET_KEY is public: on 0.0.0.0 anyone could forge sessions."""
    status, output = run_cli(tmp_path / "home", "serve", "--host", "0.0.0.0", "--port", "0")
    assert status == 2 and "serve refused on 0.0.0.0" in output and "LC_RUNTIME_SECRET_KEY" in output
    assert not (tmp_path / "home").exists()
