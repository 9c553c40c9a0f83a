"""
Learner data that survives the cutover of a course run from edx-platform to lc-runtime.

edx-platform keeps what a learner got of a randomized block, and which arm of an experiment they are
in, in its own tables; lc-runtime in Variants and partition groups. :func:`cutover_learner_data` reads
edx-platform's rows, from its database or from a JSON-lines export (:class:`JsonLinesSource`), and stores:

- each ``library_content`` / ``itembank`` row's ``selected`` list (``[[block_type, block_id], ...]`` in
  the StudentModule ``state``) as the learner's Variant of that selector: the selected members that are
  in the selector's pool, in their order;
- each user course tag ``xblock.partition_service.partition_{id}`` (value: the group id) as the
  learner's group in that partition, when the course declares the partition and the group;
- optionally, each StudentModule row's ``state`` as the learner's ``user_state`` of the block, in an
  lc-runtime store (for a run that does not read StudentModule itself).

Nothing stored is ever replaced: a learner who already has a Variant, a group or state keeps it (counted
as already present when it is the same, skipped otherwise), so running the cutover again changes
nothing. Rows are written one batch at a time, each batch in one transaction.

The JSON-lines export holds one object per line (blank lines are ignored; other courses' lines too)::

    {"kind": "studentmodule", "student_id": 7, "course_id": "course-v1:Org+Course+Run",
     "module_id": "block-v1:Org+Course+Run+type@library_content+block@lib",
     "module_type": "library_content", "state": "{\\"selected\\": [[\\"problem\\", \\"p1\\"]]}"}
    {"kind": "usercoursetag", "user_id": 7, "course_id": "course-v1:Org+Course+Run",
     "key": "xblock.partition_service.partition_100", "value": "1"}

``state`` is the column's text (JSON, or null); ``module_type`` may be left out (it is the usage key's
block type).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Q

from lc_runtime.conf import get_setting
from lc_runtime.content.learners.state import LearnerStateStore, StateKey
from lc_runtime.content.learners.student_module import (
    EDX_TABLES,
    USER_STATE_SCOPE,
    module_type_of,
    parsed_state,
    student_module_model,
)
from lc_runtime.content.learners.variants import (
    NewVariant,
    new_writer_token,
    store_partition_groups_of_learners,
    store_variants_of_learners,
)

__all__ = [
    "PARTITION_TAG_PREFIX",
    "SELECTED_STATE_TYPES",
    "USER_COURSE_TAG_TABLE",
    "CutoverCounts",
    "CutoverError",
    "CutoverPlan",
    "CutoverResult",
    "CutoverSelector",
    "DatabaseSource",
    "JsonLinesSource",
    "cutover_learner_data",
]

PARTITION_TAG_PREFIX = "xblock.partition_service.partition_"
"""edx-platform's user course tag of a learner's group in a random partition: the prefix, then the partition id."""
SELECTED_STATE_TYPES = ("library_content", "itembank")
"""Block types whose StudentModule state holds ``selected``: the members a learner was given."""
USER_COURSE_TAG_TABLE = "user_api_usercoursetag"
"""edx-platform's table of user course tags (``user_id``, ``key``, ``course_id``, ``value``)."""
BATCH_SIZE = 500


class CutoverError(ValueError):
    """The cutover cannot start (a missing table, a malformed export line): nothing was written."""


# ---- what the course declares (given by the caller, read off the published course)


@dataclass(frozen=True)
class CutoverSelector:
    """A selector whose learners' ``selected`` lists become Variants: its pool by edx-platform's names."""

    pool_entity_id: int
    pool_version_id: int | None
    rules_version_id: int
    # (block_type, block_id) as in ``selected`` -> the Variant's entry [entity_id, block_type, block_id]
    members: Mapping[tuple[str, str], tuple[int, str, str]]


@dataclass(frozen=True)
class CutoverPlan:
    """What the cutover needs to know of the course run."""

    course_key: str
    selectors: Mapping[str, CutoverSelector]  # by usage key string (edx-platform's module_id)
    partitions: Mapping[int, frozenset[int]]  # partition id -> its group ids
    blocks: frozenset[str] = frozenset()  # usage keys of every block of the run (for copying state)


# ---- what it did


@dataclass
class CutoverCounts:
    """Rows of one kind: created, already present (the same), skipped (``{reason: count}``)."""

    created: int = 0
    present: int = 0
    skipped: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "present": self.present, "skipped": dict(sorted(self.skipped.items()))}

    def add(self, outcome, different_reason: str) -> None:
        """Count a bulk store's outcome; what was already stored differently is skipped for ``different_reason``."""
        self.created += len(outcome.created)
        self.present += len(outcome.present)
        if outcome.different:
            self.skipped[different_reason] += len(outcome.different)


@dataclass
class CutoverResult:
    """What :func:`cutover_learner_data` stored, found stored, and skipped."""

    course_key: str
    source: str
    variants: CutoverCounts = field(default_factory=CutoverCounts)
    partition_groups: CutoverCounts = field(default_factory=CutoverCounts)
    state: CutoverCounts | None = None  # None: state was not copied
    batches: int = 0
    warnings: list[str] = field(default_factory=list)  # what the configuration leaves behind

    def as_dict(self) -> dict[str, Any]:
        return {
            "course_key": self.course_key, "source": self.source, "batches": self.batches,
            "variants": self.variants.as_dict(), "partition_groups": self.partition_groups.as_dict(),
            "state": self.state.as_dict() if self.state is not None else None,
            "warnings": list(self.warnings),
        }


# ---- edx-platform's rows, from its database or from an export


@dataclass(frozen=True)
class ModuleRow:
    student_id: int
    module_id: str
    module_type: str
    state: str | None


@dataclass(frozen=True)
class TagRow:
    user_id: int
    key: str
    value: str


class _UserCourseTag(models.Model):
    """edx-platform's ``user_api_usercoursetag`` (read only)."""

    user_id = models.IntegerField()
    key = models.CharField(max_length=255)
    course_id = models.CharField(max_length=255)
    value = models.TextField()

    class Meta:
        managed = False
        db_table = USER_COURSE_TAG_TABLE
        app_label = "lc_runtime_edx"
        apps = EDX_TABLES


class DatabaseSource:
    """edx-platform's tables in the database lc-runtime uses: StudentModule (its setting) and the user course tags."""

    def __init__(self) -> None:
        self.table = get_setting("STUDENT_MODULE_TABLE")

    def __str__(self) -> str:
        return f"tables {self.table}, {USER_COURSE_TAG_TABLE}"

    def check(self) -> None:
        tables = set(connection.introspection.table_names())
        for table in (self.table, USER_COURSE_TAG_TABLE):
            if table not in tables:
                raise CutoverError(f"no table {table} in the database: nothing was read nor written")

    def module_rows(self, course_key: str, module_types: Iterable[str] | None, size: int) -> Iterator[list[ModuleRow]]:
        """The run's StudentModule rows (of ``module_types``, or all), by id, ``size`` at a time."""
        model = student_module_model(self.table)
        rows = model.objects.filter(course_id=course_key)
        if module_types is not None:
            rows = rows.filter(module_type__in=sorted(module_types))
        last = 0
        while True:
            batch = list(rows.filter(id__gt=last).order_by("id").values_list(
                "id", "student_id", "module_id", "module_type", "state")[:size])
            if not batch:
                return
            last = batch[-1][0]
            yield [ModuleRow(*row[1:]) for row in batch]

    def tag_rows(self, course_key: str, size: int) -> Iterator[list[TagRow]]:
        """The run's partition tags, by learner and key, ``size`` at a time."""
        rows = _UserCourseTag.objects.filter(course_id=course_key, key__startswith=PARTITION_TAG_PREFIX)
        after: tuple[int, str] | None = None
        while True:
            page = rows
            if after is not None:
                page = rows.filter(Q(user_id__gt=after[0]) | Q(user_id=after[0], key__gt=after[1]))
            batch = list(page.order_by("user_id", "key").values_list("user_id", "key", "value")[:size])
            if not batch:
                return
            after = batch[-1][:2]
            yield [TagRow(*row) for row in batch]


_LINE_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "studentmodule": {"student_id": (int,), "module_id": (str,), "course_id": (str,), "state": (str, type(None))},
    "usercoursetag": {"user_id": (int,), "key": (str,), "course_id": (str,), "value": (str, int)},
}


class JsonLinesSource:
    """An export of edx-platform's rows, one JSON object per line (the shapes are in this module's docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __str__(self) -> str:
        return str(self.path)

    def _lines(self) -> Iterator[tuple[int, Any]]:
        with self.path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except ValueError as exc:
                    raise CutoverError(f"{self.path} line {number} is not JSON ({exc}); nothing was written") from exc

    def check(self) -> None:
        """Read the whole file: a line not of the shapes refuses the cutover before anything is written."""
        try:
            for number, line in self._lines():
                problem = self._problem(line)
                if problem:
                    raise CutoverError(f"{self.path} line {number}: {problem}; nothing was written")
        except UnicodeDecodeError as exc:
            raise CutoverError(f"{self.path} is not UTF-8 text; nothing was written") from exc
        except OSError as exc:
            raise CutoverError(f"cannot read {self.path}: {exc.strerror or exc}; nothing was written") from exc

    @staticmethod
    def _problem(line: Any) -> str | None:
        if not isinstance(line, dict):
            return "not a JSON object"
        fields = _LINE_FIELDS.get(line.get("kind"))
        if fields is None:
            return f"kind {line.get('kind')!r} is neither 'studentmodule' nor 'usercoursetag'"
        for name, types in fields.items():
            value = line.get(name)
            if name not in line or isinstance(value, bool) or not isinstance(value, types):
                return f"{line['kind']} needs {name!r} as {' or '.join(t.__name__ for t in types)}"
        if "module_type" in line and not isinstance(line["module_type"], str):
            return "module_type must be a string"
        return None

    def _of_kind(self, kind: str, course_key: str) -> Iterator[dict[str, Any]]:
        for _number, line in self._lines():
            if line["kind"] == kind and line["course_id"] == course_key:
                yield line

    def module_rows(self, course_key: str, module_types: Iterable[str] | None, size: int) -> Iterator[list[ModuleRow]]:
        wanted = set(module_types) if module_types is not None else None
        return _batched((
            ModuleRow(line["student_id"], line["module_id"],
                      line.get("module_type") or module_type_of(line["module_id"]) or "", line["state"])
            for line in self._of_kind("studentmodule", course_key)
            if wanted is None or (line.get("module_type") or module_type_of(line["module_id"])) in wanted
        ), size)

    def tag_rows(self, course_key: str, size: int) -> Iterator[list[TagRow]]:
        return _batched((
            TagRow(line["user_id"], line["key"], str(line["value"]))
            for line in self._of_kind("usercoursetag", course_key)
            if line["key"].startswith(PARTITION_TAG_PREFIX)
        ), size)


def _batched(rows: Iterable, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ---- the cutover


def cutover_learner_data(
    plan: CutoverPlan,
    source: DatabaseSource | JsonLinesSource,
    *,
    copy_state_into: LearnerStateStore | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str], None] | None = None,
) -> CutoverResult:
    """
    Store the learner data of ``source`` for ``plan``'s course run (see the module docstring).

    ``source.check()`` runs first: a missing table or a malformed line raises :class:`CutoverError`
    before anything is written. Then each batch of ``batch_size`` source rows is one transaction.
    ``progress`` is called with ``"studentmodule"`` or ``"usercoursetag"`` for each row read.
    """
    source.check()
    result = CutoverResult(plan.course_key, str(source))
    if copy_state_into is not None:
        result.state = CutoverCounts()
    token = new_writer_token()
    module_types = None if copy_state_into is not None else SELECTED_STATE_TYPES
    for rows in source.module_rows(plan.course_key, module_types, batch_size):
        with transaction.atomic():
            _store_variants(plan, rows, token, result.variants)
            if copy_state_into is not None:
                _copy_state(plan, rows, copy_state_into, result.state)
        result.batches += 1
        _report(progress, "studentmodule", len(rows))
    for rows in source.tag_rows(plan.course_key, batch_size):
        with transaction.atomic():
            _store_partition_groups(plan, rows, token, result.partition_groups)
        result.batches += 1
        _report(progress, "usercoursetag", len(rows))
    return result


def _report(progress: Callable[[str], None] | None, tag: str, count: int) -> None:
    if progress is not None:
        for _ in range(count):
            progress(tag)


def _selected(state: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """The ``selected`` list of a selector's state, as (block_type, block_id) pairs; None if it has none."""
    selected = (state or {}).get("selected")
    if not isinstance(selected, list):
        return None
    pairs = []
    for entry in selected:
        if isinstance(entry, list | tuple) and len(entry) == 2 and all(isinstance(part, str) for part in entry):
            pairs.append((entry[0], entry[1]))
    return pairs


def _store_variants(plan: CutoverPlan, rows: list[ModuleRow], token: str, counts: CutoverCounts) -> None:
    wanted: dict[tuple[int, int], NewVariant] = {}
    for row in rows:
        if row.module_type not in SELECTED_STATE_TYPES:
            continue
        selector = plan.selectors.get(row.module_id)
        if selector is None:
            counts.skipped["no such selector in the run"] += 1
            continue
        selected = _selected(parsed_state(row.state))
        if selected is None:
            counts.skipped["no selected list in the state"] += 1
            continue
        entries, seen = [], set()
        for ref in selected:
            entry = selector.members.get(ref)
            if entry is not None and entry[0] not in seen:
                seen.add(entry[0])
                entries.append(list(entry))
        if not entries:
            counts.skipped["no selected block is in the pool"] += 1
            continue
        key = (row.student_id, selector.pool_entity_id)
        if key in wanted:
            counts.skipped["a second row for the same learner and block"] += 1
            continue
        wanted[key] = NewVariant(selector.pool_entity_id, entries, selector.pool_version_id, selector.rules_version_id)
    counts.add(store_variants_of_learners(plan.course_key, wanted, token), "another Variant is already stored")


def _store_partition_groups(plan: CutoverPlan, rows: list[TagRow], token: str, counts: CutoverCounts) -> None:
    wanted: dict[tuple[int, int], int] = {}
    for row in rows:
        try:
            partition_id = int(row.key.removeprefix(PARTITION_TAG_PREFIX))
            group_id = int(row.value)
        except ValueError:
            counts.skipped["not a partition id and group id"] += 1
            continue
        groups = plan.partitions.get(partition_id)
        if groups is None:
            counts.skipped[f"the course declares no partition {partition_id}"] += 1
        elif group_id not in groups:
            counts.skipped[f"partition {partition_id} has no group {group_id}"] += 1
        elif (row.user_id, partition_id) in wanted:
            counts.skipped["a second tag for the same learner and partition"] += 1
        else:
            wanted[(row.user_id, partition_id)] = group_id
    counts.add(store_partition_groups_of_learners(plan.course_key, wanted, token), "another group is already stored")


def _copy_state(plan: CutoverPlan, rows: list[ModuleRow], store: LearnerStateStore, counts: CutoverCounts) -> None:
    wanted: dict[StateKey, dict[str, Any]] = {}
    for row in rows:
        if row.module_id not in plan.blocks:
            counts.skipped["no such block in the run"] += 1
            continue
        state = parsed_state(row.state)
        if state is None:
            counts.skipped["nothing stored (state is NULL)"] += 1
            continue
        if not state and row.state.strip() != "{}":
            counts.skipped["state is not a JSON object"] += 1
            continue
        key = StateKey(USER_STATE_SCOPE, row.student_id, plan.course_key, row.module_id)
        if key in wanted:
            counts.skipped["a second row for the same learner and block"] += 1
            continue
        wanted[key] = state
    if not wanted:
        return
    stored = store.load(wanted)
    missing = {key: state for key, state in wanted.items() if key not in stored}
    if missing:
        store.save(missing)
    counts.created += len(missing)
    for key in wanted.keys() & stored.keys():
        if stored[key] == wanted[key]:
            counts.present += 1
        else:
            counts.skipped["other state is already stored in lc-runtime"] += 1
