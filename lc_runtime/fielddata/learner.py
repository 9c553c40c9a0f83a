"""
Learner scopes: ``user_state``, ``user_state_summary``, ``preferences``, ``user_info`` (and the
unnamed scope combinations XBlock allows), kept in a learner-state store.

A store holds one JSON object per :class:`StateKey`. The default store is our
:class:`~lc_runtime.content.models.LearnerState` table; edx-platform can plug in a store backed by
its StudentModule through ``LC_RUNTIME["LEARNER_STATE_STORE"]``. Authors trying blocks in a draft
(Studio) runtime keep their state apart, in ``LC_RUNTIME["PREVIEW_STATE_STORE"]``: by default
:class:`CacheLearnerStateStore`, ephemeral, in Django's cache. A runtime loads every row a unit
needs in one query (:meth:`LearnerFieldData.preload`); writes are buffered in the unit of work.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from django.core.cache import caches
from django.db import connections, router, transaction
from django.db.models import Q
from django.utils import timezone
from xblock.field_data import FieldData
from xblock.fields import BlockScope, UserScope

from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.models import LearnerState
from lc_runtime.fielddata.unit_of_work import DELETED, current_unit, unit_of_work

__all__ = [
    "ALL_LEARNERS",
    "CacheLearnerStateStore",
    "DjangoLearnerStateStore",
    "LearnerFieldData",
    "LearnerStateStore",
    "StateKey",
    "get_learner_state_store",
    "get_preview_state_store",
    "state_key",
]

ALL_LEARNERS = 0
"""The user id under which state shared by all learners (``user_state_summary``) is kept."""


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
    """

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """The stored object of each key that has one (keys with nothing stored are left out). One query."""

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """Merge ``changes`` (field -> JSON value, or :data:`DELETED`) into the stored objects."""


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

    def _rows(self, keys: list[StateKey]) -> dict[StateKey, LearnerState]:
        """The stored rows of ``keys``, by key: exactly those keys, whatever the columns' collation."""
        wanted = set(keys)
        rows = {
            StateKey(row.scope, row.user_id, row.course_key, row.block_key): row
            for row in LearnerState.objects.filter(self._filter(keys))
        }
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
                rows[key].state = _merged(rows[key].state, changes[key])
                rows[key].modified = now  # bulk_update does not apply auto_now
            LearnerState.objects.bulk_update([rows[key] for key in keys], ["state", "modified"])

    @staticmethod
    def _upsert_options() -> dict[str, Any]:
        options: dict[str, Any] = {"update_conflicts": True, "update_fields": ["modified"]}
        if connections[router.db_for_write(LearnerState)].features.supports_update_conflicts_with_target:
            options["unique_fields"] = list(StateKey._fields)  # SQLite, PostgreSQL; MySQL takes none
        return options


def _merged(state: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(state)
    for name, value in changes.items():
        if value is DELETED:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


class CacheLearnerStateStore:
    """
    Authors' preview state, for draft (Studio) runtimes: one object per key in Django's cache.

    Like edx-platform's Studio, which keeps the state of blocks an author tries out in the cache,
    apart from learners' state: it never reaches the :class:`LearnerState` table, and it is
    ephemeral — each object expires :attr:`timeout` seconds after its last write, or earlier if the
    cache evicts it. For previews only:

    - not safe against concurrent writers: :meth:`save` reads, merges and writes back without a
      lock, so of two requests writing one key at once, one may lose its changes;
    - not transactional: it writes when the unit of work flushes, just before the commit. A unit
      that rolls back before then writes nothing; a failure of the commit itself may leave the
      preview state written.

    ``cache_alias`` picks the cache (subclass to change it, or ``timeout``).
    """

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
                cache_key: _merged(current.get(cache_key, {}), changes[key])
                for cache_key, key in by_cache_key.items()
            },
            timeout=self.timeout,
        )


def storable(value: Any) -> Any:
    """
    A field's JSON value as it must be stored to read back the same.

    Some field types hand named tuples to the store (``ScoreField`` gives ``Score(raw_earned,
    raw_possible)``) and expect a mapping back; JSON would turn them into lists.
    """
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {name: storable(item) for name, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {name: storable(item) for name, item in value.items()}
    return value


def get_learner_state_store() -> LearnerStateStore:
    """A new instance of the configured learner-state store."""
    return import_object(get_setting("LEARNER_STATE_STORE"))()


def get_preview_state_store() -> LearnerStateStore:
    """A new instance of the store of authors' preview state (draft runtimes)."""
    return import_object(get_setting("PREVIEW_STATE_STORE"))()


_SCOPE_CODES = {UserScope.NONE: "none", UserScope.ONE: "one", UserScope.ALL: "all"}


def state_key(scope, user_id: int, course_key: str, usage_key: str, block_type: str) -> StateKey:
    """
    The key that stores a learner-scoped field for a block and learner.

    Definitions and usages are one and the same in this runtime, so ``BlockScope.DEFINITION`` keys
    by usage. Type- and all-scoped values (``preferences``, ``user_info``) belong to the learner
    across courses, as in edx-platform: their course key is empty.
    """
    user = ALL_LEARNERS if scope.user is not UserScope.ONE else user_id
    block = scope.block
    if block in (BlockScope.USAGE, BlockScope.DEFINITION):
        return StateKey(f"{_SCOPE_CODES[scope.user]}.usage", user, course_key, usage_key)
    if block is BlockScope.TYPE:
        return StateKey(f"{_SCOPE_CODES[scope.user]}.type", user, "", block_type)
    return StateKey(f"{_SCOPE_CODES[scope.user]}.all", user, "", "")


class LearnerFieldData(FieldData):
    """
    Learner-scoped fields of one learner in one course run, read through a per-runtime cache.

    ``user_id`` None means an anonymous visitor: their state lives in this object only and is
    never stored.
    """

    def __init__(self, store: LearnerStateStore, user_id: int | None, course_key: str) -> None:
        self.store = store
        self.user_id = user_id
        self.course_key = course_key
        self._loaded: dict[StateKey, dict[str, Any]] = {}
        # Keys written inside a unit of work: once that unit has ended (committed or rolled back),
        # the cached copy may be stale and is read again.
        self._written_in: dict[StateKey, Any] = {}

    def key_for(self, block, name: str) -> StateKey:
        scope = block.fields[name].scope
        return state_key(
            scope, self.user_id or 0, self.course_key, str(block.scope_ids.usage_id), block.scope_ids.block_type
        )

    def keys_for_blocks(self, blocks: Iterable[tuple[str, str, Iterable]]) -> set[StateKey]:
        """The keys that (usage key, block type, scopes) triples read: feed them to :meth:`preload`."""
        keys = set()
        for usage_key, block_type, scopes in blocks:
            for scope in scopes:
                keys.add(state_key(scope, self.user_id or 0, self.course_key, usage_key, block_type))
        return keys

    def preload(self, keys: Iterable[StateKey]) -> None:
        """Load every key not yet loaded, in one store call."""
        missing = [key for key in keys if key not in self._loaded]
        if not missing:
            return
        found = self.store.load(missing) if self.user_id is not None else {}
        for key in missing:
            self._loaded[key] = found.get(key, {})

    def _state(self, key: StateKey) -> dict[str, Any]:
        unit = current_unit()
        if key in self._written_in and self._written_in[key] is not unit:
            del self._written_in[key]
            self._loaded.pop(key, None)
        if key not in self._loaded:
            self.preload([key])
        state = self._loaded[key]
        pending = unit.pending_learner_state(self.store, key) if unit is not None else None
        return _merged(state, pending) if pending else state

    def get(self, block, name: str) -> Any:
        state = self._state(self.key_for(block, name))
        if name not in state:
            raise KeyError(name)
        # A copy: blocks mutate what they read in place, and preferences/user_info keys are shared by
        # several blocks, which must not see each other's unsaved changes.
        return copy.deepcopy(state[name])

    def has(self, block, name: str) -> bool:
        return name in self._state(self.key_for(block, name))

    def set(self, block, name: str, value: Any) -> None:
        self.set_many(block, {name: value})

    def set_many(self, block, update_dict: Mapping[str, Any]) -> None:
        by_key: dict[StateKey, dict[str, Any]] = {}
        for name, value in update_dict.items():
            by_key.setdefault(self.key_for(block, name), {})[name] = storable(value)
        self._write(by_key)

    def delete(self, block, name: str) -> None:
        self._write({self.key_for(block, name): {name: DELETED}})

    def _write(self, by_key: dict[StateKey, dict[str, Any]]) -> None:
        if self.user_id is None:
            for key, changes in by_key.items():
                self._loaded[key] = _merged(self._state(key), changes)
            return
        with unit_of_work() as unit:
            for key, changes in by_key.items():
                unit.stage_learner_write(self.store, key, changes)
                self._written_in[key] = unit
