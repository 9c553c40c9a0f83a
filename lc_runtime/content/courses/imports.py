"""
Publishing what an import wrote, and nothing else.

An import writes the export's published course first (with ``CourseWriter(keep_drafts=True)``), publishes
it, then writes the export's ``drafts/`` on top. Publishing every draft of the package there would
also publish what the export says is *not* published: the drafts a previous import of the same export
left (a Unit that exists only in ``drafts/``, a published Unit's draft changes) and blocks made in
Studio that the export does not hold. So the publish leaves out the blocks whose draft the writer kept
and the outline blocks it did not write; re-importing an unchanged export then publishes nothing, and
the drafts that ``drafts/`` writes again are found as they were (no version, no draft change).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.db import transaction
from django.db.models import Q
from openedx_content import api as content_api

from lc_runtime.content.courses.change_logs import publish_drafts
from lc_runtime.content.courses.course_files import COURSE_FILE_FOLDERS
from lc_runtime.content.courses.writer import XBLOCK_NAMESPACE, PublishSummary, bulk_changes, pending_drafts, utc_now

__all__ = ["publish_import", "restore_published_drafts"]


def publish_import(
    package_id: int, *, written: Collection[int], kept_drafts: dict[int, int], published_by: int | None = None
) -> PublishSummary:
    """
    Publish the drafts an import's published course made, and only those.

    Left out: the outline blocks (containers, XBlock components other than the course's detached
    files) the import did not write (``written``), and the blocks whose draft it kept
    (``kept_drafts``: their published version is already what the export says). When something is
    published, the kept drafts are first pointed back at their published versions — a publish takes
    a container's children with it, drafts included — and ``kept_drafts`` is emptied: the import's
    ``drafts/`` step writes them again. Nothing to publish writes nothing.
    """
    with transaction.atomic():
        pending = pending_drafts(package_id)
        outline = Q(entity__container__isnull=False) | (
            Q(entity__component__component_type__namespace=XBLOCK_NAMESPACE)
            & ~Q(entity__component__component_type__name__in=sorted(set(COURSE_FILE_FOLDERS.values())))
        )
        not_written = pending.filter(outline).exclude(entity_id__in=list(written))
        held = set(not_written.values_list("entity_id", flat=True)) | set(kept_drafts)
        to_publish = pending.exclude(entity_id__in=list(held)).order_by("pk")
        if not to_publish.exists():
            return PublishSummary(None, 0)
        restore_published_drafts(package_id, kept_drafts, published_by=published_by)
        kept_drafts.clear()
        log = publish_drafts(package_id, to_publish, published_by=published_by)
    return PublishSummary(log.id, log.records.count())


def restore_published_drafts(
    package_id: int, kept_drafts: Mapping[int, int], *, keep: Collection[int] = (), published_by: int | None = None
) -> None:
    """
    Point the drafts an import kept (``kept_drafts``: entity id -> published version id) back at their
    published versions, except those in ``keep`` (written again by the import's ``drafts/``): the export
    says what each block is, so a draft it does not hold goes, as one draft change.
    """
    restore = {entity_id: version_id for entity_id, version_id in kept_drafts.items() if entity_id not in keep}
    if not restore:
        return
    with bulk_changes(package_id, changed_by=published_by):
        for entity_id, version_id in sorted(restore.items()):
            content_api.set_draft_version(entity_id, version_id, set_at=utc_now(), set_by=published_by)
