"""
lc-runtime: an XBlock runtime for Open edX whose courses live in Learning Core (openedx-core).

The stable entry point is :mod:`lc_runtime.api`. To use it outside edx-platform (a script, a notebook,
the README's examples), call :func:`setup` first.
"""

from __future__ import annotations

import os

__version__ = "0.1.0"


def setup(home: str | os.PathLike | None = None) -> None:
    """
    Make lc-runtime usable on its own: Django configured with the standalone settings and its database up
    to date, as the ``lc-runtime`` command has it.

    ``home`` is the folder of the SQLite database and media (default: ``LC_RUNTIME_HOME``, else
    ``./.lc-runtime``, the command's and ``make demo``'s). The first call in a new home migrates its database
    (seconds; counted on a terminal). Where Django is configured already (inside edx-platform, under a test
    runner, after an earlier call), only what is missing is done: ``django.setup()``, and the migrations for
    the standalone settings. MySQL or MariaDB: the ``LC_RUNTIME_DB*`` environment variables
    (``lc_runtime.standalone.settings``).

    >>> import lc_runtime
    >>> lc_runtime.setup()
    >>> from lc_runtime import api
    """
    from lc_runtime.cli import setup_standalone

    setup_standalone(home)
