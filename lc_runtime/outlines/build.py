"""
Building a course run's outline from its tree, once per snapshot.

Everything here is the same for every learner, so it is cached under the tree's snapshot id and the
run's own settings (which a run may change without a publish): a warm outline costs no query. The
settings come from what the tree already holds: a container's stored settings, and for a component
the attributes of its OLX's root element, which carry its settings (policy entries included: import
writes them there), read without parsing the block.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from io import BytesIO
from typing import Any

from django.core.cache import caches
from lxml import etree
from opaque_keys.edx.keys import UsageKey
from xblock.fields import Boolean, Date, Dict, Field, Float, List, String

from lc_runtime.content.courses.api import BlockRecord, BlockRef, CourseTree
from lc_runtime.keys import stored_usage_key
from lc_runtime.outlines.data import (
    BlockAccessData,
    CourseLearningSequenceData,
    CourseOutlineData,
    CourseSectionData,
    CourseUnitData,
    CourseVisibility,
    ExamData,
    VisibilityData,
)

__all__ = ["OUTLINE_CACHE_VERSION", "course_outline", "forget_recent_outlines"]

OUTLINE_CACHE_ALIAS = "default"
OUTLINE_CACHE_VERSION = 1
OUTLINE_CACHE_TIMEOUT = 60 * 60 * 24

# The outlines this process used last, in front of the shared cache: unpickling a large course's outline
# costs more than deciding a learner's access from it. An outline never changes under its key (the
# snapshot and the run's settings), so a process may keep it as long as it likes.
RECENT_OUTLINES = 32
_recent_outlines: OrderedDict[str, CourseOutlineData] = OrderedDict()

# The settings that decide access, with the XBlock field types that read them (the names and types of
# edx-platform's InheritanceMixin and SequenceBlock).
_FIELDS: dict[str, Field] = {
    "start": Date(),
    "due": Date(),
    "end": Date(),
    "visible_to_staff_only": Boolean(),
    "hide_from_toc": Boolean(),
    "hide_after_due": Boolean(),
    "group_access": Dict(),
    "days_early_for_beta": Float(),
    "graded": Boolean(),
    "format": String(),
    "display_name": String(),
    "self_paced": Boolean(),
    "course_visibility": String(),
    "entrance_exam_id": String(),
    "user_partitions": List(),
    "is_time_limited": Boolean(),
    "is_proctored_enabled": Boolean(),
    "is_practice_exam": Boolean(),
}
# Only these are read off a component's OLX; most components set none of them.
_COMPONENT_SETTINGS = ("start", "due", "visible_to_staff_only", "group_access", "days_early_for_beta", "graded")
_OUTLINE_LEVELS = {"chapter": "section", "sequential": "sequence", "vertical": "unit"}


def course_outline(tree: CourseTree) -> CourseOutlineData:
    """The outline of ``tree``'s course run: from the cache, or built (no query either way)."""
    run_settings = json.dumps(tree.run_settings, sort_keys=True, default=str)
    digest = hashlib.sha256(run_settings.encode()).hexdigest()[:16]
    cache_key = f"lc_runtime.outline:{tree.mode}:{tree.course_key}:{tree.snapshot}:{digest}"
    outline = _recent_outlines.get(cache_key)
    if outline is not None:
        _recent_outlines.move_to_end(cache_key)
        return outline
    cache = caches[OUTLINE_CACHE_ALIAS]
    outline = cache.get(cache_key, version=OUTLINE_CACHE_VERSION)
    if outline is None:
        outline = build_course_outline(tree)
        cache.set(cache_key, outline, OUTLINE_CACHE_TIMEOUT, version=OUTLINE_CACHE_VERSION)
    _recent_outlines[cache_key] = outline
    if len(_recent_outlines) > RECENT_OUTLINES:
        _recent_outlines.popitem(last=False)
    return outline


def forget_recent_outlines() -> None:
    """Drop the outlines this process keeps in memory (clear them with the shared cache, as tests do)."""
    _recent_outlines.clear()


def build_course_outline(tree: CourseTree) -> CourseOutlineData:
    """Build the outline of ``tree`` (see :func:`course_outline`, which caches it)."""
    course = _settings(tree.blocks[tree.root], tree.run_settings)
    blocks: dict[UsageKey, BlockAccessData] = {}
    settings_of: dict[BlockRef, dict[str, Any]] = {}
    keys: dict[BlockRef, UsageKey] = {}

    def key_of(ref: BlockRef) -> UsageKey:
        key = keys.get(ref)
        if key is None:
            key = keys[ref] = stored_usage_key(tree.course_key, *ref)
        return key

    in_order = tree.descendants(tree.root)
    # A block listed by two parents (moved, and only its new parent published since) is reached through the
    # first of them in course order: that one is its parent here, so that every parent comes before its children.
    reached_from: dict[BlockRef, BlockRef] = {}
    for record in in_order:
        for child in record.children:
            reached_from.setdefault(child, record.ref)
    for record in in_order[1:]:  # course order, the course itself left out
        settings = _settings(record, None)
        settings_of[record.ref] = settings
        key = key_of(record.ref)
        parent_ref = reached_from.get(record.ref)
        parent = key_of(parent_ref) if parent_ref else None
        blocks[key] = BlockAccessData(
            usage_key=key,
            block_type=record.block_type,
            title=_title(record, settings),
            parent=parent,
            visibility=_visibility(settings),
            start=settings.get("start"),
            due=settings.get("due"),
            days_early_for_beta=settings.get("days_early_for_beta"),
            group_access=_partition_groups(settings.get("group_access")),
            graded=settings.get("graded"),
            format=settings.get("format"),
            is_selector=record.pool_entity_id is not None,
        )

    def unit(ref: BlockRef) -> CourseUnitData:
        data = blocks[key_of(ref)]
        return CourseUnitData(data.usage_key, data.title, data.visibility, data.group_access)

    def sequence(ref: BlockRef) -> CourseLearningSequenceData:
        data = blocks[key_of(ref)]
        settings = settings_of[ref]
        return CourseLearningSequenceData(
            usage_key=data.usage_key,
            title=data.title,
            visibility=data.visibility,
            exam=ExamData(
                is_practice_exam=bool(settings.get("is_practice_exam")),
                is_proctored_enabled=bool(settings.get("is_proctored_enabled")),
                is_time_limited=bool(settings.get("is_time_limited")),
            ),
            inaccessible_after_due=bool(settings.get("hide_after_due")),
            user_partition_groups=data.group_access,
            units=tuple(unit(child) for child in _children(tree, ref, "vertical")),
        )

    sections = []
    for ref in _children(tree, tree.root, "chapter"):
        data = blocks[key_of(ref)]
        sequences = tuple(sequence(child) for child in _children(tree, ref, "sequential"))
        sections.append(CourseSectionData(data.usage_key, data.title, data.visibility, sequences, data.group_access))

    partitions = tuple(p for p in course.get("user_partitions") or () if isinstance(p, Mapping) and "id" in p)
    outline = CourseOutlineData(
        course_key=tree.course_key,
        title=_title(tree.blocks[tree.root], course),
        published_at=tree.snapshot_at,
        published_version=tree.snapshot,
        days_early_for_beta=course.get("days_early_for_beta"),
        sections=tuple(sections),
        self_paced=bool(course.get("self_paced")),
        course_visibility=course.get("course_visibility") or CourseVisibility.PRIVATE,
        entrance_exam_id=course.get("entrance_exam_id") or None,
        start=course.get("start"),
        end=course.get("end"),
        user_partitions=partitions,
        blocks=blocks,
    )
    # Found now, so that they are cached (and stored) with the outline: each costs as much as loading it.
    outline.block_positions  # noqa: B018
    outline.parent_positions  # noqa: B018
    return outline


def _children(tree: CourseTree, ref: BlockRef, block_type: str) -> list[BlockRef]:
    # A course keeps only what its level holds: a stray block elsewhere is in ``blocks`` but not in the outline.
    return [child for child in tree.blocks[ref].children if child[0] == block_type and child in tree.blocks]


def _title(record: BlockRecord, settings: Mapping[str, Any]) -> str:
    return settings.get("display_name") or record.title or record.block_id


def _visibility(settings: Mapping[str, Any]) -> VisibilityData:
    return VisibilityData(
        hide_from_toc=bool(settings.get("hide_from_toc")),
        visible_to_staff_only=bool(settings.get("visible_to_staff_only")),
    )


def _partition_groups(group_access: Any) -> dict[int, frozenset[int]]:
    """``group_access`` as ``{partition id: group ids}``, restrictions only (an empty list restricts nothing)."""
    restrictions: dict[int, frozenset[int]] = {}
    if not isinstance(group_access, Mapping):
        return restrictions
    for partition_id, group_ids in group_access.items():
        try:
            groups = frozenset(int(group_id) for group_id in group_ids or ())
            if groups:
                restrictions[int(partition_id)] = groups
        except (TypeError, ValueError):
            continue  # unreadable: import reported it; a setting nobody can read restricts nothing
    return restrictions


def _settings(record: BlockRecord, run_settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The access settings of ``record`` as Python values (dates as datetimes); unreadable ones left out."""
    if record.is_container:
        stored: dict[str, Any] = dict(record.fields)
        # Settings a container's class does not declare (a sequence's exam flags, say) are kept as text.
        for name, text in record.extra_attributes.items():
            if name in _FIELDS and name not in stored and isinstance(text, str):
                stored[name] = _from_text(name, text)
        if run_settings:
            stored.update(run_settings)
        values = {name: _from_json(name, value) for name, value in stored.items() if name in _FIELDS}
    else:
        values = {name: _from_text(name, text) for name, text in _root_attributes(record.olx).items()}
    return {name: value for name, value in values.items() if value is not None}


def _from_json(name: str, value: Any) -> Any:
    try:
        return _FIELDS[name].from_json(value)
    except Exception:  # noqa: BLE001 - a value the field cannot read is no setting
        return None


def _from_text(name: str, text: str) -> Any:
    try:
        return _FIELDS[name].from_string(text)
    except Exception:  # noqa: BLE001 - as above
        return None


def _root_attributes(olx: str | None) -> dict[str, str]:
    """The access settings among the attributes of ``olx``'s root element, read without building the tree."""
    if not olx or not any(f'{name}="' in olx or f"{name}='" in olx for name in _COMPONENT_SETTINGS):
        return {}
    events = etree.iterparse(
        BytesIO(olx.encode()), events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    try:
        _event, root = next(events)
    except (etree.XMLSyntaxError, StopIteration):
        return {}
    return {name: root.attrib[name] for name in _COMPONENT_SETTINGS if name in root.attrib}

