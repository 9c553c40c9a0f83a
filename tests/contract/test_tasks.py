"""
``lc_runtime.tasks.import_course``: eagerly in the test process, and on a real Celery worker in a
subprocess with Redis (127.0.0.1:6379) as broker, on the test's own database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import connection
from openedx_content.models_api import PublishableEntityVersion

from lc_runtime import api
from lc_runtime.models import CourseRun
from lc_runtime.tasks import import_course
from tests.conftest import DEMO_COURSE, DEMO_KEY, ROOT, redis_answers

WORKER_TIMEOUT = 180  # seconds for the worker to start and import the demo course twice


@pytest.mark.django_db
def test_the_task_imports_eagerly_and_again_writes_nothing():
    first = import_course.apply(args=[str(DEMO_COURSE)]).get()
    versions = PublishableEntityVersion.objects.count()

    again = import_course.apply(args=[str(DEMO_COURSE)], kwargs={"publish": True}).get()

    assert first["course_key"] == DEMO_KEY and first["created"] == 14 == versions
    assert first["published"]["entities_published"] == 14
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 14)
    assert again["created_blocks"] == again["updated_blocks"] == []
    assert PublishableEntityVersion.objects.count() == versions
    json.dumps(again)  # JSON-ready for any result backend


@pytest.mark.django_db
def test_the_task_imports_as_another_run_and_leaves_a_draft_when_asked():
    result = import_course.apply(
        args=[str(DEMO_COURSE)], kwargs={"course_key": "course-v1:LcX+Demo+Draft", "publish": False}
    ).get()
    assert result["course_key"] == "course-v1:LcX+Demo+Draft"
    assert result["published"] is None
    with pytest.raises(api.CourseNotPublished):
        api.get_runtime(None, course_key="course-v1:LcX+Demo+Draft")


@pytest.mark.django_db
def test_a_bad_export_fails_the_task_at_once_and_writes_nothing(tmp_path):
    (tmp_path / "course.xml").write_text('<course url_name="2026" org="LcX" course="Broken">')
    outcome = import_course.apply(args=[str(tmp_path)])
    assert outcome.failed()
    assert isinstance(outcome.result, api.OlxError) and "course.xml" in str(outcome.result)
    assert outcome.result is not None and not CourseRun.objects.exists()


def test_the_task_is_declared_for_safe_redelivery():
    # A redelivered or retried import is harmless (idempotent, one transaction): acknowledge late.
    assert import_course.name == "lc_runtime.tasks.import_course"
    assert import_course.acks_late and import_course.reject_on_worker_lost
    assert import_course.max_retries == 3


def _database_for_the_worker() -> dict:
    settings = connection.settings_dict
    if connection.vendor == "sqlite" and (settings["NAME"] in ("", ":memory:") or "mode=memory" in settings["NAME"]):
        pytest.skip("the test database is in memory: a worker process cannot share it")
    return {key: settings[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")}


@pytest.mark.django_db(transaction=True)  # committed rows: the worker reads and writes the same database
def test_a_real_worker_imports_a_course_through_redis(tmp_path):
    from tests.celery_app import REDIS_URL, app

    if not redis_answers(REDIS_URL):
        pytest.skip(f"Redis does not answer at {REDIS_URL}: the real-worker test needs it as broker")

    queue = f"lc-runtime-test-{uuid.uuid4().hex[:12]}"  # this test's own queue: no other worker takes the task
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "LC_RUNTIME_WORKER_DATABASE": json.dumps(_database_for_the_worker()),
    }
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker", "--pool=solo", "--concurrency=1",
        "-Q", queue, "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel=INFO",
    ]
    with open(log_path, "w") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        results = []
        for _ in range(2):  # the second import is the idempotent re-run
            sent = app.send_task("lc_runtime.tasks.import_course", args=[str(DEMO_COURSE)], queue=queue)
            try:
                results.append(_result_from_worker(sent, worker, log_path))
            finally:
                sent.forget()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    first, again = results
    assert first["course_key"] == DEMO_KEY and first["created"] == 14, _tail(log_path)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 14)
    # What the worker wrote is in the test's database.
    assert CourseRun.objects.filter(course_key=DEMO_KEY).exists()
    assert PublishableEntityVersion.objects.count() == 14
    assert "lc_runtime.tasks.import_course" in log_path.read_text()


def _result_from_worker(sent, worker: subprocess.Popen, log_path: Path) -> dict:
    """The task's result; fail at once (with the worker's log) if the worker has exited."""
    deadline = time.monotonic() + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with status {worker.returncode}; its log:\n{_tail(log_path)}")
        try:
            return sent.get(timeout=1)
        except CeleryTimeoutError:
            continue
    pytest.fail(f"the worker did not answer in {WORKER_TIMEOUT} s; its log:\n{_tail(log_path)}")


def _tail(path: Path, size: int = 4000) -> str:
    return path.read_text()[-size:] if path.exists() else "(no log)"
