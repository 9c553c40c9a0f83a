"""
Where learner-scoped field values are stored: the learner-state stores.

A store holds one JSON object per :class:`StateKey`. The default store is the
:class:`~lc_runtime.content.learners.models.LearnerState` table; edx-platform can plug in a store
backed by its StudentModule through ``LC_RUNTIME["LEARNER_STATE_STORE"]``. Authors trying blocks in a
draft (Studio) runtime keep their state apart, in ``LC_RUNTIME["PREVIEW_STATE_STORE"]``: by default
:class:`CacheLearnerStateStore`, ephemeral, in Django's cache.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from django.core.cache import caches
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.learners.models import LearnerState
from lc_runtime.content.learners.upserts import touching_upsert

ALL_LEARNERS = 0
"""The user id under which state shared by all learners (``user_state_summary``) is kept."""


class _Deleted:
    """Marks a field deleted in a change to stored state (``del block.field``)."""

    def __repr__(self) -> str:
        return "DELETED"

    def __deepcopy__(self, memo) -> _Deleted:
        return self  # one marker: buffered changes are copied, and compared with ``is``


DELETED = _Deleted()


def merged_state(state: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with ``changes`` applied: a value sets its field, :data:`DELETED` removes it."""
    merged = dict(state)
    for name, value in changes.items():
        if value is DELETED:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


class StateKey(NamedTuple):
    """Names one stored JSON object of learner state."""

    scope: str
    user_id: int
    course_key: str
    block_key: str


class LearnerStateStore(Protocol):
    """
    Where learner-scoped field values live. Implement both methods to back the runtime with another store.

    A unit of work buffers writes per store and hands each store its own at the end. Stores that
    compare equal share one buffer, so that every runtime of a request reads what another one wrote
    before the commit: give a store ``__eq__`` and ``__hash__`` (ours compare equal per class).

    A store that writes outside the database transaction (a cache) sets the class attribute
    ``transactional = False``: the unit of work then flushes it after the stores in the transaction,
    reads its previous values first (one ``load``) and puts them back if a later store or the commit
    fails. Without the attribute a store is taken to write in the transaction.
    """

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """The stored object of each key that has one (keys with nothing stored are left out). One query."""

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """Merge ``changes`` (field -> JSON value, or :data:`DELETED`) into the stored objects."""


class LockingLearnerStateStore(LearnerStateStore, Protocol):
    """
    A store that can also serialise writers: the runtime locks a learner's state of a block before a
    handler of that block runs, so one learner's simultaneous requests to one block run one after the
    other, each reading what the previous one stored (ADR 0016). A store without ``lock`` gets no such
    guarantee: its handlers read, and merge their writes per field, without waiting for each other.
    """

    def lock(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """
        Hold ``keys`` until the current transaction ends (wait while another transaction holds one),
        and return the state of each key as it is now: committed by whoever held it before, whatever
        the isolation level (``{}`` for a key with nothing stored). A key with nothing stored may be
        created, empty, to lock it.
        """

    def drop_empty(self, keys: Iterable[StateKey]) -> None:
        """Delete what is stored for those of ``keys`` that hold nothing (rows :meth:`lock` created, left empty)."""


class DjangoLearnerStateStore:
    """The default store: one :class:`LearnerState` row per key."""

    def __eq__(self, other: object) -> bool:
        # Every instance reaches the same table: a unit of work buffers their writes together.
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))

    @staticmethod
    def _filter(keys: Iterable[StateKey]) -> Q:
        """
        The rows of ``keys``: one ``block_key IN (...)`` per (scope, user, course run).

        A unit's keys fall into a handful of such groups whatever its size, so the condition stays
        small (one OR term per key would exceed SQLite's expression depth past about 1,000 keys).
        """
        groups: dict[tuple[str, int, str], set[str]] = {}
        for key in keys:
            groups.setdefault((key.scope, key.user_id, key.course_key), set()).add(key.block_key)
        condition = Q(pk__in=[])
        for (scope, user_id, course_key), block_keys in sorted(groups.items()):
            condition |= Q(scope=scope, user_id=user_id, course_key=course_key, block_key__in=sorted(block_keys))
        return condition

    def _rows(self, keys: list[StateKey], *, for_update: bool = False) -> dict[StateKey, LearnerState]:
        """The stored rows of ``keys``, by key: exactly those keys, whatever the columns' collation."""
        wanted = set(keys)
        if for_update:
            # One equality per key on every column of the unique key, not ``IN``: InnoDB then locks
            # each record alone; a range (``IN``) also locks the gap before it under REPEATABLE READ.
            condition = Q(pk__in=[])
            for key in keys:
                condition |= Q(**key._asdict())
            queryset = LearnerState.objects.filter(condition).select_for_update()
        else:
            queryset = LearnerState.objects.filter(self._filter(keys))
        rows = {StateKey(row.scope, row.user_id, row.course_key, row.block_key): row for row in queryset}
        return {key: row for key, row in rows.items() if key in wanted}

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        keys = list(keys)
        if not keys:
            return {}
        return {key: row.state for key, row in self._rows(keys).items()}

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """
        Merge ``changes`` into the stored objects: three queries, whatever the number of keys. (On
        SQLite, Django splits the upsert and the update into batches of at most 999 parameters, in the
        same order.)

        One upsert creates the missing rows and locks every row, in one order (the sorted keys) for
        every writer, so concurrent requests queue instead of deadlocking. (On MySQL/InnoDB an upsert
        takes an *exclusive* lock on a row another request has just created, where a plain INSERT
        would take a shared lock that deadlocks once two such requests go on to update the row; and a
        locking SELECT may reach the rows through another index, in another order.) The upsert
        touches ``modified``, so the plain SELECT that follows reads the current, locked version of
        each row even under REPEATABLE READ. No savepoint: a failure here fails the unit of work.
        """
        if not changes:
            return
        keys = sorted(changes)
        with transaction.atomic(savepoint=False):
            LearnerState.objects.bulk_create(
                [LearnerState(**key._asdict(), state={}) for key in keys], **self._upsert_options()
            )
            rows = self._rows(keys)
            now = timezone.now()
            for key in keys:
                rows[key].state = merged_state(rows[key].state, changes[key])
                rows[key].modified = now  # bulk_update does not apply auto_now
            LearnerState.objects.bulk_update([rows[key] for key in keys], ["state", "modified"])

    def lock(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """
        Lock the rows of ``keys`` until the transaction ends and return their current state: one query
        when the rows exist, three the first time (a missing row is created, empty, to be locked).

        ``SELECT ... FOR UPDATE`` on the unique key: a locking read sees the latest committed row
        (under READ COMMITTED and REPEATABLE READ alike), and on MySQL/InnoDB a unique lookup locks
        the record only, not the gap before it, so a request waiting here does not block another
        request's INSERT of a row that sorts just before (which would deadlock). Missing rows are
        created by the upsert :meth:`save` uses, which waits for, instead of failing on, a row another
        request has just created; the locking read after it returns what is stored. On SQLite, whose
        writing transactions already run one at a time, the reads are plain.
        """
        keys = sorted(set(keys))
        if not keys:
            return {}
        rows = self._rows(keys, for_update=True)
        missing = [key for key in keys if key not in rows]
        if missing:
            LearnerState.objects.bulk_create(
                [LearnerState(**key._asdict(), state={}) for key in missing], **self._upsert_options()
            )
            rows.update(self._rows(missing, for_update=True))
        return {key: rows[key].state for key in keys}

    def drop_empty(self, keys: Iterable[StateKey]) -> None:
        """Delete the rows of ``keys`` that hold nothing (``{}``), as left by :meth:`lock`: one query."""
        keys = sorted(set(keys))
        if keys:
            LearnerState.objects.filter(self._filter(keys), state={}).delete()

    @staticmethod
    def _upsert_options() -> dict[str, Any]:
        return touching_upsert(LearnerState, list(StateKey._fields))


class CacheLearnerStateStore:
    """
    Authors' preview state, for draft (Studio) runtimes: one object per key in Django's cache.

    Like edx-platform's Studio, which keeps the state of blocks an author tries out in the cache,
    apart from learners' state: it never reaches the :class:`LearnerState` table, and it is
    ephemeral — each object expires :attr:`timeout` seconds after its last write, or earlier if the
    cache evicts it. For previews only:

    - not safe against concurrent writers: :meth:`save` reads, merges and writes back without a
      lock, so of two requests writing one key at once, one may lose its changes;
    - not transactional (``transactional = False``): the unit of work flushes it after the stores
      in the transaction, just before the commit, and puts back the previous values if a later
      store or the commit fails. (The undo is itself a cache write; if that fails too, the
      preview state stays, and the failure is logged.)

    ``cache_alias`` picks the cache (subclass to change it, or ``timeout``).
    """

    transactional = False
    cache_alias = "default"
    timeout = 2 * 24 * 60 * 60
    key_prefix = "lc-runtime:preview-state:v1:"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.cache_alias == self.cache_alias

    def __hash__(self) -> int:
        return hash((type(self), self.cache_alias))

    def _cache_key(self, key: StateKey) -> str:
        # Hashed: usage keys can be long, and memcached refuses keys over 250 characters or with spaces.
        digest = hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()
        return self.key_prefix + digest

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """The cached object of each key that has one: one ``get_many``."""
        by_cache_key = {self._cache_key(key): key for key in keys}
        if not by_cache_key:
            return {}
        found = caches[self.cache_alias].get_many(list(by_cache_key))
        return {by_cache_key[cache_key]: state for cache_key, state in found.items()}

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """Merge ``changes`` into the cached objects: one ``get_many``, one ``set_many``."""
        if not changes:
            return
        cache = caches[self.cache_alias]
        by_cache_key = {self._cache_key(key): key for key in changes}
        current = cache.get_many(list(by_cache_key))
        cache.set_many(
            {
                cache_key: merged_state(current.get(cache_key, {}), changes[key])
                for cache_key, key in by_cache_key.items()
            },
            timeout=self.timeout,
        )


def get_learner_state_store() -> LearnerStateStore:
    """A new instance of the configured learner-state store."""
    return import_object(get_setting("LEARNER_STATE_STORE"))()


def get_preview_state_store() -> LearnerStateStore:
    """A new instance of the store of authors' preview state (draft runtimes)."""
    return import_object(get_setting("PREVIEW_STATE_STORE"))()
