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
    return _versions_as_of(PublishLogRecord, "publish_log", package_id, publish_log_id)


def draft_versions_as_of(package_id: int, draft_change_log_id: int) -> dict[int, PublishableEntityVersion]:
    """
    ``{entity id: version}`` for every entity of the package that had a draft as of ``draft_change_log_id``.

    The draft twin of :func:`published_versions_as_of`: the ``new_version`` of each entity's latest
    DraftChangeLogRecord at or before that log; an entity whose latest record deleted its draft, or
    that had no draft yet, is absent. One query.
    """
    return _versions_as_of(DraftChangeLogRecord, "draft_change_log", package_id, draft_change_log_id)


def _versions_as_of(record_model, log_field: str, package_id: int, log_id: int) -> dict[int, PublishableEntityVersion]:
    """
    ``{entity id: version}`` from each entity's latest record (of ``record_model``, a publish or a
    draft change log record) at or before log ``log_id``, leaving out entities whose latest record
    has no new version. One query.
    """
    up_to_log = {f"{log_field}_id__lte": log_id}
    latest_record = (
        record_model.objects.filter(entity_id=OuterRef("entity_id"), **up_to_log)
        .order_by(f"-{log_field}_id")
        .values("id")[:1]
    )
    records = record_model.objects.filter(
        **{f"{log_field}__learning_package_id": package_id},
        **up_to_log,
        id=Subquery(latest_record),
        new_version__isnull=False,
    ).select_related("new_version__containerversion", "new_version__componentversion")
    return {record.entity_id: record.new_version for record in records}
