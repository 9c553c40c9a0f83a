"""Test settings: the standalone settings, on SQLite by default or MariaDB with LC_RUNTIME_TEST_DB=mysql."""

import os
import tempfile

os.environ.setdefault("LC_RUNTIME_HOME", tempfile.mkdtemp(prefix="lc-runtime-test-"))
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
