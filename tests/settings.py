"""Test settings: the standalone settings, on SQLite by default or MariaDB with LC_RUNTIME_TEST_DB=mysql."""

import os
import tempfile

# Each pytest-xdist worker gets its own home (its SQLite file, media and transcripts); the subprocesses a
# worker starts (the Celery worker of test_tasks.py) inherit the variable and so share that worker's home.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_HOME = f"LC_RUNTIME_TEST_HOME_{_WORKER}"
os.environ.setdefault(_HOME, tempfile.mkdtemp(prefix=f"lc-runtime-test-{_WORKER}-"))
os.environ["LC_RUNTIME_HOME"] = os.environ[_HOME]
if os.environ.get("LC_RUNTIME_TEST_DB"):
    os.environ["LC_RUNTIME_DB"] = os.environ["LC_RUNTIME_TEST_DB"]

from lc_runtime.standalone.settings import *  # noqa: E402,F403
from lc_runtime.standalone.settings import database_from_environment  # noqa: E402

DATABASES = {"default": database_from_environment(default_name="test")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["LC_RUNTIME_HOME"], "test.sqlite3")}
else:
    # Parallel runs on one server each take their own database.
    DATABASES["default"]["TEST"]["NAME"] = os.environ.get("LC_RUNTIME_TEST_DB_NAME", "test_lc_runtime")

LC_RUNTIME = {"UNSAFE_CODE_EXECUTION": False}
