"""Shared fixtures: real databases, real XBlocks, real OLX."""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.cache import caches
from hypothesis import settings as hypothesis_settings

# Property tests run the same examples on every run (CI must not fail on an example a run happened to
# find); `HYPOTHESIS_PROFILE=explore make test` draws new examples on each run, to find new bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DEMO_COURSE = EXAMPLES / "demo-course"
DEMO_KEY = "course-v1:LcX+Demo+2026"
LEAF_COURSE = ROOT / "tests" / "fixtures" / "leaf-course"
LEAF_KEY = "course-v1:LcX+Leaf+2026"
UOW_COURSE = ROOT / "tests" / "fixtures" / "uow-course"
UOW_KEY = "course-v1:LcX+Uow+2026"
SELECTOR_COURSE = ROOT / "tests" / "fixtures" / "selector-course"
SELECTOR_KEY = "course-v1:LcX+Sel+2026"
VIDEO_COURSE = ROOT / "tests" / "fixtures" / "video-course"
VIDEO_KEY = "course-v1:LcX+Video+2026"
SHARED = Path(os.environ.get("LC_RUNTIME_SHARED", ROOT.parent / "shared"))


def shared_olx(name: str) -> Path:
    """The folder of a course export in ../shared/olx, or skip the test where it is absent."""
    path = SHARED / "olx" / name / "course"
    if not (path / "course.xml").is_file():
        pytest.skip(f"../shared/olx/{name} is not available")
    return path


def usage(course_key: str, block_type: str, block_id: str) -> str:
    """A usage key string in a course run."""
    return f"block-v1:{course_key.removeprefix('course-v1:')}+type@{block_type}+block@{block_id}"


SELECTOR_UNITS = [
    usage(SELECTOR_KEY, "vertical", name) for name in ("unit_ab", "unit_random", "unit_bank", "unit_rotation")
]
"""The units of the selector course that hold selectors."""
SELECTORS = [usage(SELECTOR_KEY, *ref) for ref in (
    ("split_test", "ab"), ("split_test", "ab2"), ("randomize", "rnd"), ("itembank", "bank"),
    ("library_content", "lib"), ("lc_test_rotation", "rot"),
)]
"""Every selector of the selector course, one of each built-in kind and the test plugin's."""


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at ``url`` (redis://host:port/...)."""
    address = urlsplit(url)
    try:
        with socket.create_connection((address.hostname, address.port or 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def forget_cached_courses() -> None:
    """Empty the shared cache and what this process keeps loaded (trees, outlines): the next read is cold."""
    from lc_runtime.content.courses.api import forget_loaded_trees
    from lc_runtime.outlines.api import forget_recent_outlines

    caches["default"].clear()
    forget_recent_outlines()
    forget_loaded_trees()


@pytest.fixture(autouse=True)
def _fresh_caches():
    from edx_django_utils.cache import RequestCache
    from openedx_content.models_api import Container

    forget_cached_courses()
    # edx-when caches dates in the request cache too (a thread's, cleared by a middleware between requests):
    # a test's dates must not reach the next test, whose rows (and publish ids) may be the same.
    RequestCache.clear_all_namespaces()
    # openedx-core caches ContainerType rows on the classes; transactional tests truncate that table, and
    # a test's rollback removes the rows it created. Forgotten after the test too, so that the next
    # module's fixtures (set up before this one runs again) do not meet a row that is gone.
    Container.reset_cache()
    yield
    Container.reset_cache()


@pytest.fixture
def demo_course(db):
    """The example course, imported and published."""
    from lc_runtime import api

    return api.import_olx(DEMO_COURSE)


@pytest.fixture
def leaf_course(db):
    """A small course of leaf XBlocks from PyPI (done, poll, survey), imported and published."""
    from lc_runtime import api

    return api.import_olx(LEAF_COURSE)


@pytest.fixture
def uow_course(db):
    """A small course of the test plugins' blocks (counters, a faulty handler), imported and published."""
    from lc_runtime import api

    result = api.import_olx(UOW_COURSE, strict=True)
    assert result.problems == []
    return result


@pytest.fixture
def make_user(django_user_model):
    """Create users by name: ``make_user("ada")``, ``make_user("sam", is_staff=True)``."""

    def create(username: str, **extra):
        return django_user_model.objects.create_user(username=username, email=f"{username}@example.com", **extra)

    return create


@pytest.fixture(scope="session")
def edx_tables(django_db_setup, django_db_blocker):
    """edx-platform's learner tables (StudentModule, user course tags: tests/edx_tables.py), made once a session."""
    from tests.edx_tables import create_edx_tables

    with django_db_blocker.unblock():
        create_edx_tables()


@pytest.fixture
def student_module_store(db, edx_tables, settings):
    """Runtimes keep learners' user_state in edx-platform's StudentModule table (LC_RUNTIME["LEARNER_STATE_STORE"])."""
    settings.LC_RUNTIME = {
        **settings.LC_RUNTIME,
        "LEARNER_STATE_STORE": "lc_runtime.content.learners.api:StudentModuleStateStore",
    }
