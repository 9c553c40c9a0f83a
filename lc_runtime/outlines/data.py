"""
A course's outline, as learning_sequences shapes it, and what one learner gets of it.

:class:`CourseOutlineData` is the learner-independent outline of a course run's tree: the same field
names as edx-platform's ``learning_sequences.data.CourseOutlineData`` (so a host can feed
``replace_course_outline`` from it), with what this runtime adds: each sequence's units, and the
access settings of every block below the course (:class:`BlockAccessData`), which the processors read
to decide for blocks inside units too. :class:`UserCourseOutline` is one learner's outline: what the
processors left, with each locked entry saying which processor locked it and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from opaque_keys.edx.keys import CourseKey, UsageKey

__all__ = [
    "BlockAccessData",
    "Closure",
    "CourseLearningSequenceData",
    "CourseOutlineData",
    "CourseSectionData",
    "CourseUnitData",
    "CourseVisibility",
    "ExamData",
    "UserCourseOutline",
    "UserOutlineSection",
    "UserOutlineSequence",
    "UserOutlineUnit",
    "VisibilityData",
]

PartitionGroups = Mapping[int, frozenset[int]]
"""``{partition id: group ids}``: a block's ``group_access`` with empty lists (no restriction) left out."""


class CourseVisibility:
    """Who may see a course's outline without enrolling (learning_sequences' ``CourseVisibility``)."""

    PRIVATE = "private"
    PUBLIC_OUTLINE = "public_outline"
    PUBLIC = "public"


@dataclass(frozen=True)
class VisibilityData:
    """A block's own visibility settings."""

    hide_from_toc: bool = False
    visible_to_staff_only: bool = False


@dataclass(frozen=True)
class ExamData:
    """A subsection's special-exam settings."""

    is_practice_exam: bool = False
    is_proctored_enabled: bool = False
    is_time_limited: bool = False


@dataclass(frozen=True)
class BlockAccessData:
    """
    The settings of one block that decide who may reach it, as authored on the block itself.

    Dates and flags are the block's own, not inherited: a processor that closes a block closes what is
    below it, so an ancestor's setting reaches its descendants that way. ``start`` and ``due`` are the
    values set on the block (None where it inherits).
    """

    usage_key: UsageKey
    block_type: str
    title: str
    parent: UsageKey | None
    visibility: VisibilityData = VisibilityData()
    start: datetime | None = None
    due: datetime | None = None
    days_early_for_beta: float | None = None
    group_access: PartitionGroups = field(default_factory=dict)
    graded: bool | None = None
    format: str | None = None
    is_selector: bool = False


@dataclass(frozen=True)
class CourseUnitData:
    """A Unit of a subsection (learning_sequences stops at subsections; lc-runtime's outline goes one level on)."""

    usage_key: UsageKey
    title: str
    visibility: VisibilityData = VisibilityData()
    user_partition_groups: PartitionGroups = field(default_factory=dict)


@dataclass(frozen=True)
class CourseLearningSequenceData:
    """A subsection (``sequential``): learning_sequences' ``CourseLearningSequenceData`` with its units."""

    usage_key: UsageKey
    title: str
    visibility: VisibilityData = VisibilityData()
    exam: ExamData = ExamData()
    inaccessible_after_due: bool = False
    user_partition_groups: PartitionGroups = field(default_factory=dict)
    units: tuple[CourseUnitData, ...] = ()


@dataclass(frozen=True)
class CourseSectionData:
    """A section (``chapter``)."""

    usage_key: UsageKey
    title: str
    visibility: VisibilityData = VisibilityData()
    sequences: tuple[CourseLearningSequenceData, ...] = ()
    user_partition_groups: PartitionGroups = field(default_factory=dict)


@dataclass(frozen=True)
class CourseOutlineData:
    """
    The outline of a course run, the same for every learner: cached per published snapshot.

    The field names are learning_sequences' (``published_version`` is the snapshot's id); ``start``,
    ``end``, ``user_partitions`` and ``blocks`` are lc-runtime's additions. ``blocks`` holds every
    block below the course, sections to components, in course order; ``sequences`` every subsection.
    """

    course_key: CourseKey
    title: str
    published_at: datetime | None
    published_version: str
    days_early_for_beta: float | None
    sections: tuple[CourseSectionData, ...]
    self_paced: bool
    course_visibility: str = CourseVisibility.PRIVATE
    entrance_exam_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    user_partitions: tuple[Mapping[str, Any], ...] = ()
    blocks: Mapping[UsageKey, BlockAccessData] = field(default_factory=dict)

    @cached_property
    def sequences(self) -> dict[UsageKey, CourseLearningSequenceData]:
        """Every subsection, by usage key, in course order."""
        return {sequence.usage_key: sequence for section in self.sections for sequence in section.sequences}

    # Usage keys hash slowly (opaque_keys rebuilds a tuple each time) and ``blocks`` holds every block of
    # the course: work done per learner goes by position, found once per outline (built once per snapshot).
    @cached_property
    def block_positions(self) -> Mapping[UsageKey, int]:
        """Each block's position in :attr:`blocks` (course order)."""
        return {key: position for position, key in enumerate(self.blocks)}

    @cached_property
    def parent_positions(self) -> tuple[int, ...]:
        """For each block of :attr:`blocks`, in order, its parent's position; -1 for the course's children."""
        index, root = self.block_positions, self.root_key
        return tuple(
            -1 if block.parent is None or block.parent == root else index[block.parent]
            for block in self.blocks.values()
        )

    @property
    def root_key(self) -> UsageKey:
        """The usage key of the course block."""
        return self.course_key.make_usage_key("course", "course")


@dataclass(frozen=True)
class Closure:
    """Why a learner cannot reach a block: the processor that decided, its reason, and whether it is hidden."""

    processor: str
    reason: str
    removed: bool


@dataclass(frozen=True)
class UserOutlineUnit:
    """A unit of one learner's outline."""

    usage_key: UsageKey
    display_name: str
    start: datetime | None
    due: datetime | None
    accessible: bool
    closed_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class UserOutlineSequence:
    """A subsection of one learner's outline: its dates are the learner's own (personal overrides applied)."""

    usage_key: UsageKey
    display_name: str
    start: datetime | None
    due: datetime | None
    graded: bool
    format: str | None
    accessible: bool
    closed_by: str | None
    reason: str | None
    units: tuple[UserOutlineUnit, ...]


@dataclass(frozen=True)
class UserOutlineSection:
    """A section of one learner's outline."""

    usage_key: UsageKey
    display_name: str
    start: datetime | None
    accessible: bool
    closed_by: str | None
    reason: str | None
    sequences: tuple[UserOutlineSequence, ...]


@dataclass(frozen=True)
class UserCourseOutline:
    """
    What one learner gets of a course's outline at one time.

    ``sections`` hold what no processor removed, each entry ``accessible`` or locked (``closed_by`` the
    processor, with its ``reason``); ``hidden`` says, for each entry removed, which processor removed it
    and why (for staff tools: a learner's view never shows it). Course staff get everything, accessible.
    """

    course_key: CourseKey
    user_id: int | None
    at_time: datetime
    published_version: str
    is_staff: bool
    sections: tuple[UserOutlineSection, ...]
    hidden: Mapping[UsageKey, Closure]

    @property
    def sequences(self) -> dict[UsageKey, UserOutlineSequence]:
        """Every subsection the learner sees (accessible or locked), by usage key."""
        return {sequence.usage_key: sequence for section in self.sections for sequence in section.sequences}

    @property
    def accessible_sequences(self) -> frozenset[UsageKey]:
        """The subsections the learner may open (learning_sequences' ``accessible_sequences``)."""
        return frozenset(key for key, sequence in self.sequences.items() if sequence.accessible)
