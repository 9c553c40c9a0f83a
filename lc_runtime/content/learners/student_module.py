"""
Learners' ``user_state`` in edx-platform's StudentModule table: :class:`StudentModuleStateStore`.

edx-platform keeps what a learner did in a block (``Scope.user_state``) as one row of
``courseware_studentmodule`` per (learner, block, course run), the block's fields as a JSON object in
the ``state`` text column. A runtime configured with this store reads and writes those very rows, so
that the learner's answers stay where edx-platform keeps them (the instructor dashboard's state views, data
exports) before, during and after a course's cutover to lc-runtime. Only ``state`` is written: the
``grade``/``max_grade`` columns and StudentModuleHistory are left to edx-platform's grade handlers (see
docs/settings.md).

The table belongs to edx-platform: lc-runtime never creates nor migrates it. Its name is
``LC_RUNTIME["STUDENT_MODULE_TABLE"]``; it is reached through an unmanaged model made for that name
in a registry of its own (:func:`student_module_model`), so that Django's ORM writes the dialect of
each database (upserts, locking reads) while lc-runtime's migrations never see the table.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.apps.registry import Apps
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.utils import timezone
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import UsageKey

from lc_runtime.conf import get_setting
from lc_runtime.content.learners.state import DjangoLearnerStateStore, StateKey, merged_state

__all__ = ["EDX_TABLES", "USER_STATE_SCOPE", "StudentModuleStateStore", "module_type_of", "student_module_model"]

USER_STATE_SCOPE = "one.usage"
"""The scope code of ``Scope.user_state`` (one learner, one block): the scope StudentModule keeps."""

MODULE_TYPE_LENGTH = 32
"""edx-platform's ``module_type`` column: ``varchar(32)``."""

# Models of edx-platform's tables live in a registry of their own: not lc-runtime's app, so that neither
# ``makemigrations`` nor a test database's flush ever takes them for lc-runtime's tables.
EDX_TABLES = Apps(installed_apps=())


@functools.cache
def student_module_model(table: str) -> type[models.Model]:
    """An unmanaged model of edx-platform's StudentModule columns, bound to ``table`` (one class per name)."""
    meta = type("Meta", (), {
        "managed": False,
        "db_table": table,
        "app_label": "lc_runtime_edx",
        "apps": EDX_TABLES,
        "unique_together": [("student_id", "module_id", "course_id")],
    })
    name = "StudentModule_" + re.sub(r"\W", "_", table)
    return type(name, (models.Model,), {
        "__module__": __name__,
        "id": models.AutoField(primary_key=True),
        "module_type": models.CharField(max_length=MODULE_TYPE_LENGTH),
        "module_id": models.CharField(max_length=255),  # the usage key (edx-platform: ``module_state_key``)
        "student_id": models.IntegerField(),
        "course_id": models.CharField(max_length=255),
        "state": models.TextField(null=True),  # JSON text; NULL: nothing stored yet
        "grade": models.FloatField(null=True),
        "max_grade": models.FloatField(null=True),
        "done": models.CharField(max_length=8, default="na"),
        "created": models.DateTimeField(),
        "modified": models.DateTimeField(),
        "Meta": meta,
    })


@functools.lru_cache(maxsize=65_536)
def module_type_of(block_key: str) -> str | None:
    """
    The ``module_type`` of a block's row (its block type), or None for a key StudentModule cannot hold:
    anything but a ``block-v1:`` usage key (an aside's key, a block type), or a type longer than the column.
    """
    if not block_key.startswith("block-v1:"):
        return None
    try:
        block_type = UsageKey.from_string(block_key).block_type
    except InvalidKeyError:
        return None
    return block_type if len(block_type) <= MODULE_TYPE_LENGTH else None


def parsed_state(text: str | None) -> dict[str, Any] | None:
    """A row's ``state`` as a dict: None for NULL (never stored), ``{}`` for anything but a JSON object."""
    if text is None:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _folded(key: StateKey) -> tuple:
    """``key`` as MySQL's case-insensitive, PAD SPACE collations (edx-platform's tables') compare it."""
    return (key.user_id, key.course_key.rstrip(" ").casefold(), key.block_key.rstrip(" ").casefold())


class StudentModuleStateStore:
    """
    ``user_state`` in edx-platform's StudentModule table; every other scope in lc-runtime's own table.

    A ``user_state`` key (scope ``one.usage``, a course run and a ``block-v1:`` usage key) is the row
    ``(student_id, module_id, course_id)`` of ``LC_RUNTIME["STUDENT_MODULE_TABLE"]``, its fields the JSON
    object in ``state``, written as edx-platform's ``DjangoXBlockUserStateClient`` writes it: a save merges
    the changed fields into the object (``json.dumps``), a new row takes the block type as ``module_type``,
    and a row whose fields are all deleted keeps ``"{}"``. A row whose ``state`` is NULL holds nothing
    (never seen); ``grade``, ``max_grade`` and ``done`` are left as they are. Every other key
    (``user_state_summary``, ``preferences``, ``user_info``, asides' state) goes to
    :class:`DjangoLearnerStateStore`, as edx-platform keeps those outside StudentModule too.

    The same guarantees as :class:`DjangoLearnerStateStore`: a load is one query per table, a save three
    per table whatever the number of keys, and :meth:`lock` holds a learner's row of a block until the
    transaction ends. (edx-platform's ``StudentModuleHistory`` rows are written by edx-platform's own
    signal on its model, which this store does not send.)
    """

    def __init__(self) -> None:
        self.table: str = get_setting("STUDENT_MODULE_TABLE")
        self.others = DjangoLearnerStateStore()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.table == self.table

    def __hash__(self) -> int:
        return hash((type(self), self.table))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self.table!r})"

    @property
    def model(self) -> type[models.Model]:
        return student_module_model(self.table)

    @staticmethod
    def in_table(key: StateKey) -> bool:
        """Whether ``key`` is a row of the StudentModule table (else: of lc-runtime's own table)."""
        return key.scope == USER_STATE_SCOPE and bool(key.course_key) and module_type_of(key.block_key) is not None

    def _split(self, keys: Iterable[StateKey]) -> tuple[list[StateKey], list[StateKey]]:
        ours, others = [], []
        for key in keys:
            (ours if self.in_table(key) else others).append(key)
        return ours, others

    # ---- reading and locking rows

    def _rows(self, keys: list[StateKey], *, for_update: bool = False) -> dict[StateKey, models.Model]:
        """
        The stored rows of ``keys`` (all in the table), by key.

        A plain read asks one ``module_id IN (...)`` per (learner, course run); a locking read one
        equality per key on the unique key, so that InnoDB locks those records only (see
        :meth:`DjangoLearnerStateStore._rows`). A key whose row the table's collation matched without
        being the same string (another case, trailing spaces: edx-platform's MySQL tables compare them
        equal) gets that row, as edx-platform's own lookups would.
        """
        condition = Q(pk__in=[])
        if for_update:
            for key in keys:
                condition |= Q(student_id=key.user_id, course_id=key.course_key, module_id=key.block_key)
        else:
            groups: dict[tuple[int, str], set[str]] = {}
            for key in keys:
                groups.setdefault((key.user_id, key.course_key), set()).add(key.block_key)
            for (user_id, course_key), block_keys in sorted(groups.items()):
                condition |= Q(student_id=user_id, course_id=course_key, module_id__in=sorted(block_keys))
        queryset = self.model.objects.filter(condition)
        if for_update:
            queryset = queryset.select_for_update()
        exact: dict[StateKey, models.Model] = {}
        folded: dict[tuple, models.Model] = {}
        for row in queryset:
            key = StateKey(USER_STATE_SCOPE, row.student_id, row.course_id, row.module_id)
            exact[key] = row
            folded.setdefault(_folded(key), row)
        found = {}
        for key in keys:
            row = exact.get(key) or folded.get(_folded(key))
            if row is not None:
                found[key] = row
        return found

    def _new_rows(self, keys: Iterable[StateKey]) -> list[models.Model]:
        """Rows holding nothing (``state`` NULL) for ``keys``: what an upsert creates to lock or write."""
        now = timezone.now()
        return [
            self.model(
                module_type=module_type_of(key.block_key), module_id=key.block_key, student_id=key.user_id,
                course_id=key.course_key, state=None, done="na", created=now, modified=now,
            )
            for key in keys
        ]

    def _upsert(self, keys: list[StateKey]) -> None:
        """Create the missing rows of ``keys`` (NULL state), touching ``modified`` of the others: one statement."""
        options: dict[str, Any] = {"update_conflicts": True, "update_fields": ["modified"]}
        if connections[router.db_for_write(self.model)].features.supports_update_conflicts_with_target:
            options["unique_fields"] = ["student_id", "module_id", "course_id"]  # SQLite, PostgreSQL
        self.model.objects.bulk_create(self._new_rows(keys), **options)

    # ---- the store contract

    def load(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """The stored object of each key: one query per table ``keys`` reach (a NULL state holds nothing)."""
        ours, others = self._split(set(keys))
        found = self.others.load(others) if others else {}
        if ours:
            for key, row in self._rows(ours).items():
                state = parsed_state(row.state)
                if state is not None:
                    found[key] = state
        return found

    def save(self, changes: Mapping[StateKey, Mapping[str, Any]]) -> None:
        """
        Merge ``changes`` into the stored objects: three queries per table (the upsert that creates missing
        rows and locks every row in one order, the re-read, the update), as :meth:`DjangoLearnerStateStore.save`.
        """
        ours, others = self._split(changes)
        if others:
            self.others.save({key: changes[key] for key in others})
        if not ours:
            return
        keys = sorted(ours)
        with transaction.atomic(savepoint=False):
            self._upsert(keys)
            rows = self._rows(keys)
            now = timezone.now()
            written = {}
            for key in keys:
                row = rows[key]  # two keys the collation takes for one row both merge into it, as in edx-platform
                row.state = json.dumps(merged_state(parsed_state(row.state) or {}, changes[key]))
                row.modified = now  # bulk_update does not apply auto_now
                written[id(row)] = row
            self.model.objects.bulk_update(list(written.values()), ["state", "modified"])

    def lock(self, keys: Iterable[StateKey]) -> dict[StateKey, dict[str, Any]]:
        """
        Lock the rows of ``keys`` until the transaction ends and return their state (``{}`` when there is none):
        one locking read when the rows exist; a missing row is created first, its state NULL (nothing stored),
        then read with a lock. Keys of lc-runtime's own table are locked by :class:`DjangoLearnerStateStore`,
        after the StudentModule rows (one order for every request).
        """
        ours, others = self._split(sorted(set(keys)))
        found: dict[StateKey, dict[str, Any]] = {}
        if ours:
            rows = self._rows(ours, for_update=True)
            missing = [key for key in ours if key not in rows]
            if missing:
                self._upsert(missing)
                rows.update(self._rows(missing, for_update=True))
            found.update({key: parsed_state(rows[key].state) or {} for key in ours})
        if others:
            found.update(self.others.lock(others))
        return found

    def drop_empty(self, keys: Iterable[StateKey]) -> None:
        """
        Delete the rows of ``keys`` that :meth:`lock` created and nothing filled: state NULL, no grade. A row
        edx-platform wrote stays, even one holding ``"{}"`` (its fields deleted) or a grade only.
        """
        ours, others = self._split(sorted(set(keys)))
        if others:
            self.others.drop_empty(others)
        if ours:
            condition = Q(pk__in=[])
            for key in ours:
                condition |= Q(student_id=key.user_id, course_id=key.course_key, module_id=key.block_key)
            self.model.objects.filter(condition, state__isnull=True, grade__isnull=True,
                                      max_grade__isnull=True).delete()
