"""
Editing a course's structure in its draft: children listed, blocks deleted, draft changes discarded,
a selection published. What Studio's outline edits write; each call is one draft change.

Blocks are named by their draft tree's records (``lc_runtime.content.courses.tree``): the caller
loads the draft tree, decides, and passes entity ids and refs; nothing here reads XBlock classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from openedx_content import api as content_api
from openedx_content.models_api import Component, Container, Draft, Published

from lc_runtime.content.courses.change_logs import publish_drafts
from lc_runtime.content.courses.course_files import COURSE_FILE_FOLDERS
from lc_runtime.content.courses.records import CourseTree
from lc_runtime.content.courses.writer import (
    CONTAINER_CLASSES,
    XBLOCK_NAMESPACE,
    CourseWriter,
    PublishSummary,
    bulk_changes,
    draft_container_by_code,
    utc_now,
)
from lc_runtime.keys import block_id_from_code, container_code, parse_container_code

__all__ = [
    "drafted_blocks",
    "discard_drafts",
    "publish_entities",
    "set_children",
    "set_entity_list",
    "soft_delete",
    "subtree_entities",
]


def subtree_entities(tree: CourseTree, ref: tuple[str, str]) -> list[int]:
    """The entities of a block and of everything below it in ``tree``: a selector's pool container too."""
    found: list[int] = []
    for record in tree.descendants(ref):
        found.append(record.entity_id)
        if record.pool_entity_id is not None:
            found.append(record.pool_entity_id)
    return found


def set_children(package_id: int, olx_tag: str, block_id: str, children: Sequence[int], *,
                 changed_by: int | None = None) -> bool:
    """
    Make ``children`` (entity ids, in order) the children of outline container ``olx_tag``/``block_id``
    in its next draft, its title and settings kept; return False when it already lists exactly them.
    """
    return set_entity_list(package_id, CONTAINER_CLASSES[olx_tag], container_code(olx_tag, block_id), children,
                           changed_by=changed_by)


def set_entity_list(package_id: int, container_cls, code: str, children: Sequence[int], *,
                    changed_by: int | None = None) -> bool:
    """
    Make ``children`` the entity list of the package's container ``code`` (of ``container_cls``) in its next
    draft, its title kept, and an outline container's settings; return False when it already lists them.
    """
    draft = draft_container_by_code(package_id, code)
    if draft is None:
        raise LookupError(f"{code} has no draft")
    if list(children) == draft.children:
        return False
    outline = container_cls in CONTAINER_CLASSES.values()
    writer = CourseWriter(package_id, created_by=changed_by)
    with writer.changes():
        writer.write_entity_list(container_cls, code, draft.title, list(children),
                                 (draft.fields, draft.extra_attributes) if outline else None)
    return True


def soft_delete(package_id: int, entity_ids: Iterable[int], *, deleted_by: int | None = None) -> None:
    """Delete the drafts of ``entity_ids`` (a publish then deletes them for learners), as one draft change."""
    with bulk_changes(package_id, changed_by=deleted_by):
        for entity_id in entity_ids:
            content_api.soft_delete_draft(entity_id, deleted_by=deleted_by)


def discard_drafts(package_id: int, entity_ids: Iterable[int], *, discarded_by: int | None = None) -> int:
    """
    Point the drafts of ``entity_ids`` back at their published versions (a never-published entity's draft
    is deleted), as one draft change; return how many drafts moved.
    """
    entity_ids = list(entity_ids)
    drafts = dict(Draft.objects.filter(entity_id__in=entity_ids).values_list("entity_id", "version_id"))
    published = dict(Published.objects.filter(entity_id__in=entity_ids).values_list("entity_id", "version_id"))
    moved = 0
    with bulk_changes(package_id, changed_by=discarded_by):
        for entity_id in entity_ids:
            target = published.get(entity_id)
            if drafts.get(entity_id) != target:
                content_api.set_draft_version(entity_id, target, set_at=utc_now(), set_by=discarded_by)
                moved += 1
    return moved


def publish_entities(package_id: int, entity_ids: Iterable[int], *, published_by: int | None = None,
                     message: str = "", with_dependencies: bool = True) -> PublishSummary:
    """
    Publish the draft changes of ``entity_ids`` (and, ``with_dependencies``, of what they depend on);
    nothing to publish writes nothing.
    """
    drafts = Draft.objects.filter(entity_id__in=list(entity_ids)).with_unpublished_changes()
    if not drafts.exists():
        return PublishSummary(None, 0)
    log = publish_drafts(package_id, drafts, published_by=published_by, message=message,
                         with_dependencies=with_dependencies)
    return PublishSummary(log.id, log.records.count())


def drafted_blocks(package_id: int) -> set[tuple[str, str]]:
    """
    Every outline block the package holds a draft of, as (block type, block id): its XBlock components
    (not the course's detached files) and outline containers, whether a tree reaches them or not.
    """
    components = Component.objects.filter(
        learning_package_id=package_id, component_type__namespace=XBLOCK_NAMESPACE,
        publishable_entity__draft__version__isnull=False,
    ).exclude(component_type__name__in=sorted(set(COURSE_FILE_FOLDERS.values())))
    found = {(name, block_id_from_code(code))
             for name, code in components.values_list("component_type__name", "component_code")}
    containers = Container.objects.filter(
        learning_package_id=package_id, publishable_entity__draft__version__isnull=False,
        container_type__type_code__in=[cls.type_code for cls in CONTAINER_CLASSES.values()],
    )
    found.update(parse_container_code(code) for code in containers.values_list("container_code", flat=True))
    return found
