"""
Learners' Variants and partition groups, as rows.

Variants and partition groups are written with one INSERT that ignores conflicts followed by one
locking re-read: concurrent first visits of one learner meet on the unique constraint and all read
the same row, whatever the isolation level, and a request creates any number of them in a fixed
number of queries. Rows are inserted in one order (by selector, by partition), the same in every
request. A request that reaches several units stores their rows in several batches, in the order it
reaches them, so before its first batch it locks the learner's choices in the run
(:func:`lock_learner_choices`): another request of the same learner waits for it, instead of each
holding a row of one unit that the other needs (a deadlock on MySQL/MariaDB). A group given or
taken by hand (:func:`set_partition_group`, :func:`remove_partition_group`) takes the same lock
first, in the same order. A deadlock that still happens (two learners' rows meeting in an index's
gaps) is run again by the unit of work (ADR 0016).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey

from lc_runtime.content.learners.models import LearnerChoicesLock, LearnerVariant, PartitionGroup
from lc_runtime.content.learners.upserts import touching_upsert


def new_writer_token() -> str:
    """A token naming one request's writes, so that after a race it knows which rows are its own."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class StoredVariant:
    """A Variant as stored."""

    selector_entity_id: int
    user_id: int
    entities: tuple[int, ...]
    selector_version_id: int | None
    rules_version_id: int | None
    group_id: int | None
    generation: int
    writer_token: str


@dataclass(frozen=True)
class NewVariant:
    """A Variant to store (or to store over an outdated one)."""

    selector_entity_id: int
    entities: Sequence[int]
    selector_version_id: int | None
    rules_version_id: int | None
    group_id: int | None = None
    generation: int = 0


@dataclass(frozen=True)
class NewPartitionGroup:
    """A learner's group in a partition, to store."""

    partition_id: int
    group_id: int


def _stored(row: LearnerVariant) -> StoredVariant:
    return StoredVariant(
        row.selector_id, row.user_id, tuple(row.entities), row.selector_version_id,
        row.rules_version_id, row.group_id, row.generation, row.writer_token,
    )


def _shared_locking_read(queryset) -> list:
    """
    Read ``queryset``'s rows with a shared lock on MySQL/MariaDB; plainly elsewhere.

    After an INSERT that skipped duplicates, a locking read sees rows that other transactions
    committed after ours began (a plain read under REPEATABLE READ would not). It must be a *shared*
    lock: the skipped INSERT already holds shared locks on those rows, and two requests that both
    upgraded to an exclusive lock (``SELECT ... FOR UPDATE``) would deadlock on each other. Django
    has no shared-lock queryset, hence the suffix. SQLite serializes writers and has no such read.
    """
    if connection.vendor != "mysql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    return list(queryset.model.objects.raw(f"{sql} LOCK IN SHARE MODE", params))


def _one_of(rows: Iterable[dict]) -> Q:
    """
    Exactly these rows, each named by every column of its unique key: for a locking read.

    An ``IN`` on one column lets MySQL/MariaDB reach the rows through another index (the learner's
    ``(user_id, course_key)``), and a locking read then waits on every row of the learner that another
    request has just inserted, of any selector, deadlocking with it. One equality per row keeps the
    read on the unique key, where it locks the rows asked for and nothing else.
    """
    condition = Q(pk__in=[])
    for row in rows:
        condition |= Q(**row)
    return condition


def lock_learner_choices(user_id: int, course_key: CourseKey) -> bool:
    """
    Lock one learner's Variants and partition groups in one course run until the transaction ends.

    Call it before storing them in a transaction that may store more later (a request reaching
    several units). Another transaction that locks them waits until this one ends; plain reads do
    not wait. One query, an upsert of the learner's :class:`LearnerChoicesLock` row (created on the
    first call), which locks it exclusively whether it existed or not. Outside a transaction there
    is nothing to hold: no query, and False.
    """
    if not connection.in_atomic_block:  # the connection every writer of this module uses
        return False
    LearnerChoicesLock.objects.bulk_create(
        [LearnerChoicesLock(user_id=user_id, course_key=str(course_key))],
        **touching_upsert(LearnerChoicesLock, ["user_id", "course_key"]),
    )
    return True


def learner_variants(user_id: int, course_key: CourseKey) -> dict[int, StoredVariant]:
    """Every Variant of one learner in one course run, by selector entity id: one query."""
    rows = LearnerVariant.objects.filter(user_id=user_id, course_key=str(course_key))
    return {row.selector_id: _stored(row) for row in rows}


def create_variants(
    user_id: int, course_key: CourseKey, variants: Iterable[NewVariant], token: str
) -> dict[int, StoredVariant]:
    """
    Store Variants that do not exist yet and return what is stored for each selector afterwards.

    Two queries whatever the number: an INSERT that skips rows another request stored first, and a
    locking re-read. A row whose ``writer_token`` is ``token`` is this call's; any other, a winner's.
    """
    # One canonical order (by selector) for every request: two requests inserting the same rows lock
    # them in the same order, instead of each holding one the other waits for.
    variants = sorted(variants, key=lambda new: new.selector_entity_id)
    if not variants:
        return {}
    with transaction.atomic():
        LearnerVariant.objects.bulk_create(
            [
                LearnerVariant(
                    selector_id=new.selector_entity_id, user_id=user_id, course_key=str(course_key),
                    entities=list(new.entities), selector_version_id=new.selector_version_id,
                    rules_version_id=new.rules_version_id, group_id=new.group_id, generation=new.generation,
                    writer_token=token,
                )
                for new in variants
            ],
            ignore_conflicts=True,
        )
        rows = _shared_locking_read(
            LearnerVariant.objects.filter(
                _one_of(
                    {"selector_id": new.selector_entity_id, "user_id": user_id, "course_key": str(course_key)}
                    for new in variants
                )
            )
        )
        return {row.selector_id: _stored(row) for row in rows}


def replace_variant(
    user_id: int, course_key: CourseKey, variant: NewVariant, token: str, *, replacing: StoredVariant
) -> StoredVariant | None:
    """
    Store ``variant`` over ``replacing`` (re-evaluated after a pool or rule change, or reset).

    Only if the stored row is still ``replacing``: when another request changed it meanwhile, nothing
    is written and None is returned (read the row again and show that one). One query.
    """
    changed = LearnerVariant.objects.filter(
        selector_id=variant.selector_entity_id, user_id=user_id, course_key=str(course_key),
        writer_token=replacing.writer_token, generation=replacing.generation,
    ).update(
        entities=list(variant.entities), selector_version_id=variant.selector_version_id,
        rules_version_id=variant.rules_version_id, group_id=variant.group_id,
        generation=variant.generation, writer_token=token, modified=timezone.now(),
    )
    if not changed:
        return None
    return StoredVariant(
        variant.selector_entity_id, user_id, tuple(variant.entities), variant.selector_version_id,
        variant.rules_version_id, variant.group_id, variant.generation, token,
    )


def reread_variant(user_id: int, course_key: CourseKey, selector_entity_id: int) -> StoredVariant | None:
    """The learner's stored Variant of one selector, read with a shared lock (after losing a race)."""
    rows = _shared_locking_read(
        LearnerVariant.objects.filter(selector_id=selector_entity_id, user_id=user_id, course_key=str(course_key))
    )
    return _stored(rows[0]) if rows else None


def variants_of_selector(course_key: CourseKey, selector_entity_id: int) -> list[StoredVariant]:
    """Every learner's Variant of one selector in one course run (for analytics), by learner."""
    rows = LearnerVariant.objects.filter(course_key=str(course_key), selector_id=selector_entity_id).order_by("user_id")
    return [_stored(row) for row in rows]


def learner_partition_groups(user_id: int, course_key: CourseKey) -> dict[int, int]:
    """The learner's group in each partition of the run it has been assigned in: ``{partition: group}``."""
    rows = PartitionGroup.objects.filter(user_id=user_id, course_key=str(course_key))
    return dict(rows.values_list("partition_id", "group_id"))


def create_partition_groups(
    user_id: int, course_key: CourseKey, groups: Iterable[NewPartitionGroup], token: str
) -> dict[int, tuple[int, bool]]:
    """
    Assign the learner to groups in partitions it has no group in yet; replace groups that no longer exist.

    Returns ``{partition: (group, assigned_by_this_call)}`` for each partition asked about.
    """
    groups = sorted(groups, key=lambda new: new.partition_id)  # one order for every request, as for Variants
    if not groups:
        return {}
    with transaction.atomic():
        PartitionGroup.objects.bulk_create(
            [
                PartitionGroup(user_id=user_id, course_key=str(course_key), partition_id=new.partition_id,
                               group_id=new.group_id, writer_token=token)
                for new in groups
            ],
            ignore_conflicts=True,
        )
        rows = _shared_locking_read(
            PartitionGroup.objects.filter(
                _one_of(
                    {"user_id": user_id, "course_key": str(course_key), "partition_id": new.partition_id}
                    for new in groups
                )
            )
        )
        return {row.partition_id: (row.group_id, row.writer_token == token) for row in rows}


def reassign_partition_group(
    user_id: int, course_key: CourseKey, partition_id: int, group_id: int, token: str, *, replacing: int
) -> tuple[int, bool]:
    """
    Move a learner whose group ``replacing`` left the partition to ``group_id``.

    Returns the learner's group now and whether this call moved it: if another request moved it
    first, that request's choice stands.
    """
    moved = PartitionGroup.objects.filter(
        user_id=user_id, course_key=str(course_key), partition_id=partition_id, group_id=replacing
    ).update(group_id=group_id, writer_token=token, modified=timezone.now())
    if moved:
        return group_id, True
    rows = _shared_locking_read(
        PartitionGroup.objects.filter(user_id=user_id, course_key=str(course_key), partition_id=partition_id)
    )
    return (rows[0].group_id if rows else group_id), False


def set_partition_group(user_id: int, course_key: CourseKey, partition_id: int, group_id: int) -> int | None:
    """
    Put a learner in ``group_id`` of a partition, in place of any group it had there; return that group, or None.

    For groups given by hand (a cohort, an enrollment track, a tester put in one arm of an experiment):
    it is the row the learner's split tests on the partition read. One transaction, the learner's
    choices and then the row locked: a concurrent assignment (by hand, or a first visit's random one)
    waits, and the last writer's group stands.
    """
    key = str(course_key)
    token = new_writer_token()
    with transaction.atomic():
        # The choices lock first, as a first visit takes it before the groups: never the other way round.
        lock_learner_choices(user_id, course_key)
        # get_or_create reads again after losing the INSERT race, so the row is then the winner's, locked.
        row, created = PartitionGroup.objects.select_for_update().get_or_create(
            user_id=user_id, course_key=key, partition_id=partition_id,
            defaults={"group_id": group_id, "writer_token": token},
        )
        if created:
            return None
        previous = row.group_id
        if previous != group_id:
            row.group_id, row.writer_token = group_id, token
            row.save(update_fields=["group_id", "writer_token", "modified"])
        return previous


def remove_partition_group(user_id: int, course_key: CourseKey, partition_id: int) -> bool:
    """
    Take a learner out of its group in a partition; False if it had none.

    A random partition gives the learner a group again on its next visit to a split test on it.
    """
    lock_learner_choices(user_id, course_key)  # inside a transaction, first, as a first visit takes it
    deleted, _ = PartitionGroup.objects.filter(
        user_id=user_id, course_key=str(course_key), partition_id=partition_id
    ).delete()
    return bool(deleted)


def _learners_by_group(rows) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for user_id, group_id in rows.order_by("group_id", "user_id").values_list("user_id", "group_id"):
        found.setdefault(group_id, []).append(user_id)
    return found


def learners_by_partition_group(course_key: CourseKey, partition_id: int) -> dict[int, list[int]]:
    """``{group: [learner ids]}`` for one partition of one course run, groups and learners in order."""
    return _learners_by_group(PartitionGroup.objects.filter(course_key=str(course_key), partition_id=partition_id))


def learners_by_partition(course_key: CourseKey) -> dict[int, dict[int, list[int]]]:
    """``{partition: {group: [learner ids]}}`` for every partition of one course run that has learners: one query."""
    found: dict[int, dict[int, list[int]]] = {}
    rows = PartitionGroup.objects.filter(course_key=str(course_key)).order_by("partition_id", "group_id", "user_id")
    for partition_id, group_id, user_id in rows.values_list("partition_id", "group_id", "user_id"):
        found.setdefault(partition_id, {}).setdefault(group_id, []).append(user_id)
    return found


# ---- many learners at once (the cutover from edx-platform: lc_runtime.content.learners.cutover)


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk write found for each row asked for: created by it, already stored as asked, or stored otherwise."""

    created: frozenset = frozenset()
    present: frozenset = frozenset()
    different: frozenset = frozenset()


def store_variants_of_learners(
    course_key: CourseKey, variants: dict[tuple[int, int], NewVariant], token: str
) -> BulkOutcome:
    """
    Store ``{(user_id, selector_entity_id): NewVariant}`` where the learner has no Variant of that selector.

    A stored Variant is never replaced: one showing the same members is ``present``, any other
    ``different``. At most three queries whatever the number (a shared-locking read of what is stored,
    an INSERT skipping rows stored meanwhile, a shared-locking re-read), inside the caller's transaction.
    Rows are inserted by learner, then selector: for each learner, the order of its own requests.
    """
    if not variants:
        return BulkOutcome()
    key = str(course_key)

    def stored() -> dict[tuple[int, int], StoredVariant]:
        rows = _shared_locking_read(LearnerVariant.objects.filter(
            course_key=key, user_id__in=sorted({user for user, _ in variants}),
            selector_id__in=sorted({selector for _, selector in variants}),
        ))
        return {(row.user_id, row.selector_id): _stored(row) for row in rows}

    def same(row: StoredVariant, new: NewVariant) -> bool:
        return [list(e) for e in row.entities] == [list(e) for e in new.entities] and row.group_id == new.group_id

    with transaction.atomic():
        before = stored()
        missing = sorted(wanted for wanted in variants if wanted not in before)
        after = before
        if missing:
            LearnerVariant.objects.bulk_create(
                [
                    LearnerVariant(
                        selector_id=selector, user_id=user, course_key=key, entities=list(new.entities),
                        selector_version_id=new.selector_version_id, rules_version_id=new.rules_version_id,
                        group_id=new.group_id, generation=new.generation, writer_token=token,
                    )
                    for user, selector in missing
                    for new in [variants[(user, selector)]]
                ],
                ignore_conflicts=True,
            )
            after = stored()
    created, present, different = set(), set(), set()
    for wanted, new in variants.items():
        row = after.get(wanted)
        if row is not None and wanted not in before and row.writer_token == token:
            created.add(wanted)
        elif row is not None and same(row, new):
            present.add(wanted)
        else:
            different.add(wanted)
    return BulkOutcome(frozenset(created), frozenset(present), frozenset(different))


def store_partition_groups_of_learners(
    course_key: CourseKey, groups: dict[tuple[int, int], int], token: str
) -> BulkOutcome:
    """
    Store ``{(user_id, partition_id): group_id}`` where the learner has no group in that partition.

    A stored group is never changed: the same group is ``present``, another ``different``. At most three
    queries whatever the number, as :func:`store_variants_of_learners`.
    """
    if not groups:
        return BulkOutcome()
    key = str(course_key)

    def stored() -> dict[tuple[int, int], PartitionGroup]:
        rows = _shared_locking_read(PartitionGroup.objects.filter(
            course_key=key, user_id__in=sorted({user for user, _ in groups}),
            partition_id__in=sorted({partition for _, partition in groups}),
        ))
        return {(row.user_id, row.partition_id): row for row in rows}

    with transaction.atomic():
        before = stored()
        missing = sorted(wanted for wanted in groups if wanted not in before)
        after = before
        if missing:
            PartitionGroup.objects.bulk_create(
                [
                    PartitionGroup(user_id=user, course_key=key, partition_id=partition,
                                   group_id=groups[(user, partition)], writer_token=token)
                    for user, partition in missing
                ],
                ignore_conflicts=True,
            )
            after = stored()
    created, present, different = set(), set(), set()
    for wanted, group_id in groups.items():
        row = after.get(wanted)
        if row is not None and wanted not in before and row.writer_token == token:
            created.add(wanted)
        elif row is not None and row.group_id == group_id:
            present.add(wanted)
        else:
            different.add(wanted)
    return BulkOutcome(frozenset(created), frozenset(present), frozenset(different))
