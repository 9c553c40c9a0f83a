"""
Outline processors: each decides one reason a learner may not reach part of a course.

The shape is learning_sequences' ``OutlineProcessor``: built with the course, the learner and the time,
:meth:`~OutlineProcessor.load_data` reads what it needs (once, with no block loaded), then
:meth:`~OutlineProcessor.usage_keys_to_remove` names what the learner must not see and
:meth:`~OutlineProcessor.inaccessible_sequences` the subsections they see but may not open. A
learner's outline is what survives every processor; course staff are not processed at all. Unlike
learning_sequences, a processor may name any block (a problem inside a unit too): closing a block
closes everything below it, in the outline and in the runtime alike (``get_children`` leaves it out,
``get_block`` refuses it). :meth:`~OutlineProcessor.usage_keys_to_hide` is for what only the table of
contents leaves out (``hide_from_toc``), still reachable by a link.

Processors are plugins: an :class:`OutlineProcessor` subclass registered under the entry point group
``lc_runtime.outline_processors.v1`` (the name is the processor's), found as selectors are.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from opaque_keys.edx.keys import CourseKey, UsageKey

from lc_runtime.blocks.inheritance import DEFAULT_START_DATE
from lc_runtime.content.roles.api import BETA_TESTER
from lc_runtime.outlines.context import LearnerContext
from lc_runtime.outlines.data import CourseOutlineData
from lc_runtime.outlines.schemes import (
    ENROLLMENT_TRACK_PARTITION_ID,
    PartitionScheme,
    enrollment_track_partition,
    partition_scheme,
)

__all__ = [
    "BlockDates",
    "ContentGroupsOutlineProcessor",
    "OutlineProcessor",
    "ScheduleOutlineProcessor",
    "SelectorsOutlineProcessor",
    "VisibilityOutlineProcessor",
    "block_dates",
]


class OutlineProcessor:
    """
    One rule of who may reach what. Subclass it, override what applies, register it as a plugin.

    ``order`` places the processor in the pipeline (lower first); it matters only for which processor
    a closed entry names when two close it. ``reasons`` maps the keys a processor closed to a sentence
    for staff tools; :meth:`reason` falls back to ``description``.
    """

    name: ClassVar[str] = ""
    order: ClassVar[int] = 100
    description: ClassVar[str] = "closed by an outline processor"
    # True for a processor whose rule the runtime already applies block by block as blocks are reached
    # (the learner's Variants): the runtime then does not run it for every request, only outlines do.
    applied_by_runtime: ClassVar[bool] = False

    def __init__(self, course_key: CourseKey, user, at_time: datetime, context: LearnerContext) -> None:
        self.course_key, self.user, self.at_time, self.context = course_key, user, at_time, context
        self.reasons: dict[UsageKey, str] = {}

    def load_data(self, outline: CourseOutlineData) -> None:
        """Read what the processor needs for this learner (through ``context`` where it offers it)."""

    def usage_keys_to_remove(self, outline: CourseOutlineData) -> frozenset[UsageKey]:
        """Blocks (any level) the learner must not see or reach; their descendants go with them."""
        return frozenset()

    def inaccessible_sequences(self, outline: CourseOutlineData) -> frozenset[UsageKey]:
        """Subsections the learner sees in the outline but may not open (nor anything inside them)."""
        return frozenset()

    def usage_keys_to_hide(self, outline: CourseOutlineData) -> frozenset[UsageKey]:
        """Sections or subsections left out of the learner's table of contents, still reachable by a link."""
        return frozenset()

    def reason(self, usage_key: UsageKey) -> str:
        """Why this processor closed ``usage_key``."""
        return self.reasons.get(usage_key, self.description)


class VisibilityOutlineProcessor(OutlineProcessor):
    """``visible_to_staff_only`` removes a block for learners; ``hide_from_toc`` leaves it out of the outline only."""

    order = 10
    description = "visible to staff only"

    def usage_keys_to_remove(self, outline):
        return frozenset(key for key, block in outline.blocks.items() if block.visibility.visible_to_staff_only)

    def usage_keys_to_hide(self, outline):
        hidden = frozenset(key for key, block in outline.blocks.items() if block.visibility.hide_from_toc)
        for key in hidden:
            self.reasons[key] = "hidden from the table of contents (hide_from_toc); reachable by a link"
        return hidden


class BlockDates:
    """Each block's start and due for one learner: edx-when's dates (personal ones applied) over the authored ones."""

    def __init__(self, index: Mapping[UsageKey, int], starts: list[datetime], dues: list[datetime | None],
                 opens: list[datetime], course_start: datetime) -> None:
        self._index = index
        self.starts_in_order, self.dues_in_order, self.opens_in_order = starts, dues, opens
        self.course_start = course_start

    def start(self, key: UsageKey) -> datetime | None:
        """The block's start date, as set on it or the nearest ancestor that sets one."""
        position = self._index.get(key)
        return self.starts_in_order[position] if position is not None else None

    def due(self, key: UsageKey) -> datetime | None:
        """The block's due date, as set on it or the nearest ancestor that sets one."""
        position = self._index.get(key)
        return self.dues_in_order[position] if position is not None else None

    def opens_at(self, key: UsageKey) -> datetime:
        """When the learner may reach the block: the latest start on its way down from the course."""
        position = self._index.get(key)
        return self.opens_in_order[position] if position is not None else self.course_start


def block_dates(outline: CourseOutlineData, dates: Mapping[tuple[UsageKey, str], datetime]) -> BlockDates:
    """Every block's start, due and opening for a learner whose edx-when dates are ``dates`` (no query)."""
    root = outline.root_key
    course_start = dates.get((root, "start")) or outline.start or DEFAULT_START_DATE
    course_due = dates.get((root, "due"))
    index = outline.block_positions
    given: dict[tuple[int, str], datetime] = {}
    for (key, kind), value in dates.items():
        position = index.get(key)
        if position is not None:
            given[position, kind] = value
    starts: list[datetime] = []
    dues: list[datetime | None] = []
    opens: list[datetime] = []
    for position, (block, parent) in enumerate(
        zip(outline.blocks.values(), outline.parent_positions, strict=True)
    ):
        # Course order: a parent comes before its children.
        start = given.get((position, "start")) or block.start or (starts[parent] if parent >= 0 else course_start)
        starts.append(start)
        dues.append(given.get((position, "due")) or block.due or (dues[parent] if parent >= 0 else course_due))
        opens.append(max(start, opens[parent] if parent >= 0 else course_start))
    return BlockDates(index, starts, dues, opens, course_start)


class ScheduleOutlineProcessor(OutlineProcessor):
    """
    Dates: nothing opens before the course starts; a subsection opens at its start (its section's, if
    later); a unit or component whose start is still to come is removed; a subsection that hides after
    its due date (``hide_after_due``; the course end in a self-paced course) closes then. Beta testers
    get each block ``days_early_for_beta`` days early (its own, inherited from its ancestors or the
    course, as edx-platform's field). Dates are the learner's own, from edx-when.
    """

    order = 20
    description = "not open yet"

    def load_data(self, outline):
        self.schedule = block_dates(outline, self.context.learner_dates())
        self.beta_tester = BETA_TESTER in self.context.roles
        # ``days_early_for_beta`` is inherited: a block's own, else its nearest ancestor's, else the course's.
        course_early = outline.days_early_for_beta or 0.0
        early_days: list[float] = []
        if self.beta_tester:
            blocks = zip(outline.blocks.values(), outline.parent_positions, strict=True)
            for block, parent in blocks:
                inherited = early_days[parent] if parent >= 0 else course_early
                early_days.append(block.days_early_for_beta if block.days_early_for_beta is not None else inherited)
        self.early_in_order = [timedelta(days=days) for days in early_days]
        self.index = outline.block_positions

    def _not_open(self, key: UsageKey, position: int) -> bool:
        opens = self.schedule.opens_in_order[position]
        early = self.early_in_order[position] if self.beta_tester else timedelta(0)
        if opens > self.at_time + early:
            self.reasons[key] = f"opens on {opens.isoformat()}" + (" (beta testers: earlier)" if early else "")
            return True
        return False

    def usage_keys_to_remove(self, outline):
        # Sections and subsections stay in the outline, locked (below); what is inside a subsection goes.
        locked_levels = {"chapter", "sequential"}
        return frozenset(
            key for position, (key, block) in enumerate(outline.blocks.items())
            if block.block_type not in locked_levels and self._not_open(key, position)
        )

    def inaccessible_sequences(self, outline):
        closed = set()
        for key, sequence in outline.sequences.items():
            if self._not_open(key, self.index[key]):
                closed.add(key)
                continue
            due = outline.end if outline.self_paced else self.schedule.due(key)
            if sequence.inaccessible_after_due and due is not None and due < self.at_time:
                self.reasons[key] = f"closed after its due date, {due.isoformat()}"
                closed.add(key)
        return frozenset(closed)


class ContentGroupsOutlineProcessor(OutlineProcessor):
    """
    ``group_access``: a block restricted to groups of a partition is removed for learners in none of them.

    A learner's group in each partition comes from the partition's scheme (a plugin: cohorts, enrollment
    tracks, random experiments); a partition that no longer exists, or whose scheme is not installed,
    admits nobody.
    """

    order = 30
    description = "for other content groups"

    def load_data(self, outline):
        partitions: dict[int, Mapping[str, Any]] = {p["id"]: p for p in outline.user_partitions}
        partitions.setdefault(ENROLLMENT_TRACK_PARTITION_ID, enrollment_track_partition())
        self.partitions = partitions
        needed = {pid for block in outline.blocks.values() for pid in block.group_access}
        by_scheme: dict[str, list[Mapping[str, Any]]] = {}
        for pid in sorted(needed):
            if pid in partitions:
                by_scheme.setdefault(partitions[pid].get("scheme") or "random", []).append(partitions[pid])
        self.groups: dict[int, int] = {}
        self.missing_schemes: dict[int, str] = {}
        for scheme_name, scheme_partitions in by_scheme.items():
            scheme: PartitionScheme | None = partition_scheme(scheme_name)
            if scheme is None:
                for partition in scheme_partitions:
                    self.missing_schemes[partition["id"]] = scheme_name
                continue
            self.groups.update(scheme.groups_for_user(self.user, self.course_key, scheme_partitions, self.context))

    def _refusal(self, group_access: Mapping[int, frozenset[int]]) -> str | None:
        for pid, allowed in sorted(group_access.items()):
            partition = self.partitions.get(pid)
            if partition is None:
                return f"restricted to partition {pid}, which the course no longer has"
            if pid in self.missing_schemes:
                return f"restricted by partition {partition.get('name', pid)!r}, whose scheme " \
                       f"{self.missing_schemes[pid]!r} is not installed"
            if self.groups.get(pid) not in allowed:
                names = {group.get("id"): group.get("name") for group in partition.get("groups", [])}
                wanted = ", ".join(repr(names[gid]) if names.get(gid) else f"group {gid}" for gid in sorted(allowed))
                return f"only for {wanted} of {partition.get('name') or f'partition {pid}'!r}"
        return None

    def usage_keys_to_remove(self, outline):
        removed = set()
        for key, block in outline.blocks.items():
            if block.group_access:
                refusal = self._refusal(block.group_access)
                if refusal is not None:
                    self.reasons[key] = refusal
                    removed.add(key)
        return frozenset(removed)


class SelectorsOutlineProcessor(OutlineProcessor):
    """
    Selectors: of a selector's pool, what the learner's Variant does not show is removed.

    The runtime applies this rule itself as blocks are reached (choosing a Variant when a learner first
    meets a selector), so it runs only where a whole outline is asked for; there it chooses the learner's
    Variant of every selector at once, as edx-platform's course blocks do.
    """

    order = 40
    description = "not in the learner's variant of its selector"
    applied_by_runtime = True

    def load_data(self, outline):
        self.context.resolve_selectors()

    def usage_keys_to_remove(self, outline):
        shown: dict[UsageKey, set[UsageKey]] = {}
        removed = set()
        for key, block in outline.blocks.items():
            parent = outline.blocks.get(block.parent) if block.parent is not None else None
            if parent is None or not parent.is_selector:
                continue
            if parent.usage_key not in shown:
                shown[parent.usage_key] = set(self.context.variant_members(parent.usage_key))
            if key not in shown[parent.usage_key]:
                removed.add(key)
        return frozenset(removed)
