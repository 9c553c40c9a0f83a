"""
Sphinx configuration for lc-runtime's documentation (``make docs``).

The build is offline (no intersphinx, no remote theme assets) and runs with ``-W``: every warning is
an error. The Markdown pages are read by MyST; the API reference is autodoc over the package, which
needs Django configured: the standalone settings, with no database opened and no migration run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure_django() -> None:
    """
    ``django.setup()`` with the standalone settings, unless Django is configured already (a build run
    inside the test suite, whose settings are set up). Importing the standalone settings creates
    ``LC_RUNTIME_HOME`` (and names, without opening, a SQLite database in it): point it at a folder under
    ``build/``, so a docs build touches no one's home and no database.
    """
    from django.conf import settings

    if settings.configured:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lc_runtime.standalone.settings")
    if os.environ["DJANGO_SETTINGS_MODULE"] == "lc_runtime.standalone.settings":
        os.environ["LC_RUNTIME_HOME"] = str(ROOT / "build" / "docs-home")
        os.environ["LC_RUNTIME_DB"] = "sqlite"
    import django

    django.setup()


_configure_django()

from lc_runtime import __version__  # noqa: E402  (after Django is configured)

project = "lc-runtime"
author = "lc-runtime contributors"
copyright = "2026, lc-runtime contributors"  # noqa: A001  (Sphinx's name for it)
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
