"""
An import killed while it unpacks an archive (SIGKILL: no ``finally`` runs) leaves its unpacked folder
behind; the next import removes it, and leaves alone the folders of imports still running.

A real subprocess unpacks a real archive and is killed with ``os.kill(pid, SIGKILL)`` mid-unpack.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from lc_runtime import api
from lc_runtime.olx.sources import UNPACKED_PREFIX, _host_tag
from tests.conftest import DEMO_COURSE, ROOT

FILLERS = 2000

UNPACK_AND_HOLD = """
import os, sys, time
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
from django.conf import settings
settings.LC_RUNTIME = {**settings.LC_RUNTIME, "IMPORT_UNPACK_DIR": sys.argv[2]}
from lc_runtime.olx.sources import open_course_root
with open_course_root(sys.argv[1]):
    time.sleep(120)
"""


def _big_archive(path: Path) -> Path:
    """The demo course with many files after it, so that unpacking takes a while; ``zz-last`` comes last."""
    fillers = path.parent / "fillers"
    fillers.mkdir()
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        tar.add(DEMO_COURSE, arcname="course")
        for index in range(FILLERS):
            filler = fillers / f"{index:05}.bin"
            filler.write_bytes(os.urandom(4096))
            tar.add(filler, arcname=f"course/static/fillers/{index:05}.bin")
        (fillers / "zz-last").write_text("the last member")
        tar.add(fillers / "zz-last", arcname="course/static/zz-last")
    return path


def _small_archive(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(DEMO_COURSE, arcname="course")
    return path


def test_the_next_import_sweeps_what_a_killed_import_left(db, tmp_path, settings):
    unpack_dir = tmp_path / "unpack"
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "IMPORT_UNPACK_DIR": str(unpack_dir)}
    archive = _big_archive(tmp_path / "big.tar.gz")
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", UNPACK_AND_HOLD, str(archive), str(unpack_dir)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            started = [folder for folder in unpack_dir.glob(f"{UNPACKED_PREFIX}*") if any(folder.iterdir())]
            if started:
                break
            time.sleep(0.002)
        assert child.poll() is None, "the unpacking process ended on its own"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)  # reaped: its pid is gone, as it is once a killed worker's parent has seen it die
    assert child.returncode == -signal.SIGKILL
    leftovers = list(unpack_dir.glob(f"{UNPACKED_PREFIX}*"))
    assert len(leftovers) == 1
    assert not (leftovers[0] / "course" / "static" / "zz-last").exists(), "killed after the unpack, not during it"
    # A running import's folder (this process is alive) and a folder that is not ours must stay.
    running = unpack_dir / f"{UNPACKED_PREFIX}{_host_tag()}.{os.getpid()}.{int(time.time())}.running"
    running.mkdir()
    foreign = unpack_dir / "somebody-elses-folder"
    foreign.mkdir()

    result = api.import_olx(_small_archive(tmp_path / "small.tar.gz"))

    assert result.problems == []
    assert not leftovers[0].exists()
    assert sorted(unpack_dir.iterdir()) == sorted([running, foreign])  # the import's own folder is gone too


@pytest.mark.parametrize("source", ["folder", "archive"])
def test_old_leftovers_are_swept_whoever_made_them(db, tmp_path, settings, source):
    """A folder from another host, or whose pid was reused, goes once it is older than a day."""
    unpack_dir = tmp_path / "unpack"
    unpack_dir.mkdir()
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "IMPORT_UNPACK_DIR": str(unpack_dir)}
    two_days_ago = int(time.time()) - 2 * 24 * 60 * 60
    old = unpack_dir / f"{UNPACKED_PREFIX}otherhost000.{os.getpid()}.{two_days_ago}.abcdefgh"
    (old / "course").mkdir(parents=True)
    recent = unpack_dir / f"{UNPACKED_PREFIX}otherhost000.{os.getpid()}.{int(time.time())}.ijklmnop"
    recent.mkdir()
    # Its mtime is old, as a tar packed from inside its folder leaves it ("./" carries the archive's
    # date): a running import's folder is aged by the start time in its name, not by that.
    os.utime(recent, (two_days_ago, two_days_ago))
    api.import_olx(DEMO_COURSE if source == "folder" else _small_archive(tmp_path / "small.tar.gz"))
    assert sorted(unpack_dir.iterdir()) == [recent]
