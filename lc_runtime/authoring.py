"""
Editing a course's structure, as Studio's outline does: blocks created, moved, reordered, deleted,
duplicated; a block's draft changes discarded or published; whether a block has unpublished changes.

Each call is one transaction on the draft (learners see nothing of it until a publish), for users
with author access to the run (``api.has_author_access``; None is a system task). What changed is
told to the platform after the commit (``XBLOCK_CREATED``, ``_UPDATED``, ``_DELETED``, ``_DUPLICATED``,
``_PUBLISHED``; ``course_published`` for a publish). The outline's containers (course, chapter,
sequential, vertical), the leaves of Units and the members of a selector's pool are edited here; a
selector itself is created by importing its OLX.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied
from lxml import etree
from opaque_keys.edx.keys import CourseKey, UsageKey
from openedx_events.content_authoring.data import DuplicatedXBlockData, XBlockData
from openedx_events.content_authoring.signals import (
    XBLOCK_CREATED,
    XBLOCK_DELETED,
    XBLOCK_DUPLICATED,
    XBLOCK_PUBLISHED,
    XBLOCK_UPDATED,
)
from xblock.fields import Scope

from lc_runtime.announcements import announce_following_runs, catalogs_of_following_runs
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.content.courses.api import (
    CONTAINER_CLASSES,
    BlockRecord,
    CourseNotPublished,
    CourseTree,
    CourseWriter,
    PublishSummary,
    discard_drafts,
    drafted_blocks,
    load_course_tree,
    package_for_run,
    publish_entities,
    set_children,
    soft_delete,
    subtree_differs,
    subtree_entities,
    write_transaction,
)
from lc_runtime.content.pools.api import set_pool_members, write_selector
from lc_runtime.content.roles.api import course_roles, has_author_access
from lc_runtime.keys import check_block_id, to_usage_key, usage_key_for
from lc_runtime.olx.parsing import OlxError, element_to_string, parse_olx
from lc_runtime.olx.policy import known_fields
from lc_runtime.selectors.block import selector_block_classes
from lc_runtime.signals import send_event_after_commit

__all__ = [
    "StructureError",
    "announce_block_updated",
    "create_block",
    "delete_block",
    "discard_changes",
    "duplicate_block",
    "has_unpublished_changes",
    "move_block",
    "orphans_of",
    "publish_block",
    "reorder_children",
]

_CHILD_KIND = {"course": "chapter", "chapter": "sequential", "sequential": "vertical"}
"""What each outline container holds; a vertical holds leaves."""


class StructureError(ValueError):
    """A structure edit that cannot be made as asked (a bad position, a child of the wrong kind...)."""


def _user_id(user) -> int | None:
    return getattr(user, "id", None) if user is not None else None


def _draft(user, course_key: CourseKey) -> tuple[CourseTree, int]:
    if user is not None and not has_author_access(course_roles(user, course_key)):
        raise PermissionDenied(f"Only the course's staff and instructors may edit {course_key}")
    tree = load_course_tree(course_key, mode="draft")
    return tree, tree.learning_package_id


def _record(tree: CourseTree, usage_key: UsageKey) -> BlockRecord:
    if usage_key.course_key != tree.course_key:
        raise StructureError(f"{usage_key} is not a block of {tree.course_key}")
    record = tree.blocks.get((usage_key.block_type, usage_key.block_id))
    if record is None:
        raise StructureError(f"{usage_key} is not in the draft of {tree.course_key}")
    return record


def _holds_children(record: BlockRecord) -> bool:
    """Whether edits here may change ``record``'s children: an outline container's, or a selector's pool."""
    return record.block_type in CONTAINER_CLASSES or record.pool_entity_id is not None


def _parent_of(tree: CourseTree, record: BlockRecord) -> BlockRecord:
    if record.parent is None:
        raise StructureError("the course itself has no parent to edit")
    parent = tree.blocks[record.parent]
    if not _holds_children(parent):
        raise StructureError(
            f"{record.block_type}/{record.block_id} belongs to {parent.block_type}/{parent.block_id}, "
            "whose children are edited by importing it again"
        )
    return parent


def _accepts(parent: BlockRecord, block_type: str, *, creating: bool = False) -> None:
    if creating and block_type in selector_block_classes():
        raise StructureError(f"a <{block_type}> (a selector, with its pool) is created by importing its OLX")
    if parent.pool_entity_id is not None:  # a selector's pool holds Units and leaves
        fits = block_type == "vertical" or block_type not in CONTAINER_CLASSES
    else:
        wanted = _CHILD_KIND.get(parent.block_type)
        fits = block_type == wanted if wanted else block_type not in CONTAINER_CLASSES
    if not _holds_children(parent) or not fits:
        raise StructureError(f"<{block_type}> cannot stand in <{parent.block_type}>")


def _set_children(package_id: int, parent: BlockRecord, children: list[int], changed_by: int | None) -> None:
    """A container's next draft lists ``children``; a selector's pool, as import writes it."""
    if parent.pool_entity_id is not None:
        set_pool_members(package_id, parent.block_type, parent.block_id, children, changed_by=changed_by)
    else:
        set_children(package_id, parent.block_type, parent.block_id, children, changed_by=changed_by)


def _entity_ids(tree: CourseTree, record: BlockRecord) -> list[int]:
    return [tree.blocks[child].entity_id for child in record.children]


def _placed(children: list[int], entity_id: int, position: int | None) -> list[int]:
    if position is not None and not 0 <= position <= len(children):
        raise StructureError(f"position {position} is outside 0..{len(children)}")
    placed = list(children)
    placed.insert(len(placed) if position is None else position, entity_id)
    return placed


def _tell(event, usage_key: UsageKey, **extra) -> None:
    data_class = DuplicatedXBlockData if event is XBLOCK_DUPLICATED else XBlockData
    send_event_after_commit(
        event, str(usage_key), xblock_info=data_class(usage_key=usage_key, block_type=usage_key.block_type, **extra)
    )


def _settings(block_class, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` as stored (JSON values), each checked against the field the block's class declares."""
    declared = known_fields(block_class)
    stored = {}
    for name, value in fields.items():
        field = declared.get(name)
        if field is None or field.scope not in (Scope.settings, Scope.content):
            raise StructureError(f"{block_class.__name__} has no authored field {name!r}")
        try:
            stored[name] = field.to_json(field.from_json(value))
        except (TypeError, ValueError) as exc:
            raise StructureError(f"field {name!r}: {exc}") from exc
    return stored


def _leaf_olx(block_type: str, olx: str | None, fields: Mapping[str, Any]) -> str:
    """
    A leaf's OLX: as given (its root must be the block's tag), with ``fields`` written as attributes. A
    ``data`` field (Studio's boilerplates give one) is the block's body, as XML blocks keep it: the whole
    element when it is one of the block's tag (a problem), else the element's text (an html block's HTML).
    """
    block_class = load_block_class(block_type)
    fields = dict(fields)
    data = fields.pop("data", None)
    if data is not None and olx is None:
        try:
            body = parse_olx(data)
        except OlxError:
            body = None
        if body is not None and body.tag == block_type:
            olx = data
        else:
            element = etree.Element(block_type)
            element.text = etree.CDATA(data)
            olx = element_to_string(element)
    element = parse_olx(olx) if olx is not None else etree.Element(block_type)
    if element.tag != block_type:
        raise StructureError(f"the OLX's root is <{element.tag}>, not <{block_type}>")
    element.attrib.pop("url_name", None)
    declared = known_fields(block_class)
    for name, value in _settings(block_class, fields).items():
        text = declared[name].to_string(declared[name].from_json(value))
        element.set(name, text if isinstance(text, str) else str(text))
    return element_to_string(element)


def create_block(
    user,
    parent_key: str | UsageKey,
    block_type: str,
    *,
    block_id: str | None = None,
    position: int | None = None,
    olx: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> UsageKey:
    """
    Create a block under ``parent_key`` in the draft, at ``position`` among its children (at the end by
    default); return its usage key. A container (chapter, sequential, vertical) from ``fields``; a leaf from
    ``olx`` (its element, as a course export holds it) and/or ``fields`` (settings written as its
    attributes). ``block_id`` defaults to a new uuid. Raises :class:`StructureError` (nothing written).
    """
    parent_key = to_usage_key(parent_key)
    course_key = parent_key.course_key
    block_id = block_id or uuid.uuid4().hex
    check_block_id(course_key, block_type, block_id)
    with write_transaction():
        tree, package_id = _draft(user, course_key)
        parent = _record(tree, parent_key)
        _accepts(parent, block_type, creating=True)
        if (block_type, block_id) in tree.blocks:
            raise StructureError(f"{block_type}/{block_id} already exists in {course_key}")
        writer = CourseWriter(package_id, created_by=_user_id(user))
        with writer.changes():
            if block_type in CONTAINER_CLASSES:
                if olx is not None:
                    raise StructureError("a container is created from fields; its children are created after it")
                stored = _settings(load_block_class(block_type), fields or {})
                entity_id = writer.write_container(block_type, block_id, stored.get("display_name") or "", [], stored)
            else:
                text = _leaf_olx(block_type, olx, fields or {})
                title = etree.fromstring(text.encode()).get("display_name") or ""
                entity_id = writer.write_component(block_type, block_id, text, title)
            _set_children(package_id, parent, _placed(_entity_ids(tree, parent), entity_id, position), _user_id(user))
        usage_key = usage_key_for(course_key, block_type, block_id)
        _tell(XBLOCK_CREATED, usage_key)
    return usage_key


def move_block(user, usage_key: str | UsageKey, new_parent_key: str | UsageKey, position: int | None = None) -> None:
    """
    Move a block (with everything below it) under ``new_parent_key`` at ``position`` (the end by default);
    within the same parent, ``position`` counts the other children. Raises :class:`StructureError`.
    """
    usage_key, new_parent_key = to_usage_key(usage_key), to_usage_key(new_parent_key)
    with write_transaction():
        tree, package_id = _draft(user, usage_key.course_key)
        record = _record(tree, usage_key)
        old_parent = _parent_of(tree, record)
        new_parent = _record(tree, new_parent_key)
        _accepts(new_parent, record.block_type)
        if new_parent.ref in {r.ref for r in tree.descendants(record.ref)}:
            raise StructureError(f"{usage_key} cannot move below itself")
        remaining = [e for e in _entity_ids(tree, old_parent) if e != record.entity_id]
        changed_by = _user_id(user)
        if new_parent.ref == old_parent.ref:
            _set_children(package_id, old_parent, _placed(remaining, record.entity_id, position), changed_by)
        else:
            _set_children(package_id, old_parent, remaining, changed_by)
            placed = _placed(_entity_ids(tree, new_parent), record.entity_id, position)
            _set_children(package_id, new_parent, placed, changed_by)
        for moved in {usage_key, _key(tree, old_parent), new_parent_key}:
            _tell(XBLOCK_UPDATED, moved)


def _key(tree: CourseTree, record: BlockRecord) -> UsageKey:
    return usage_key_for(tree.course_key, record.block_type, record.block_id)


def reorder_children(user, parent_key: str | UsageKey, children: Sequence[str | UsageKey]) -> None:
    """Give ``parent_key``'s children the order of ``children`` (the same blocks, each once)."""
    parent_key = to_usage_key(parent_key)
    with write_transaction():
        tree, package_id = _draft(user, parent_key.course_key)
        parent = _record(tree, parent_key)
        if not _holds_children(parent):
            raise StructureError(f"the children of <{parent.block_type}> are edited by importing it again")
        wanted = [(key.block_type, key.block_id) for key in map(to_usage_key, children)]
        if sorted(wanted) != sorted(parent.children) or len(set(wanted)) != len(wanted):
            raise StructureError(f"the new order must list each child of {parent_key} once, and nothing else")
        _set_children(package_id, parent, [tree.blocks[ref].entity_id for ref in wanted], _user_id(user))
        _tell(XBLOCK_UPDATED, parent_key)


def delete_block(user, usage_key: str | UsageKey) -> None:
    """Delete a block and everything below it from the draft (from learners at the next publish)."""
    usage_key = to_usage_key(usage_key)
    with write_transaction():
        tree, package_id = _draft(user, usage_key.course_key)
        record = _record(tree, usage_key)
        parent = _parent_of(tree, record)
        changed_by = _user_id(user)
        _set_children(package_id, parent, [e for e in _entity_ids(tree, parent) if e != record.entity_id], changed_by)
        # An entity listed outside the subtree too (a block reused in two places) keeps its draft.
        below = {r.ref for r in tree.descendants(record.ref)}
        # A block listed outside the subtree too (reused in two places) keeps its draft, and so does
        # everything below it.
        kept: set[int] = set()
        for other in tree.blocks.values():
            if other.ref in below or other.ref == record.parent:
                continue
            for child in other.children:
                if child in below:
                    kept.update(subtree_entities(tree, child))
        soft_delete(package_id, [e for e in subtree_entities(tree, record.ref) if e not in kept],
                    deleted_by=changed_by)
        _tell(XBLOCK_DELETED, usage_key)


def duplicate_block(
    user, usage_key: str | UsageKey, *, parent_key: str | UsageKey | None = None, position: int | None = None
) -> UsageKey:
    """
    Copy a block and everything below it, each copy with a new id, under ``parent_key`` (by default right
    after the original, in its parent); return the copy's key.
    """
    usage_key = to_usage_key(usage_key)
    with write_transaction():
        tree, package_id = _draft(user, usage_key.course_key)
        record = _record(tree, usage_key)
        old_parent = _parent_of(tree, record)
        parent = _record(tree, to_usage_key(parent_key)) if parent_key is not None else old_parent
        _accepts(parent, record.block_type)
        if parent_key is None and position is None:
            position = old_parent.children.index(record.ref) + 1
        writer = CourseWriter(package_id, created_by=_user_id(user))
        with writer.changes():
            copy_id = _copy(tree, record, writer)
            _set_children(package_id, parent, _placed(_entity_ids(tree, parent), copy_id[0], position), _user_id(user))
        copy_key = usage_key_for(tree.course_key, record.block_type, copy_id[1])
        _tell(XBLOCK_DUPLICATED, copy_key, source_usage_key=usage_key)
    return copy_key


def _copy(tree: CourseTree, record: BlockRecord, writer: CourseWriter) -> tuple[int, str]:
    """Write a copy of ``record`` and its subtree with new ids; (entity id, block id) of the copy."""
    if record.children and not _holds_children(record):
        raise StructureError(f"<{record.block_type}> with children of its own is copied by exporting and importing")
    block_id = uuid.uuid4().hex
    if record.pool_entity_id is not None:  # a selector: a copy of its pool, and its rules
        members = [_copy(tree, tree.blocks[child], writer)[0] for child in record.children]
        entity_id = write_selector(writer, record.block_type, block_id, record.olx or f"<{record.block_type}/>",
                                   record.title, members)
    elif record.block_type in CONTAINER_CLASSES:
        children = [_copy(tree, tree.blocks[child], writer)[0] for child in record.children]
        entity_id = writer.write_container(record.block_type, block_id, record.title, children,
                                           dict(record.fields), dict(record.extra_attributes))
    else:
        entity_id = writer.write_component(record.block_type, block_id, record.olx or f"<{record.block_type}/>",
                                           record.title)
    return entity_id, block_id


def _published_tree(course_key: CourseKey) -> CourseTree | None:
    try:
        return load_course_tree(course_key, mode="published")
    except CourseNotPublished:
        return None


def _both_subtrees(tree: CourseTree, usage_key: UsageKey) -> list[int]:
    """The entities below a block in the draft and in the published course (deletions are changes too)."""
    ref = (usage_key.block_type, usage_key.block_id)
    found = subtree_entities(tree, ref)
    published = _published_tree(usage_key.course_key)
    if published is not None and ref in published.blocks:
        found += [e for e in subtree_entities(published, ref) if e not in found]
    return found


def discard_changes(user, usage_key: str | UsageKey) -> int:
    """
    Undo the draft changes of a block and of everything below it (a Unit's, or the whole course's when
    given the course): back to what is published; return how many blocks changed back.
    """
    usage_key = to_usage_key(usage_key)
    with write_transaction():
        tree, package_id = _draft(user, usage_key.course_key)
        _record(tree, usage_key)
        moved = discard_drafts(package_id, _both_subtrees(tree, usage_key), discarded_by=_user_id(user))
        if moved:
            _tell(XBLOCK_UPDATED, usage_key)
    return moved


def publish_block(user, usage_key: str | UsageKey, *, with_descendants: bool = True) -> PublishSummary:
    """
    Publish the draft changes of one block and everything below it (a Unit, a Subsection...), and of its
    ancestors' own versions (so that a new block is listed where it stands: edx-platform publishes
    courses, sections and subsections at once), nothing else: the rest of the course stays as published.
    ``with_descendants=False`` publishes the block's own version only (what edx-platform's auto-publish of
    a course, section or subsection does).
    """
    usage_key = to_usage_key(usage_key)
    course_key = usage_key.course_key
    with write_transaction():
        tree, package_id = _draft(user, course_key)
        record = _record(tree, usage_key)
        catalogs = catalogs_of_following_runs(course_key)
        own = _both_subtrees(tree, usage_key) if with_descendants else _own_entities(record)
        ancestors = []
        current = record
        while current.parent is not None:
            current = tree.blocks[current.parent]
            ancestors.extend(_own_entities(current))
        summary = publish_entities(package_id, own + ancestors, published_by=_user_id(user), with_dependencies=False)
        if summary.publish_log_id is not None:
            _tell(XBLOCK_PUBLISHED, usage_key)
            announce_following_runs(course_key, catalogs)
    return summary


def _own_entities(record: BlockRecord) -> list[int]:
    """A block's own entity, and a selector's pool container (its rules and its list of members)."""
    return [record.entity_id, *([record.pool_entity_id] if record.pool_entity_id is not None else [])]


def has_unpublished_changes(usage_key: str | UsageKey) -> bool:
    """Whether a block, or anything below it, differs between the draft and what is published."""
    usage_key = to_usage_key(usage_key)
    if package_for_run(str(usage_key.course_key)) is None:
        raise StructureError(f"No course run {usage_key.course_key}")
    draft = load_course_tree(usage_key.course_key, mode="draft")
    published = _published_tree(usage_key.course_key)
    ref = (usage_key.block_type, usage_key.block_id)
    if published is None:
        return ref in draft.blocks
    return subtree_differs(draft, published, ref)



def announce_block_updated(usage_key: str | UsageKey) -> None:
    """``XBLOCK_UPDATED`` for a block whose fields an author saved (after the commit)."""
    _tell(XBLOCK_UPDATED, to_usage_key(usage_key))


def orphans_of(course_key: CourseKey) -> list[UsageKey]:
    """Blocks the run's package holds a draft of that its draft tree does not reach, in key order."""
    tree = load_course_tree(course_key, mode="draft")
    stored = drafted_blocks(tree.learning_package_id)
    return [usage_key_for(course_key, *ref) for ref in sorted(stored - set(tree.blocks))]
