"""
A cache backend for the snapshot test: it never hits (so every tree load reads the database) and
remembers every value written under every key (so the test sees what each load would have cached).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.locmem import LocMemCache

WRITES: list[tuple[str, Any]] = []
_lock = threading.Lock()


class RecordingMissCache(LocMemCache):
    """A real Django cache that misses every ``get`` and records every ``set`` in :data:`WRITES`."""

    def get(self, key, default=None, version=None):  # noqa: ARG002 - the point is to never hit
        return default

    def set(self, key, value, timeout=None, version=None) -> None:  # noqa: ARG002
        with _lock:
            WRITES.append((key, value))
