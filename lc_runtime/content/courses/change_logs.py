"""
openedx-core's change-log bookkeeping for a whole course at once: side effects, publishing, events.

openedx-core records every draft change and every publish as a log with one record per entity, and
a *side effect* wherever a changed entity is a dependency of another's current version (a
component's edit "affects" its Unit, the Unit its Subsection...). It computes those side effects
entity by entity, with a few queries per record and per affected parent: fine for a Studio edit,
thousands of queries for a course import or the publish of a course (ADR 0020). Here the same rows
are computed in memory from the package's dependency edges, read in one query, and written in bulk;
the dependency hashes are then left to openedx-core's own function, and the same events are sent
after the commit. The rows are those openedx-core writes, so everything of openedx-core that reads
them afterwards (its next change logs, ``with_unpublished_changes``, history) sees no difference.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model, QuerySet
from openedx_content import api as content_api
from openedx_content.applets.publishing.api import update_dependencies_hash_digests_for_log
from openedx_content.applets.publishing.contextmanagers import DraftChangeLogContext
from openedx_content.models_api import (
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    Published,
    PublishLog,
    PublishLogRecord,
    PublishSideEffect,
)

__all__ = ["publish_drafts", "record_side_effects", "announce_change_log"]


@dataclass(frozen=True)
class _Branch:
    """What differs between the draft and the published side of openedx-core's logs."""

    pointer: type[Model]
    """Draft or Published: each entity's current version on this side, and its latest log record."""
    record: type[Model]
    side_effect: type[Model]
    log_field: str
    """The record's foreign key to its log."""
    record_field: str
    """The pointer's foreign key to the entity's latest record."""


_DRAFT = _Branch(Draft, DraftChangeLogRecord, DraftSideEffect, "draft_change_log", "draft_log_record")
_PUBLISHED = _Branch(Published, PublishLogRecord, PublishSideEffect, "publish_log", "publish_log_record")


def _branch_of(log: DraftChangeLog | PublishLog) -> _Branch:
    if isinstance(log, DraftChangeLog):
        return _DRAFT
    if isinstance(log, PublishLog):
        return _PUBLISHED
    raise TypeError(f"expected a DraftChangeLog or a PublishLog, not {type(log).__name__}")


def record_side_effects(log: DraftChangeLog | PublishLog) -> None:
    """
    Write the side effects of every record of ``log`` (written, with its Draft or Published rows, before).

    For each entity the log changed, every entity whose current version (on the log's side) depends on
    it is affected, and so on upwards: an affected entity the log did not change gets a record whose old
    and new version are its current one; each cause gets a side effect row pointing at the affected
    entity's record; each affected entity's pointer moves to its record in this log. Then openedx-core
    computes the dependency hashes of the log's records. The same rows as openedx-core's own
    ``_create_side_effects_for_change_log``, in a fixed number of queries whatever the course's size.
    """
    branch = _branch_of(log)
    records = branch.record.objects.filter(**{branch.log_field: log})
    record_ids = dict(records.values_list("entity_id", "pk"))
    if not record_ids:
        return
    # Every dependency edge among the package's current versions on this side, in one query.
    affected_by: dict[int, list[tuple[int, int, int | None]]] = {}
    edges = branch.pointer.objects.filter(
        entity__learning_package_id=log.learning_package_id, version__dependencies__isnull=False
    ).values_list("version__dependencies", "entity_id", "version_id", f"{branch.record_field}_id")
    for dependency, entity_id, version_id, pointer in edges:
        affected_by.setdefault(dependency, []).append((entity_id, version_id, pointer))

    pure_effects: dict[int, int] = {}  # affected entity the log did not change -> its current version
    effects: dict[tuple[int, int], None] = {}  # (cause entity, affected entity), in discovery order
    pointers: dict[int, int | None] = {}  # affected entity -> its pointer's record now
    processed: set[int] = set()
    for cause in sorted(record_ids, key=record_ids.__getitem__):
        pending = [(cause, affected) for affected in affected_by.get(cause, ())]
        while pending:
            cause_id, (affected_id, version_id, pointer) = pending.pop()
            if affected_id not in record_ids and affected_id not in pure_effects:
                pure_effects[affected_id] = version_id
            pointers[affected_id] = pointer
            effects[(cause_id, affected_id)] = None
            processed.add(cause_id)
            pending.extend(
                (affected_id, above) for above in affected_by.get(affected_id, ()) if above[0] not in processed
            )
    if pure_effects:
        branch.record.objects.bulk_create(
            branch.record(
                **{branch.log_field: log}, entity_id=entity_id, old_version_id=version_id, new_version_id=version_id
            )
            for entity_id, version_id in pure_effects.items()
        )
        record_ids.update(records.filter(entity_id__in=list(pure_effects)).values_list("entity_id", "pk"))
    branch.side_effect.objects.bulk_create(
        branch.side_effect(cause_id=record_ids[cause], effect_id=record_ids[affected]) for cause, affected in effects
    )
    moved = [
        branch.pointer(entity_id=entity_id, **{f"{branch.record_field}_id": record_ids[entity_id]})
        for entity_id, pointer in pointers.items()
        if pointer != record_ids[entity_id]
    ]
    branch.pointer.objects.bulk_update(moved, [branch.record_field], batch_size=500)
    update_dependencies_hash_digests_for_log(log)


def announce_change_log(log: DraftChangeLog | PublishLog, *, timestamp: datetime, user_id: int | None) -> None:
    """
    Send openedx-core's event for ``log`` (``ENTITIES_DRAFT_CHANGED`` or ``ENTITIES_PUBLISHED``) once the
    transaction commits, with the payload openedx-core's own writes send.
    """
    branch = _branch_of(log)
    rows = list(
        branch.record.objects.filter(**{branch.log_field: log}).order_by("pk").values_list(
            "entity_id", "old_version_id", "old_version__version_num", "new_version_id", "new_version__version_num",
            *(("direct",) if branch is _PUBLISHED else ()),
        )
    )
    restored: set[int] = set()
    if branch is _DRAFT:
        # A draft that comes back from None: restored if an earlier log ever recorded the entity.
        candidates = [row[0] for row in rows if row[1] is None and row[3] is not None]
        if candidates:
            restored = set(
                DraftChangeLogRecord.objects.filter(entity_id__in=candidates)
                .exclude(draft_change_log=log).values_list("entity_id", flat=True)
            )
    changes = [
        content_api.signals.ChangeLogRecordData(
            entity_id=row[0], old_version=row[2], old_version_id=row[1], new_version=row[4], new_version_id=row[3],
            direct=row[5] if branch is _PUBLISHED else None, restored=row[0] in restored,
        )
        for row in rows
    ]
    package = content_api.get_learning_package(log.learning_package_id)
    if branch is _DRAFT:
        signal = content_api.signals.ENTITIES_DRAFT_CHANGED
        data = content_api.signals.DraftChangeLogEventData(draft_change_log_id=log.id, changes=changes)
    else:
        signal = content_api.signals.ENTITIES_PUBLISHED
        data = content_api.signals.PublishLogEventData(publish_log_id=log.id, changes=changes)
    transaction.on_commit(partial(
        signal.send_event,
        time=timestamp,
        learning_package=content_api.signals.LearningPackageEventData(id=package.id, title=package.title),
        changed_by=content_api.signals.UserAttributionEventData(user_id=user_id),
        change_log=data,
    ))


def _dependencies_of(package_id: int, entity_ids: Iterable[int]) -> list[int]:
    """Every entity the drafts of ``entity_ids`` depend on, at any depth, nearest first."""
    depends_on: dict[int, list[int]] = {}
    edges = Draft.objects.filter(
        entity__learning_package_id=package_id, version__dependencies__isnull=False
    ).values_list("entity_id", "version__dependencies")
    for entity_id, dependency in edges:
        depends_on.setdefault(entity_id, []).append(dependency)
    found: dict[int, None] = {}
    layer = list(entity_ids)
    seen = set(layer)
    while layer:
        below = []
        for entity_id in layer:
            for dependency in depends_on.get(entity_id, ()):
                if dependency not in seen:
                    seen.add(dependency)
                    found[dependency] = None
                    below.append(dependency)
        layer = below
    return list(found)


def publish_drafts(
    package_id: int,
    drafts: QuerySet[Draft],
    *,
    message: str = "",
    published_by: int | None = None,
    published_at: datetime | None = None,
    with_dependencies: bool = True,
) -> PublishLog:
    """
    Publish ``drafts`` (Drafts of the package) and every draft they depend on that has unpublished changes
    (without ``with_dependencies``: those drafts only, as a container's own version, its children left
    as they are published).

    What openedx-core's ``publish_from_drafts`` does — one PublishLog, a record per entity (``direct``
    for the ones asked for), the Published rows, side effects, dependency hashes, ``ENTITIES_PUBLISHED``
    after the commit — in a fixed number of queries: its side effects cost a few queries per entity,
    which for a course of a thousand blocks is most of an import's time.
    """
    if DraftChangeLogContext.get_active_draft_change_log(package_id) is not None:
        raise ValidationError(f"Cannot publish learning package {package_id} while its draft changes are open.")
    published_at = published_at or datetime.now(tz=UTC)
    columns = ("pk", "entity_id", "version_id", "entity__published__version_id", "entity__learning_package_id")
    with transaction.atomic():
        direct = list(drafts.order_by("pk").values_list(*columns))
        dependencies = _dependencies_of(package_id, [row[1] for row in direct]) if with_dependencies else []
        indirect = list(
            Draft.objects.filter(entity_id__in=dependencies).with_unpublished_changes().values_list(*columns)
        ) if dependencies else []
        order = {entity_id: i for i, entity_id in enumerate(dependencies)}
        indirect.sort(key=lambda row: order[row[1]])
        log = PublishLog(
            learning_package_id=package_id, message=message, published_at=published_at, published_by_id=published_by
        )
        log.full_clean()
        log.save(force_insert=True)
        to_publish: dict[int, int | None] = {}  # entity -> version
        records = []
        for group, is_direct in ((direct, True), (indirect, False)):
            for _pk, entity_id, version_id, published_version_id, entity_package in group:
                if entity_id in to_publish:
                    continue
                if entity_package != package_id:
                    raise ValidationError(
                        f"Draft entity (id={entity_id}) is from learning package {entity_package}; "
                        f"expected learning package {package_id}."
                    )
                to_publish[entity_id] = version_id
                records.append(PublishLogRecord(
                    publish_log=log, entity_id=entity_id, old_version_id=published_version_id,
                    new_version_id=version_id, direct=is_direct,
                ))
        if records:
            PublishLogRecord.objects.bulk_create(records)
            record_ids = dict(PublishLogRecord.objects.filter(publish_log=log).values_list("entity_id", "pk"))
            Published.objects.bulk_create(
                [
                    Published(entity_id=entity_id, version_id=version_id, publish_log_record_id=record_ids[entity_id])
                    for entity_id, version_id in to_publish.items()
                ],
                update_conflicts=True,
                update_fields=["version", "publish_log_record"],
                unique_fields=["entity"] if connection.features.supports_update_conflicts_with_target else None,
            )
        record_side_effects(log)
        announce_change_log(log, timestamp=published_at, user_id=published_by)
    return log
