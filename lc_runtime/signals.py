"""
What lc-runtime tells the rest of the platform, once the transaction that did it has committed.

- :data:`course_published`, a Django signal shaped like edx-platform's
  ``SignalHandler.course_published`` (``sender``, ``course_key``): what CourseOverview, block structures,
  learning_sequences, edx-when, search and discussions rebuild on.
- openedx-events (``openedx_events.content_authoring.signals``): ``COURSE_IMPORT_COMPLETED``,
  ``COURSE_CREATED``, ``COURSE_CATALOG_INFO_CHANGED``, and the ``XBLOCK_*`` events of structure edits.

Everything is sent after the commit of the outermost transaction, never for one that rolls back, and
once per signal and subject in that transaction: a bulk of edits in one transaction is one
``course_published`` per run. Data that changes within a transaction (catalog data) is read when it
is sent, after the commit. Outside a transaction it is sent at once. Receivers are called robustly
(a failing receiver is logged and the others still run), as edx-platform sends its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.dispatch import Signal

__all__ = ["course_published", "send_after_commit", "send_event_after_commit", "suppressed_course_published"]

log = logging.getLogger(__name__)

course_published = Signal()
"""
Sent with ``course_key`` (a CourseKey) once per course run whose published content changed: a publish of
its package (to every run that follows it, not the pinned ones), an import that publishes, a new run, a
pin that moves, a change of the run's own dates. ``sender`` is ``LearningCoreRuntime``'s module name.
"""

SENDER = "lc_runtime"
_quiet = threading.local()


@contextmanager
def suppressed_course_published() -> Iterator[None]:
    """No ``course_published`` is sent for what happens inside, in this thread (a bulk operation without signals)."""
    depth = getattr(_quiet, "depth", 0)
    _quiet.depth = depth + 1
    try:
        yield
    finally:
        _quiet.depth = depth


class _Pending:
    """One signal to send on commit; its ``key`` makes a second request in the same transaction a no-op."""

    def __init__(self, key: Hashable, send: Callable[[], None]) -> None:
        self.key = key
        self.send = send
        self.sent = False

    def __call__(self) -> None:
        self.sent = True
        self.send()


def _pending(key: Hashable) -> _Pending | None:
    """What the current transaction will send for ``key`` on commit (a rolled-back savepoint's will not be)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    # Django keeps the callbacks of the transaction (minus those of rolled-back savepoints) in this list.
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _Pending) and entry[1].key == key and not entry[1].sent:
            return entry[1]
    return None


def _on_commit(key: Hashable, send: Callable[[], None]) -> None:
    """Send on commit, once per ``key`` per transaction (a later request for the key is the same send)."""
    if _pending(key) is None:
        transaction.on_commit(_Pending(key, send), robust=True)


def send_after_commit(signal: Signal, **kwargs) -> None:
    """Send the Django ``signal`` with ``kwargs`` (robustly, from :data:`SENDER`) after commit, once per kwargs."""
    if signal is course_published and getattr(_quiet, "depth", 0):
        return
    key = (id(signal), tuple(sorted((name, str(value)) for name, value in kwargs.items())))

    def send() -> None:
        for receiver, result in signal.send_robust(sender=SENDER, **kwargs):
            if isinstance(result, Exception):
                log.error("A receiver of %s failed: %s", receiver, result, exc_info=result)

    _on_commit(key, send)


def send_event_after_commit(event, key: Hashable, data: Callable[[], dict] | None = None, **fixed) -> None:
    """
    Send the openedx-events ``event`` after commit, once per ``key`` in the transaction, with ``fixed``
    data, or with what ``data()`` returns then: data read after the commit is what the commit kept (a
    savepoint rolled back in between takes its changes with it).
    """
    _on_commit((event.event_type, key), lambda: event.send_event(**(data() if data is not None else fixed)))
