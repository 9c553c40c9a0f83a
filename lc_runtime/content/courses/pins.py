"""
The published (or draft) state of a LearningPackage as of one of its PublishLogs (DraftChangeLogs), read
in one query.

A course run pinned to a publish shows learners what was published then, not what is published
now. openedx-core answers that question for one entity at a time
(``publishing.api.get_published_version_as_of``: the ``new_version`` of the entity's latest
PublishLogRecord at or before the log). A course tree needs it for every entity at once, so this
asks the same question for the whole package in a single query, with the version rows (and whether
each is a container or a component version) joined in.

The tree loader also uses these to read a whole tree as of the snapshot it started from when a publish
(or draft change) commits while it reads (see ``tree.load_course_tree``).
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from openedx_content.models_api import DraftChangeLogRecord, PublishableEntityVersion, PublishLogRecord

__all__ = ["draft_versions_as_of", "published_versions_as_of"]


def published_versions_as_of(package_id: int, publish_log_id: int) -> dict[int, PublishableEntityVersion]:
    """
    ``{entity id: version}`` for every entity of the package that was published as of ``publish_log_id``.

    An entity whose latest record at that point unpublished it (a deletion: ``new_version`` empty) or
    that had never been published is absent. Each version comes with its ``containerversion`` or
    ``componentversion`` already loaded. One query, whatever the package's size or history (it uses
    openedx-core's index on ``(entity, -publish_log)``).
    """
    latest_record = (
        PublishLogRecord.objects.filter(entity_id=OuterRef("entity_id"), publish_log_id__lte=publish_log_id)
        .order_by("-publish_log_id")
        .values("id")[:1]
    )
    records = (
        PublishLogRecord.objects.filter(
            publish_log__learning_package_id=package_id,
            publish_log_id__lte=publish_log_id,
            id=Subquery(latest_record),
            new_version__isnull=False,
        )
        .select_related("new_version__containerversion", "new_version__componentversion")
    )
    return {record.entity_id: record.new_version for record in records}


def draft_versions_as_of(package_id: int, draft_change_log_id: int) -> dict[int, PublishableEntityVersion]:
    """
    ``{entity id: version}`` for every entity of the package that had a draft as of ``draft_change_log_id``.

    The draft twin of :func:`published_versions_as_of`: the ``new_version`` of each entity's latest
    DraftChangeLogRecord at or before that log; an entity whose latest record deleted its draft, or
    that had no draft yet, is absent. One query.
    """
    latest_record = (
        DraftChangeLogRecord.objects.filter(
            entity_id=OuterRef("entity_id"), draft_change_log_id__lte=draft_change_log_id
        )
        .order_by("-draft_change_log_id")
        .values("id")[:1]
    )
    records = (
        DraftChangeLogRecord.objects.filter(
            draft_change_log__learning_package_id=package_id,
            draft_change_log_id__lte=draft_change_log_id,
            id=Subquery(latest_record),
            new_version__isnull=False,
        )
        .select_related("new_version__containerversion", "new_version__componentversion")
    )
    return {record.entity_id: record.new_version for record in records}
