"""
Placing a draft Unit in its parent: what importing an export's ``drafts/`` folder needs.

An OLX export holds the published course and, in ``drafts/vertical/``, the Units that have changes not
yet published, each naming its parent (``parent_url``) and its position there
(``index_in_children_list``). Importing one writes the Unit as a draft version and, when the parent
does not list it yet, a draft version of the parent that does — the published parent is untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from openedx_content.models_api import Container

from lc_runtime.content.models import ContainerSettings
from lc_runtime.content.writes import CourseWriter
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, container_code

__all__ = ["DraftContainer", "draft_container", "place_in_draft_container"]


@dataclass(frozen=True)
class DraftContainer:
    """A container's current draft: what a next draft version must keep."""

    entity_id: int
    title: str
    children: list[int]
    fields: dict
    extra_attributes: dict


def draft_container(package_id: int, olx_tag: str, block_id: str) -> DraftContainer | None:
    """The draft of a container of the package, or None if it has none (missing or deleted)."""
    code = container_code(olx_tag, COURSE_ROOT_BLOCK_ID if olx_tag == "course" else block_id)
    container = Container.objects.filter(learning_package_id=package_id, container_code=code).first()
    draft = container.versioning.draft if container is not None else None
    if draft is None:
        return None
    children = list(
        draft.entity_list.entitylistrow_set.order_by("order_num").values_list("entity_id", flat=True)
    )
    settings = ContainerSettings.objects.filter(container_version_id=draft.pk).first()
    return DraftContainer(
        container.id,
        draft.title,
        children,
        dict(settings.fields) if settings else {},
        dict(settings.extra_attributes) if settings else {},
    )


def place_in_draft_container(
    writer: CourseWriter, olx_tag: str, block_id: str, child_entity_id: int, index: int | None
) -> bool:
    """
    Make the draft of container ``olx_tag``/``block_id`` list ``child_entity_id`` at ``index``.

    A child already listed stays where it is; a new one goes at ``index`` (clamped to the list, or
    at the end when None). Returns False when the container has no draft to place it in.
    """
    parent = draft_container(writer.package_id, olx_tag, block_id)
    if parent is None:
        return False
    if child_entity_id in parent.children:
        return True
    children = list(parent.children)
    position = len(children) if index is None else max(0, min(index, len(children)))
    children.insert(position, child_entity_id)
    writer.write_container(olx_tag, block_id, parent.title, children, parent.fields, parent.extra_attributes)
    return True
