"""
Celery tasks, for operators moving many courses: one task imports one course export.

edx-platform's workers already run Celery; queue one ``lc_runtime.tasks.import_course`` per course
and they spread the migration over every machine::

    from celery import current_app
    for path in exports:                       # a path every worker can read (a shared volume)
        current_app.send_task("lc_runtime.tasks.import_course", args=[path])

Each task is idempotent: importing the same export again writes nothing (0 new versions) and an
interrupted import wrote nothing (it is one transaction), so a task can run twice, or be retried,
without harm. The result is :meth:`ImportResult.as_dict`, JSON-ready for any result backend.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from lc_runtime import api

__all__ = ["import_course"]


@shared_task(
    name="lc_runtime.tasks.import_course",
    bind=True,
    # Acknowledge the message only when the import has finished: a worker killed mid-import (deploy,
    # OOM) leaves it on the queue for another worker, which redoes the whole import; nothing of the
    # first attempt was committed, and an import that did commit is a no-op the second time.
    acks_late=True,
    reject_on_worker_lost=True,
    # Database trouble is usually passing (a deadlock, a dropped connection, two workers importing
    # the same course at once: the loser's unique-key error): retry with growing, jittered delays.
    # A bad export (OlxError, StrictImportError) fails at once: retrying cannot fix it.
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=3,
)
def import_course(
    self, source_path: str, course_key: str | None = None, publish: bool = True, strict: bool = False
) -> dict:
    """
    Import the course export at ``source_path`` (see :func:`lc_runtime.api.import_olx`); return the result as a dict.

    ``course_key`` defaults to the run ``course.xml`` names; ``publish`` publishes what changed;
    ``strict`` refuses the import on any problem. The dict names the blocks created and updated, so
    a re-run of an unchanged export reports ``"created": 0, "updated": 0``.
    """
    result = api.import_olx(str(source_path), course_key=course_key, publish=publish, strict=strict)
    return result.as_dict()
