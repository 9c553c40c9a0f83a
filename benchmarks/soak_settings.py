"""Settings of ``make soak``'s server process: the standalone settings with the soak host's URLs."""

from lc_runtime.standalone.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.soak_host"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
