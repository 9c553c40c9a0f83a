"""
``make soak``: a bounded load run against a real server process on loopback.

Many learners and one author use a course for a fixed time through gunicorn serving
:mod:`benchmarks.soak_host` (lc-runtime's URLs, plus stand-ins for the LMS's unit page and Studio's
save-and-publish). Each learner, in its own thread and connection, loads a unit and clicks its counter
(a real handler call through a signed third-party URL), unit after unit; the author retitles a block and
publishes, again and again. Afterwards the database is read back: every click a learner got an answer
for, every learner's and every unit's count, and the author's last acknowledged title must be there.

Prints throughput, p50/p99 latency per request kind, errors and lost writes; exits 1 unless both are 0.
Options: ``--seconds`` (``SOAK_SECONDS``), ``--learners``, ``--units``, ``--workers``, ``--threads``,
``--db sqlite|mysql`` (``SOAK_DB``; MariaDB on 127.0.0.1:3306, database ``lc_runtime_soak``, dropped and
created anew).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
COURSE_KEY = "course-v1:LcX+Soak+2026"
ORG, COURSE, RUN = "LcX", "Soak", "2026"


def usage_key(block_type: str, block_id: str) -> str:
    return f"block-v1:{ORG}+{COURSE}+{RUN}+type@{block_type}+block@{block_id}"


def unit_key(index: int) -> str:
    return usage_key("vertical", f"unit-{index}")


def counter_key(index: int) -> str:
    return usage_key("lc_test_counter", f"counter-{index}")


AUTHORED_BLOCK = usage_key("html", "note-0")


def write_course(folder: Path, units: int) -> Path:
    """A course of ``units`` units, each a counter and an html note (the author retitles the first note)."""
    verticals = "".join(
        f'<vertical url_name="unit-{i}" display_name="Unit {i}">'
        f'<lc_test_counter url_name="counter-{i}" display_name="Counter {i}"/>'
        f'<html url_name="note-{i}" display_name="Note {i}"><![CDATA[<p>Note {i}</p>]]></html>'
        "</vertical>"
        for i in range(units)
    )
    (folder / "course").mkdir(parents=True)
    (folder / "course.xml").write_text(f'<course url_name="{RUN}" org="{ORG}" course="{COURSE}"/>')
    (folder / "course" / f"{RUN}.xml").write_text(
        f'<course start="2026-01-01T00:00:00Z" display_name="Soak course"><chapter url_name="week" display_name="Week">'
        f'<sequential url_name="lesson" display_name="Lesson">{verticals}</sequential></chapter></course>'
    )
    return folder


@dataclass
class Tally:
    """What the threads saw: latencies by request kind, errors, lost writes (all under one lock)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class Client:
    """One keep-alive connection to the server, reopened after a failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise


def learner_loop(name: str, units: int, port: int, stop: threading.Event, tally: Tally, acked: dict) -> None:
    client = Client(port)
    visit = 0
    while not stop.is_set():
        index = visit % units
        visit += 1
        try:
            start = time.perf_counter()
            status, body = client.request("GET", "/soak/unit/?" + urlencode({"learner": name, "unit": unit_key(index)}))
            tally.timed("unit page", time.perf_counter() - start)
            if status != 200:
                tally.error(f"{name} unit page {index}: HTTP {status}: {body[:200]!r}")
                continue
            click_url = json.loads(body)["click_url"]
            start = time.perf_counter()
            status, body = client.request("POST", click_url, b"{}")
            tally.timed("handler", time.perf_counter() - start)
            if status != 200:
                tally.error(f"{name} click {index}: HTTP {status}: {body[:200]!r}")
                continue
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            tally.error(f"{name}: {type(exc).__name__}: {exc}")
            continue
        clicks = json.loads(body)["clicks"]
        expected = acked[name][index] + 1
        if clicks != expected:
            with tally.lock:
                tally.lost.append(f"{name} counter {index}: answered {clicks}, {expected} expected")
        acked[name][index] = clicks


def author_loop(name: str, port: int, stop: threading.Event, tally: Tally, titles: list[str]) -> None:
    client = Client(port)
    edit = 0
    while not stop.is_set():
        edit += 1
        title = f"Note 0, edit {edit}"
        body = json.dumps({"author": name, "block": AUTHORED_BLOCK, "title": title}).encode()
        try:
            start = time.perf_counter()
            status, answer = client.request("POST", "/soak/author/", body)
            tally.timed("edit and publish", time.perf_counter() - start)
        except (OSError, http.client.HTTPException) as exc:
            tally.error(f"author: {type(exc).__name__}: {exc}")
            continue
        if status != 200:
            tally.error(f"author edit {edit}: HTTP {status}: {answer[:200]!r}")
            continue
        titles.append(title)
        stop.wait(0.2)  # an author's pace: a publish every few tenths of a second, not a flood


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server process exited with code {server.returncode} before serving")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer on port {port} within {seconds:.0f} s")


def prepare(args, home: Path) -> None:
    """Environment, database, the course and the users, in this process (the server inherits the environment)."""
    os.environ["LC_RUNTIME_HOME"] = str(home)
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.soak_settings"
    if args.db == "mysql":
        import pymysql

        os.environ.update(LC_RUNTIME_DB="mysql", LC_RUNTIME_DB_NAME="lc_runtime_soak")
        server = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with server.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS lc_runtime_soak")
            cursor.execute("CREATE DATABASE lc_runtime_soak CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        server.close()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from lc_runtime import api

    call_command("migrate", verbosity=0)
    api.import_olx(write_course(home / "export", args.units), strict=True)
    users = get_user_model().objects
    for index in range(args.learners):
        users.create_user(username=f"learner-{index:02}")
    users.create_user(username="author", is_staff=True)
    connections.close_all()


def verify(args, acked: dict, titles: list[str]) -> list[str]:
    """Every acknowledged write, read back from the database: the list of what is missing."""
    from django.contrib.auth import get_user_model

    from lc_runtime import api

    missing = []
    users = get_user_model().objects
    totals = defaultdict(int)
    for name, counts in acked.items():
        runtime = api.get_runtime(users.get(username=name), course_key=COURSE_KEY)
        for index in range(args.units):
            stored = runtime.get_block(counter_key(index)).clicks
            totals[index] += counts[index]
            if stored != counts[index]:
                missing.append(f"{name} counter {index}: {stored} stored, {counts[index]} acknowledged")
    runtime = api.get_runtime(users.get(username="learner-00"), course_key=COURSE_KEY)
    for index in range(args.units):
        stored = runtime.get_block(counter_key(index)).total_clicks
        if stored != totals[index]:
            missing.append(f"counter {index}: total {stored} stored, {totals[index]} acknowledged")
    if titles:
        published = api.get_runtime(users.get(username="author"), course_key=COURSE_KEY).get_block(AUTHORED_BLOCK)
        if published.display_name != titles[-1]:
            missing.append(f"published title {published.display_name!r}, {titles[-1]!r} acknowledged last")
    return missing


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 60)))
    parser.add_argument("--learners", type=int, default=16)
    parser.add_argument("--units", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per server process")
    parser.add_argument("--db", choices=("sqlite", "mysql"), default=os.environ.get("SOAK_DB", "sqlite"))
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    home = Path(tempfile.mkdtemp(prefix="lc-runtime-soak-"))
    prepare(args, home)
    port = free_port()
    log_path = home / "server.log"
    command = [
        sys.executable, "-m", "gunicorn", "benchmarks.soak_wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers), "--threads", str(args.threads), "--worker-class", "gthread",
        "--timeout", "120", "--log-level", "warning",
    ]
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(port, server)
        load_before = os.getloadavg()[0]
        tally = Tally()
        acked = {f"learner-{i:02}": [0] * args.units for i in range(args.learners)}
        titles: list[str] = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=learner_loop, args=(name, args.units, port, stop, tally, acked))
            for name in acked
        ]
        threads.append(threading.Thread(target=author_loop, args=("author", port, stop, tally, titles)))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < args.seconds and server.poll() is None:
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if server.poll() is not None:
            tally.error(f"the server process exited with code {server.returncode} during the run")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    missing = verify(args, acked, titles)

    requests = sum(len(values) for values in tally.latencies.values())
    print(f"soak: {args.seconds:.0f} s, {args.learners} learners and 1 author, {args.units} units, {args.db}, "
          f"gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load average {load_before:.2f} at the start")
    print(f"requests: {requests} in {elapsed:.1f} s = {requests / elapsed:.1f}/s")
    print(f"{'kind':<18}{'count':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, values in sorted(tally.latencies.items()):
        print(f"{kind:<18}{len(values):>8}{len(values) / elapsed:>8.1f}"
              f"{statistics.median(values) * 1000:>9.1f}{percentile(values, 0.99) * 1000:>9.1f}")
    clicks = sum(sum(counts) for counts in acked.values())
    print(f"acknowledged writes: {clicks} clicks, {len(titles)} edits published")
    print(f"errors: {len(tally.errors)}")
    print(f"lost writes: {len(tally.lost) + len(missing)}")
    for line in (tally.errors + tally.lost + missing)[:10]:
        print(f"  {line}")
    failed = bool(tally.errors or tally.lost or missing)
    if failed:
        print(f"kept for a look: {home} (server log: {log_path})")
    else:
        cleanup(args, home)
    return 1 if failed else 0


def cleanup(args, home: Path) -> None:
    """Remove what the run made: its home folder and, on MariaDB, its database."""
    from django.db import connections

    connections.close_all()
    if args.db == "mysql":
        import pymysql

        server = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
        with server.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS lc_runtime_soak")
        server.close()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
