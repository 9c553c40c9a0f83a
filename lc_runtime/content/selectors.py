"""
Storing selectors and their Variants: the one place that writes a selector's pool and its proxy.

A selector (``split_test``, ``randomize``, ``library_content``, ``itembank`` or a plugin's) is two
entities. Its *pool* is a :class:`~lc_runtime.content.models.Selector` container. Its *rules* are
the OLX of a proxy component ``xblock.v1:<tag>``, which stands in the parent Unit (Units hold only
Components) and whose versions depend on the pool container, so that publishing the Unit publishes
the selector and its pool, and a pool edit shows as an unpublished change of the Unit.

openedx-core records a dependency per *version* and computes hashes and side effects when a draft
change log closes. So this module, and only this module, enforces:

- every new proxy version declares its dependency on the pool again (a version without it would
  stop publishing the pool),
- the version and its dependency are created inside one draft change log,
- the dependency is the one source of truth for which pool a proxy uses,
- the rules live in the proxy's OLX, never on the container (new container versions drop them).

``set_version_dependencies`` is not part of ``openedx_content.api``: it is imported here and
nowhere else, and ``tests/test_selector_storage.py`` covers it so that an upstream change shows.

Variants and partition groups are written with one INSERT that ignores conflicts followed by one
locking re-read: concurrent first visits of one learner meet on the unique constraint and all read
the same row, whatever the isolation level, and a request creates any number of them in a fixed
number of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.db import connection, transaction
from openedx_content import api as content_api
from openedx_content.applets.publishing.api import set_version_dependencies
from openedx_content.applets.publishing.contextmanagers import DraftChangeLogContext
from openedx_content.models_api import Container, PublishableEntity, PublishableEntityVersionDependency

from lc_runtime.content.models import PartitionGroup, Selector, Variant
from lc_runtime.content.writes import CourseWriter, bulk_changes, utc_now
from lc_runtime.keys import container_code

__all__ = [
    "SYNTHETIC_UNIT_MARK",
    "SYNTHETIC_UNIT_SUFFIX",
    "NewPartitionGroup",
    "NewVariant",
    "StoredVariant",
    "create_partition_groups",
    "create_variants",
    "declare_selector_dependency",
    "learner_partition_groups",
    "learner_variants",
    "learners_by_partition_group",
    "new_writer_token",
    "reassign_partition_group",
    "replace_variant",
    "reread_variant",
    "selector_pool_of",
    "variants_of_selector",
    "write_selector",
]


# ---- authoring: the pool container and the proxy component

SYNTHETIC_UNIT_SUFFIX = "__lc_unit"
"""Appended to a selector's id to name the Unit that wraps it when it stands directly in a Subsection."""
SYNTHETIC_UNIT_MARK = "lc_synthetic_unit_for"
"""Key in a wrapper Unit's ``ContainerSettings.extra_attributes``: the tag of the selector it wraps."""


@contextmanager
def _draft_change(package_id: int, changed_by: int | None) -> Iterator[None]:
    """Join the package's open draft change log, or open one: versions and dependencies land together."""
    active = DraftChangeLogContext.get_active_draft_change_log(package_id)
    with nullcontext() if active is not None else bulk_changes(package_id, changed_by=changed_by):
        yield


def _selector_code(block_type: str, block_id: str) -> str:
    return container_code(block_type, block_id)


def _write_pool(writer: CourseWriter, block_type: str, block_id: str, title: str, pool: Sequence[int]) -> int:
    code = _selector_code(block_type, block_id)
    entities_by_id = {entity.id: entity for entity in PublishableEntity.objects.filter(id__in=list(pool))}
    entities = [entities_by_id[entity_id] for entity_id in pool]
    container = Container.objects.filter(learning_package_id=writer.package_id, container_code=code).first()
    if container is None:
        container, _version = content_api.create_container_and_version(
            writer.package_id, code, title=title, container_cls=Selector, entities=entities,
            created=utc_now(), created_by=writer.created_by,
        )
        return container.id
    draft = container.versioning.draft
    if draft is not None and draft.title == title:
        rows = draft.entity_list.entitylistrow_set.order_by("order_num").values_list("entity_id", flat=True)
        if list(rows) == list(pool):
            return container.id
    content_api.create_next_container_version(
        container.id, title=title, entities=entities, created=utc_now(), created_by=writer.created_by
    )
    return container.id


def selector_pool_of(version_id: int) -> int | None:
    """The pool container a proxy component version depends on, or None if it is not a proxy."""
    return (
        PublishableEntityVersionDependency.objects.filter(
            referring_version_id=version_id, referenced_entity__container__container_type__type_code="lc_selector"
        )
        .values_list("referenced_entity_id", flat=True)
        .first()
    )


def declare_selector_dependency(previous_version_id: int | None, new_version_id: int) -> None:
    """
    Carry a proxy's dependency on its pool to the proxy's next version (a no-op for other components).

    Call inside the draft change log that created ``new_version_id``; :func:`write_selector` and
    :func:`lc_runtime.content.writes.update_component` do.
    """
    if previous_version_id is None:
        return
    pool = selector_pool_of(previous_version_id)
    if pool is not None:
        set_version_dependencies(new_version_id, [pool])


def write_selector(
    writer: CourseWriter, block_type: str, block_id: str, rules_olx: str, title: str, pool: Sequence[int]
) -> int:
    """
    Store one selector: ``pool`` (entity ids, in order) as its pool container, ``rules_olx`` (the
    selector's element without children) as its proxy component; return the proxy's entity id.

    Creates a version of either only when it changed, and always declares the proxy version's
    dependency on the pool in the same draft change log.
    """
    with _draft_change(writer.package_id, writer.created_by):
        pool_id = _write_pool(writer, block_type, block_id, title, pool)
        return writer.write_component(
            block_type, block_id, rules_olx, title,
            still_current=lambda version: selector_pool_of(version.pk) == pool_id,
            on_new_version=lambda version_pk: set_version_dependencies(version_pk, [pool_id]),
        )


# ---- learners: Variants and partition groups


def new_writer_token() -> str:
    """A token naming one request's writes, so that after a race it knows which rows are its own."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class StoredVariant:
    """A Variant as stored."""

    selector_entity_id: int
    user_id: int
    course_key: str
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


def _stored(row: Variant) -> StoredVariant:
    return StoredVariant(
        row.selector_id, row.user_id, row.course_key, tuple(row.entities), row.selector_version_id,
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


def learner_variants(user_id: int, course_key: str) -> dict[int, StoredVariant]:
    """Every Variant of one learner in one course run, by selector entity id: one query."""
    rows = Variant.objects.filter(user_id=user_id, course_key=course_key)
    return {row.selector_id: _stored(row) for row in rows}


def create_variants(
    user_id: int, course_key: str, variants: Iterable[NewVariant], token: str
) -> dict[int, StoredVariant]:
    """
    Store Variants that do not exist yet and return what is stored for each selector afterwards.

    Two queries whatever the number: an INSERT that skips rows another request stored first, and a
    locking re-read. A row whose ``writer_token`` is ``token`` is this call's; any other, a winner's.
    """
    variants = list(variants)
    if not variants:
        return {}
    with transaction.atomic():
        Variant.objects.bulk_create(
            [
                Variant(
                    selector_id=new.selector_entity_id, user_id=user_id, course_key=course_key,
                    entities=list(new.entities), selector_version_id=new.selector_version_id,
                    rules_version_id=new.rules_version_id, group_id=new.group_id, generation=new.generation,
                    writer_token=token,
                )
                for new in variants
            ],
            ignore_conflicts=True,
        )
        rows = _shared_locking_read(
            Variant.objects.filter(
                user_id=user_id, course_key=course_key,
                selector_id__in=[new.selector_entity_id for new in variants],
            )
        )
        return {row.selector_id: _stored(row) for row in rows}


def replace_variant(
    user_id: int, course_key: str, variant: NewVariant, token: str, *, replacing: StoredVariant
) -> StoredVariant | None:
    """
    Store ``variant`` over ``replacing`` (re-evaluated after a pool or rule change, or reset).

    Only if the stored row is still ``replacing``: when another request changed it meanwhile, nothing
    is written and None is returned (read the row again and show that one). One query.
    """
    changed = Variant.objects.filter(
        selector_id=variant.selector_entity_id, user_id=user_id, course_key=course_key,
        writer_token=replacing.writer_token, generation=replacing.generation,
    ).update(
        entities=list(variant.entities), selector_version_id=variant.selector_version_id,
        rules_version_id=variant.rules_version_id, group_id=variant.group_id,
        generation=variant.generation, writer_token=token, modified=utc_now(),
    )
    if not changed:
        return None
    return StoredVariant(
        variant.selector_entity_id, user_id, course_key, tuple(variant.entities), variant.selector_version_id,
        variant.rules_version_id, variant.group_id, variant.generation, token,
    )


def reread_variant(user_id: int, course_key: str, selector_entity_id: int) -> StoredVariant | None:
    """The learner's stored Variant of one selector, read with a shared lock (after losing a race)."""
    rows = _shared_locking_read(
        Variant.objects.filter(selector_id=selector_entity_id, user_id=user_id, course_key=course_key)
    )
    return _stored(rows[0]) if rows else None


def variants_of_selector(course_key: str, selector_entity_id: int) -> list[StoredVariant]:
    """Every learner's Variant of one selector in one course run (for analytics), by learner."""
    rows = Variant.objects.filter(course_key=course_key, selector_id=selector_entity_id).order_by("user_id")
    return [_stored(row) for row in rows]


def learner_partition_groups(user_id: int, course_key: str) -> dict[int, int]:
    """The learner's group in each partition of the run it has been assigned in: ``{partition: group}``."""
    rows = PartitionGroup.objects.filter(user_id=user_id, course_key=course_key)
    return dict(rows.values_list("partition_id", "group_id"))


def create_partition_groups(
    user_id: int, course_key: str, groups: Iterable[NewPartitionGroup], token: str
) -> dict[int, tuple[int, bool]]:
    """
    Assign the learner to groups in partitions it has no group in yet; replace groups that no longer exist.

    Returns ``{partition: (group, assigned_by_this_call)}`` for each partition asked about.
    """
    groups = list(groups)
    if not groups:
        return {}
    with transaction.atomic():
        PartitionGroup.objects.bulk_create(
            [
                PartitionGroup(user_id=user_id, course_key=course_key, partition_id=new.partition_id,
                               group_id=new.group_id, writer_token=token)
                for new in groups
            ],
            ignore_conflicts=True,
        )
        rows = _shared_locking_read(
            PartitionGroup.objects.filter(
                user_id=user_id, course_key=course_key, partition_id__in=[new.partition_id for new in groups]
            )
        )
        return {row.partition_id: (row.group_id, row.writer_token == token) for row in rows}


def reassign_partition_group(
    user_id: int, course_key: str, partition_id: int, group_id: int, token: str, *, replacing: int
) -> tuple[int, bool]:
    """
    Move a learner whose group ``replacing`` left the partition to ``group_id``.

    Returns the learner's group now and whether this call moved it: if another request moved it
    first, that request's choice stands.
    """
    moved = PartitionGroup.objects.filter(
        user_id=user_id, course_key=course_key, partition_id=partition_id, group_id=replacing
    ).update(group_id=group_id, writer_token=token, modified=utc_now())
    if moved:
        return group_id, True
    rows = _shared_locking_read(
        PartitionGroup.objects.filter(user_id=user_id, course_key=course_key, partition_id=partition_id)
    )
    return (rows[0].group_id if rows else group_id), False


def learners_by_partition_group(course_key: str, partition_id: int) -> dict[int, list[int]]:
    """``{group: [learner ids]}`` for one partition of one course run."""
    found: dict[int, list[int]] = {}
    rows = PartitionGroup.objects.filter(course_key=course_key, partition_id=partition_id).order_by("user_id")
    for user_id, group_id in rows.values_list("user_id", "group_id"):
        found.setdefault(group_id, []).append(user_id)
    return found
