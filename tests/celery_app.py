"""
The Celery app of the real worker that ``tests/contract/test_tasks.py`` starts: Redis on 127.0.0.1:6379 as
broker and result backend (``LC_RUNTIME_TEST_REDIS`` names another). Inside edx-platform the
platform's own app plays this part; ``lc_runtime.tasks`` only declares shared tasks.
"""

from __future__ import annotations

import os

from celery import Celery

REDIS_URL = os.environ.get("LC_RUNTIME_TEST_REDIS", "redis://127.0.0.1:6379/0")

app = Celery("lc_runtime_tests", broker=REDIS_URL, backend=REDIS_URL, include=["lc_runtime.tasks"])
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
