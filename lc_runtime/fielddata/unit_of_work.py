"""
The unit of work: every write of a request, committed atomically when the request ends.

``with unit_of_work():`` (or ``@unit_of_work()``) opens one database transaction. Inside it,
learner-state writes are buffered and flushed in one batch per store just before the commit, authored versions
are written inside the same transaction, and events (``runtime.publish``) are queued. Leaving the
block normally commits all of it and then sends the events; an exception rolls everything back and
drops the events. Nested units join the outer one, like ``transaction.atomic(savepoint=False)``:
the outermost unit decides.

Reads inside a unit see its own writes: learner-state reads look in the buffer first, and authored
writes are already in the (uncommitted) transaction.

All or nothing across stores: stores in the transaction (``transactional``, the default: the
LearnerState table, edx-platform's StudentModule) are flushed first, stores outside it (the cache of
authors' preview state) last, so a failing database store leaves them untouched. Their previous values
are read just before they are written, and put back if a later store or the commit fails.

A unit that the database aborts to break a deadlock (or a lock wait that timed out) can be run again
from the start: ``@unit_of_work(deadlock_retries=2)`` re-runs the decorated function, and the
middleware re-runs the request (:func:`is_transient`). Only a whole, outermost unit is run again:
what the aborted attempt did is gone (rolled back, buffered state and queued events dropped), so a
second attempt is the same request arriving a moment later (ADR 0016).
"""

from __future__ import annotations

import copy
import functools
import logging
import random
import time
from collections.abc import Callable
from contextlib import ContextDecorator
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from lc_runtime.content.learners.api import DELETED

__all__ = ["DEADLOCK_RETRIES", "UnitOfWork", "current_unit", "is_transient", "pause_before_retry", "unit_of_work"]

log = logging.getLogger(__name__)


_current: ContextVar[UnitOfWork | None] = ContextVar("lc_runtime_unit_of_work", default=None)


class UnitOfWork:
    """The writes and events of one outermost ``unit_of_work`` block."""

    def __init__(self, using: str) -> None:
        self.using = using
        # store -> state key -> {field name: JSON value or DELETED}, in the order first written.
        # Stores that compare equal share one buffer (see LearnerStateStore).
        self.learner_writes: dict[Any, dict[Any, dict[str, Any]]] = {}
        self.events: list[Callable[[], None]] = []
        self.rollback_only = False
        # What puts back the writes a flush made to stores outside the transaction: (store, changes).
        self._undo: list[tuple[Any, dict[Any, dict[str, Any]]]] = []
        # store -> keys a handler locked while they held nothing: rows the lock may have created,
        # dropped at the flush unless something was written to them (see LearnerFieldData.lock_own_state).
        self.locked_empty: dict[Any, set[Any]] = {}

    def set_rollback(self) -> None:
        """Make the unit roll back when it ends, even without an exception (e.g. a failed request)."""
        self.rollback_only = True

    def stage_learner_write(self, store: Any, key: Any, changes: dict[str, Any]) -> None:
        """Buffer learner-state changes for ``key``; they reach ``store`` when the unit commits."""
        self.learner_writes.setdefault(store, {}).setdefault(key, {}).update(changes)

    def note_locked_empty(self, store: Any, key: Any) -> None:
        """``key`` was locked in ``store`` while it held nothing: drop its row at the flush unless written to."""
        self.locked_empty.setdefault(store, set()).add(key)

    def checkpoint(self) -> tuple[dict[Any, dict[Any, dict[str, Any]]], int]:
        """
        What the unit holds now (buffered learner state, queued events), to :meth:`restore` if what
        follows fails. Opaque to callers.
        """
        writes = {
            store: {key: copy.deepcopy(changes) for key, changes in by_key.items()}
            for store, by_key in self.learner_writes.items()
        }
        return writes, len(self.events)

    def restore(self, checkpoint: tuple[dict[Any, dict[Any, dict[str, Any]]], int]) -> None:
        """Forget the learner-state writes buffered and the events queued since ``checkpoint``."""
        writes, event_count = checkpoint
        self.learner_writes = writes
        del self.events[event_count:]

    def pending_learner_state(self, store: Any, key: Any) -> dict[str, Any] | None:
        """The changes buffered for ``key`` in ``store`` (values may be :data:`DELETED`), or None."""
        return self.learner_writes.get(store, {}).get(key)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` after the unit commits; never if it rolls back."""
        self.events.append(callback)

    def flush(self) -> None:
        """
        Write the buffered learner state, each store's in one ``save`` (inside the unit's transaction):
        transactional stores first, then the others, remembering how to undo what those write; then drop
        the empty rows that locks created and nothing filled (a handler that only reads). If a store
        fails, what the others outside the transaction wrote is undone and the error raised.
        """
        # sorted() is stable: within each kind, stores keep the order they were first written in.
        ordered = sorted(self.learner_writes.items(), key=lambda item: not _is_transactional(item[0]))
        try:
            for store, writes in ordered:
                if not writes:
                    continue
                if not _is_transactional(store):
                    # Recorded before the save: a save that fails halfway is undone too.
                    self._undo.append((store, _undo_changes(store, writes)))
                store.save(writes)
            for store, keys in self.locked_empty.items():
                unused = keys - set(self.learner_writes.get(store, {}))
                if unused:
                    store.drop_empty(unused)
        except BaseException:
            self.undo_untransactional_writes()
            raise
        self.learner_writes = {}
        self.locked_empty = {}

    def undo_untransactional_writes(self) -> None:
        """Put back what :meth:`flush` wrote to stores outside the transaction (the transaction rolled back)."""
        undo, self._undo = self._undo, []
        for store, changes in reversed(undo):
            try:
                store.save(changes)
            except Exception:  # the original failure is the one to report
                log.exception("Could not undo the writes of %r after a failed unit of work", store)


def _is_transactional(store: Any) -> bool:
    """Whether ``store`` writes inside the database transaction (stores say so by ``transactional``)."""
    return getattr(store, "transactional", True)


def _undo_changes(store: Any, writes: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """The changes that turn what ``store`` holds after ``save(writes)`` back into what it holds now."""
    before = store.load(list(writes))
    return {
        key: {name: before.get(key, {}).get(name, DELETED) for name in changes} for key, changes in writes.items()
    }


def current_unit() -> UnitOfWork | None:
    """The unit of work this code runs in, if any."""
    return _current.get()


DEADLOCK_RETRIES = 2
"""How many times the middleware runs a request again after a deadlock (so at most three attempts)."""

# MySQL/MariaDB: ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK. PostgreSQL: serialization_failure, deadlock_detected.
_MYSQL_TRANSIENT = {1205, 1213}
_POSTGRES_TRANSIENT = {"40001", "40P01"}


def is_transient(error: BaseException) -> bool:
    """
    True for a database error that aborted a transaction only because of other transactions running
    at the same time, so that the same work run again from the start should succeed: a deadlock
    (MySQL/MariaDB 1213, PostgreSQL 40P01), a lock wait timeout (1205), a serialization failure
    (40001), SQLite's "database is locked" (its busy timeout ran out).
    """
    if not isinstance(error, DatabaseError):
        return False
    if error.args and isinstance(error.args[0], int) and error.args[0] in _MYSQL_TRANSIENT:
        return True
    if getattr(error.__cause__, "pgcode", None) in _POSTGRES_TRANSIENT:
        return True
    return "database is locked" in str(error)


def pause_before_retry(attempt: int) -> None:
    """Wait a short random time before attempt ``attempt + 1``, so that the requests that met do not meet again."""
    time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


def _send(events: list[Callable[[], None]]) -> None:
    for event in events:
        try:
            event()
        except Exception:  # an event handler's failure must not undo a committed request
            log.exception("Event handler failed after commit")


class unit_of_work(ContextDecorator):  # noqa: N801 - reads like transaction.atomic
    """
    Context manager and decorator: run the block as one unit of work (see the module docstring).

    ``deadlock_retries`` (decorator only: a ``with`` block cannot be run again) re-runs the decorated
    function up to that many times when its unit is aborted by a deadlock or a lock wait timeout
    (:func:`is_transient`), if the unit is the outermost transaction. Give it to functions that can
    be run twice: everything they do through the database and the runtime is undone with the aborted
    attempt, but not what they send elsewhere themselves (an HTTP call, a file written, a cache set).
    """

    def __init__(self, using: str | None = None, *, deadlock_retries: int = 0) -> None:
        self.using = using or DEFAULT_DB_ALIAS
        self.deadlock_retries = deadlock_retries
        self._stack: list[tuple[Any, UnitOfWork | None, Any]] = []

    def _recreate_cm(self) -> unit_of_work:
        # As a decorator, one instance serves every call, in every thread: give each call its own
        # instance, so that the entries of ``_stack`` never belong to another thread's unit.
        return type(self)(self.using)

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        if not self.deadlock_retries:
            return super().__call__(func)

        @functools.wraps(func)
        def run_again_after_deadlocks(*args: Any, **kwargs: Any) -> Any:
            attempt = 0
            while True:
                # Inside another unit or transaction, the abort belongs to the enclosing one: it alone may retry.
                outermost = _current.get() is None and not connections[self.using].in_atomic_block
                try:
                    with self._recreate_cm():
                        return func(*args, **kwargs)
                except DatabaseError as error:
                    if not (outermost and attempt < self.deadlock_retries and is_transient(error)):
                        raise
                    log.warning("%s: running the unit of work again after %s", func.__qualname__, error)
                    pause_before_retry(attempt)
                    attempt += 1

        return run_again_after_deadlocks

    def __enter__(self) -> UnitOfWork:
        if self.deadlock_retries:
            raise TypeError("deadlock_retries needs unit_of_work as a decorator: a with block cannot be run again")
        outer = _current.get()
        if outer is not None:
            if outer.using != self.using:
                raise RuntimeError("A nested unit of work must use the same database as the outer one")
            atomic = transaction.atomic(using=self.using, savepoint=False)
            atomic.__enter__()
            self._stack.append((atomic, None, None))
            return outer
        unit = UnitOfWork(self.using)
        atomic = transaction.atomic(using=self.using)
        atomic.__enter__()
        token = _current.set(unit)
        self._stack.append((atomic, unit, token))
        return unit

    def __exit__(self, exc_type, exc, tb) -> bool:
        atomic, unit, token = self._stack.pop()
        if unit is None:  # joined an outer unit: it decides
            return bool(atomic.__exit__(exc_type, exc, tb))
        try:
            if unit.rollback_only:
                transaction.set_rollback(True, using=self.using)
            elif exc_type is None and not connections[self.using].needs_rollback:
                # (needs_rollback: a joined unit failed and the caller caught it; like Django's
                # atomic(savepoint=False), the whole unit now rolls back, without a flush.)
                try:
                    unit.flush()
                except BaseException as flush_error:
                    atomic.__exit__(type(flush_error), flush_error, flush_error.__traceback__)
                    raise
            committed = exc_type is None and not connections[self.using].needs_rollback
            try:
                atomic.__exit__(exc_type, exc, tb)
            except BaseException:  # the commit failed: nothing of the unit may stay
                unit.undo_untransactional_writes()
                raise
        finally:
            _current.reset(token)
        if committed and unit.events:
            connection = connections[self.using]
            if connection.in_atomic_block:
                # Someone else's transaction encloses ours: our events wait for theirs.
                events = list(unit.events)
                transaction.on_commit(lambda: _send(events), using=self.using)
            else:
                _send(unit.events)
        return False
