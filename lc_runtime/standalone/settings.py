"""
Django settings for running lc-runtime on its own: the CLI, ``make demo`` and the test suite.

Inside edx-platform none of this is used: LMS and Studio install ``lc_runtime`` as a plugin app
and bring their own settings. Everything here can be overridden by environment variables:

``LC_RUNTIME_HOME``
    Folder for the SQLite database and uploaded media (default ``./.lc-runtime``).
``LC_RUNTIME_DB``
    ``sqlite`` (default) or ``mysql`` (MySQL or MariaDB, through PyMySQL).
``LC_RUNTIME_DB_NAME``, ``_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD`` (each prefixed ``LC_RUNTIME_DB``)
    Connection settings for ``mysql`` (defaults: ``lc_runtime``, ``127.0.0.1``, ``3306``, ``root``, empty).
``LC_RUNTIME_SECRET_KEY``
    Signs handler URLs. A fixed development value is used when unset; set it in any real deployment.
``LC_RUNTIME_UNSAFE_CODE``
    ``1`` lets capa problems run their Python in-process, without a sandbox. Development only.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from openedx_content.settings_api import openedx_content_backcompat_apps_to_install

LC_RUNTIME_HOME = Path(os.environ.get("LC_RUNTIME_HOME", ".lc-runtime")).resolve()


def database_from_environment(default_name: str = "lc_runtime") -> dict:
    """The ``default`` database described by the ``LC_RUNTIME_DB*`` environment variables."""
    engine = os.environ.get("LC_RUNTIME_DB", "sqlite").lower()
    if engine in ("mysql", "mariadb"):
        import pymysql

        pymysql.install_as_MySQLdb()
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("LC_RUNTIME_DB_NAME", default_name),
            "HOST": os.environ.get("LC_RUNTIME_DB_HOST", "127.0.0.1"),
            "PORT": os.environ.get("LC_RUNTIME_DB_PORT", "3306"),
            "USER": os.environ.get("LC_RUNTIME_DB_USER", "root"),
            "PASSWORD": os.environ.get("LC_RUNTIME_DB_PASSWORD", ""),
            "OPTIONS": {
                "charset": "utf8mb4",
                "isolation_level": "read committed",
                # openedx-core's publish query nests one IN (SELECT ...) per level of version dependencies;
                # with MariaDB's exhaustive join-order search (depth 62) a course with selectors spent tens of
                # seconds planning each publish. 0 lets the server pick a search depth: 13 s instead of 173 s
                # for two selector tests (tests/test_selectors.py, MariaDB 10.11).
                "init_command": "SET SESSION optimizer_search_depth=0",
            },
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"},
        }
    if engine != "sqlite":
        raise ValueError(f"LC_RUNTIME_DB must be 'sqlite' or 'mysql', not {engine!r}")
    LC_RUNTIME_HOME.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LC_RUNTIME_DB_NAME", str(LC_RUNTIME_HOME / "db.sqlite3")),
        # A unit of work reads before it writes: in SQLite's default (deferred) mode two such
        # transactions fail with "database is locked" instead of waiting. IMMEDIATE takes the write
        # lock at BEGIN, so concurrent requests queue (up to ``timeout`` seconds) and then succeed.
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
    }


SECRET_KEY = os.environ.get("LC_RUNTIME_SECRET_KEY", "lc-runtime-development-only-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {"default": database_from_environment()}

def _xblocks_contrib_templates() -> list[str]:
    """The Django template folders of xblocks-contrib's capa and discussion blocks, found without importing them."""
    spec = importlib.util.find_spec("xblocks_contrib")
    if spec is None or not spec.submodule_search_locations:
        return []
    package = Path(next(iter(spec.submodule_search_locations)))
    return [str(package / "problem" / "capa" / "templates"), str(package / "discussion" / "templates")]


def _installed(*modules: str) -> list[str]:
    """``modules`` if the package of the first is installed (the ``[blocks]`` extra), else none."""
    return list(modules) if importlib.util.find_spec(modules[0].split(".")[0]) is not None else []


# The Django apps of the third-party XBlocks in the ``[blocks]`` extra (docs/blocks.md), where installed.
THIRD_PARTY_BLOCK_APPS = [
    # With it, migrations that let edx-submissions' own migrate a new MariaDB database (see its docstring).
    *_installed("submissions", "lc_runtime.standalone.submissions_on_mariadb.apps.SubmissionsOnMariaDBConfig"),
    *_installed(
        "openassessment",
        "openassessment.workflow",
        "openassessment.assessment",
        "openassessment.fileupload",
        "openassessment.staffgrader",
        "openassessment.xblock",
    ),
    *_installed("lti_consumer"),
    # Not bulk_grades (staff-graded-xblock's CSV grading): its migrations depend on edx-platform's courseware app.
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "openedx_content",
    *openedx_content_backcompat_apps_to_install(),
    # Needed by the core blocks from xblocks-contrib: video imports into edxval, which uses waffle.
    # (Capa and discussion render Django templates shipped in xblocks-contrib: their folders are in
    # TEMPLATES below rather than their apps here, since installing either app imports every block of
    # the package, capa's scientific stack with it, in every process, a CLI call's included.)
    "waffle",
    "edxval",
    # Dates per learner (content dates written on publish, personal dates, relative dates): edx-platform's store.
    "edx_when",
    # Completion per learner and block (the ``completion`` service): edx-platform's store.
    "completion",
    # The tracker blocks and edx-completion emit to (``eventtracking.tracker.emit``), as edx-platform configures it.
    "eventtracking.django.apps.EventTrackingConfig",
    *THIRD_PARTY_BLOCK_APPS,
    "lc_runtime",
    # The workbench (lc-runtime serve): its templates.
    "lc_runtime.workbench.apps.WorkbenchConfig",
    # Switches on what an LMS operator would (completion tracking) when the standalone database is migrated.
    "lc_runtime.standalone.apps.StandaloneConfig",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "lc_runtime.web.middleware.UnitOfWorkMiddleware",
]

ROOT_URLCONF = "lc_runtime.standalone.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": _xblocks_contrib_templates(),
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
        ]},
    }
]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lc-runtime"},
}

STATIC_URL = "/lms-static/"
OPENEDX_LEARNING = {
    "MEDIA": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(LC_RUNTIME_HOME / "media")},
    }
}

LOGIN_URL = "workbench:login"
LOGIN_REDIRECT_URL = "workbench:courses"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {
        # The core blocks log a warning for every OLX attribute they do not know; imports collect those.
        "xblock": {"level": "ERROR"},
        "xblocks_contrib": {"level": "ERROR"},
        "edxval": {"level": "ERROR"},
    },
}

# Settings the core blocks from xblocks-contrib read (see docs/blocks.md).
FEATURES: dict = {}
PLATFORM_NAME = "lc-runtime"
# Which edx-platform service this is ("lms" or "cms"): lti-consumer-xblock reads it. One host serves both here.
SERVICE_VARIANT = "lms"
LMS_ROOT_URL = "http://localhost:8000"
LMS_BASE = "localhost:8000"
COMPLETION_VIDEO_COMPLETE_PERCENTAGE = 0.95
AI_TRANSLATIONS_API_URL = ""
YOUTUBE = {"API": "", "TEST_TIMEOUT": 1500, "IMAGE_API": ""}
YOUTUBE_API_KEY = None
LANGUAGE_DICT = {"en": "English"}
ALL_LANGUAGES = [["en", "English"]]
TRANSCRIPT_LANG_CACHE_TIMEOUT = 60 * 60 * 24
VIDEO_TRANSCRIPTS_SETTINGS = {
    "VIDEO_TRANSCRIPTS_MAX_BYTES": 3 * 1024 * 1024,
    "STORAGE_KWARGS": {"location": str(LC_RUNTIME_HOME / "transcripts")},
    "DIRECTORY_PREFIX": "video-transcripts/",
}
VIDEO_IMAGE_SETTINGS = {
    "VIDEO_IMAGE_MAX_BYTES": 2 * 1024 * 1024,
    "VIDEO_IMAGE_MIN_BYTES": 2 * 1024,
    "STORAGE_KWARGS": {"location": str(LC_RUNTIME_HOME / "video-images")},
    "DIRECTORY_PREFIX": "video-images/",
}
PIPELINE = {"PIPELINE_ENABLED": False}
REQUIRE_DEBUG = True

# eventtracking (blocks' and edx-completion's own events): one JSON line each on the ``tracking`` logger, as the
# ``publish`` service writes blocks' published events (docs/settings.md, "Tracking log").
EVENT_TRACKING_ENABLED = True
EVENT_TRACKING_BACKENDS = {
    "tracking_logs": {"ENGINE": "eventtracking.backends.logger.LoggerBackend", "OPTIONS": {"name": "tracking"}},
}

# lc-runtime's own settings (all optional; see docs/settings.md).
LC_RUNTIME = {
    "UNSAFE_CODE_EXECUTION": os.environ.get("LC_RUNTIME_UNSAFE_CODE") == "1",
}
