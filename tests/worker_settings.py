"""
Django settings of the Celery worker that ``tests/contract/test_tasks.py`` starts in a subprocess: the test
settings, on the very database the test runs on (a file for SQLite, the MariaDB test database),
passed as JSON in ``LC_RUNTIME_WORKER_DATABASE``.
"""

import json
import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["LC_RUNTIME_WORKER_DATABASE"])}
