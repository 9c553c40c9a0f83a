"""
Learner scopes: ``user_state``, ``user_state_summary``, ``preferences``, ``user_info`` (and the
unnamed scope combinations XBlock allows), kept in a learner-state store.

A store holds one JSON object per :class:`StateKey`. The default store is our
:class:`~lc_runtime.content.models.LearnerState` table; edx-platform can plug in a store backed by
its StudentModule through ``LC_RUNTIME["LEARNER_STATE_STORE"]``. A runtime loads every row a unit
needs in one query (:meth:`LearnerFieldData.preload`); writes are buffered in the unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

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
    "DjangoLearnerStateStore",
    "LearnerFieldData",
    "LearnerStateStore",
    "StateKey",
    "get_learner_state_store",
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
    """Where learner-scoped field values live. Implement both methods to back the runtime with another store."""

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """The stored object of each key that has one (keys with nothing stored are left out). One query."""

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """Merge ``changes`` (field -> JSON value, or :data:`DELETED`) into the stored objects."""


class DjangoLearnerStateStore:
    """The default store: one :class:`LearnerState` row per key."""

    @staticmethod
    def _filter(keys: Iterable[StateKey]) -> Q:
        condition = Q(pk__in=[])
        for key in keys:
            condition |= Q(scope=key.scope, user_id=key.user_id, course_key=key.course_key, block_key=key.block_key)
        return condition

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        keys = list(keys)
        if not keys:
            return {}
        rows = LearnerState.objects.filter(self._filter(keys))
        return {StateKey(r.scope, r.user_id, r.course_key, r.block_key): r.state for r in rows}

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """
        Merge ``changes`` into the stored objects: three queries, whatever the number of keys.

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
            rows = {
                StateKey(r.scope, r.user_id, r.course_key, r.block_key): r
                for r in LearnerState.objects.filter(self._filter(keys))
            }
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


_SCOPE_CODES = {UserScope.NONE: "none", UserScope.ONE: "one", UserScope.ALL: "all"}


def state_key(
    scope, user_id: int, course_key: str, usage_key: str, block_type: str, cross_course_context: str = ""
) -> StateKey:
    """
    The key that stores a learner-scoped field for a block and learner.

    Definitions and usages are one and the same in this runtime, so ``BlockScope.DEFINITION`` keys
    by usage. Type- and all-scoped values (``preferences``, ``user_info``) belong to the learner
    across courses, as in edx-platform: their course key is ``cross_course_context``, empty for
    learners (a separate value keeps authors' previews apart).
    """
    user = ALL_LEARNERS if scope.user is not UserScope.ONE else user_id
    block = scope.block
    if block in (BlockScope.USAGE, BlockScope.DEFINITION):
        return StateKey(f"{_SCOPE_CODES[scope.user]}.usage", user, course_key, usage_key)
    if block is BlockScope.TYPE:
        return StateKey(f"{_SCOPE_CODES[scope.user]}.type", user, cross_course_context, block_type)
    return StateKey(f"{_SCOPE_CODES[scope.user]}.all", user, cross_course_context, "")


class LearnerFieldData(FieldData):
    """
    Learner-scoped fields of one learner in one course run, read through a per-runtime cache.

    ``user_id`` None means an anonymous visitor: their state lives in this object only and is
    never stored.
    """

    def __init__(
        self, store: LearnerStateStore, user_id: int | None, course_key: str, *, cross_course_context: str = ""
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.course_key = course_key
        self.cross_course_context = cross_course_context
        self._loaded: dict[StateKey, dict[str, Any]] = {}
        # Keys written inside a unit of work: once that unit has ended (committed or rolled back),
        # the cached copy may be stale and is read again.
        self._written_in: dict[StateKey, Any] = {}

    def key_for(self, block, name: str) -> StateKey:
        scope = block.fields[name].scope
        return state_key(
            scope,
            self.user_id or 0,
            self.course_key,
            str(block.scope_ids.usage_id),
            block.scope_ids.block_type,
            self.cross_course_context,
        )

    def keys_for_blocks(self, blocks: Iterable[tuple[str, str, Iterable]]) -> set[StateKey]:
        """The keys that (usage key, block type, scopes) triples read: feed them to :meth:`preload`."""
        keys = set()
        for usage_key, block_type, scopes in blocks:
            for scope in scopes:
                keys.add(
                    state_key(
                        scope, self.user_id or 0, self.course_key, usage_key, block_type, self.cross_course_context
                    )
                )
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
        pending = unit.pending_learner_state(key) if unit is not None else None
        return _merged(state, pending) if pending else state

    def get(self, block, name: str) -> Any:
        state = self._state(self.key_for(block, name))
        if name not in state:
            raise KeyError(name)
        return state[name]

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
