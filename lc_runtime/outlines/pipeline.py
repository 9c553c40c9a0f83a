"""
Running the outline processors for one learner, and what comes of it: who may reach which block.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from opaque_keys.edx.keys import UsageKey

from lc_runtime.outlines.context import LearnerContext
from lc_runtime.outlines.data import (
    Closure,
    CourseOutlineData,
    UserCourseOutline,
    UserOutlineSection,
    UserOutlineSequence,
    UserOutlineUnit,
)
from lc_runtime.outlines.processors import BlockDates, OutlineProcessor
from lc_runtime.outlines.registry import working_outline_processors

__all__ = ["AccessDecision", "decide_access", "user_course_outline"]


class AccessDecision:
    """
    What the processors closed for one learner: each entry as decided, and its effect below it.

    ``closed`` holds the blocks a processor named (removed, or inaccessible subsections);
    :meth:`closure_of` answers for any block, a closed ancestor closing it too. ``toc_hidden`` holds
    what only the table of contents leaves out.
    """

    def __init__(
        self,
        outline: CourseOutlineData,
        closed: Mapping[UsageKey, Closure] | None = None,
        toc_hidden: Mapping[UsageKey, Closure] | None = None,
    ) -> None:
        self.outline = outline
        self.closed = dict(closed or {})
        self.toc_hidden = dict(toc_hidden or {})
        self._below: dict[UsageKey, Closure | None] = {}

    @property
    def closes_nothing(self) -> bool:
        return not self.closed

    def closure_of(self, key: UsageKey) -> Closure | None:
        """Why the learner may not reach ``key`` (its own closure, or its nearest closed ancestor's), or None."""
        if not self.closed:
            return None
        if key in self._below:
            return self._below[key]
        closure = self.closed.get(key)
        if closure is None:
            block = self.outline.blocks.get(key)
            if block is not None and block.parent is not None:
                closure = self.closure_of(block.parent)
        self._below[key] = closure
        return closure


def decide_access(
    outline: CourseOutlineData,
    user,
    at_time: datetime,
    context: LearnerContext,
    *,
    is_staff: bool,
    for_runtime: bool = False,
    processors: list[tuple[str, type[OutlineProcessor]]] | None = None,
) -> AccessDecision:
    """
    Run every installed processor for ``user`` at ``at_time`` (none for course staff).

    With ``for_runtime``, processors whose rule the runtime applies block by block as they are reached
    (``applied_by_runtime``) are skipped. A removal outranks a lock; between two removals the earlier
    processor (by ``order``) is named.
    """
    if is_staff:
        return AccessDecision(outline)
    closed: dict[UsageKey, Closure] = {}
    toc_hidden: dict[UsageKey, Closure] = {}
    chosen = processors if processors is not None else working_outline_processors()
    instances = []
    for name, processor_class in chosen:
        if for_runtime and processor_class.applied_by_runtime:
            continue
        processor = processor_class(outline.course_key, user, at_time, context)
        processor.name = name
        processor.load_data(outline)
        instances.append(processor)
    for processor in instances:
        for key in processor.usage_keys_to_remove(outline):
            current = closed.get(key)
            if current is None or not current.removed:
                closed[key] = Closure(processor.name, processor.reason(key), removed=True)
        for key in processor.usage_keys_to_hide(outline):
            toc_hidden.setdefault(key, Closure(processor.name, processor.reason(key), removed=True))
    for processor in instances:
        for key in processor.inaccessible_sequences(outline):
            closed.setdefault(key, Closure(processor.name, processor.reason(key), removed=False))
    return AccessDecision(outline, closed, toc_hidden)


def user_course_outline(
    outline: CourseOutlineData,
    decision: AccessDecision,
    schedule: BlockDates,
    *,
    user_id: int | None,
    at_time: datetime,
    is_staff: bool,
) -> UserCourseOutline:
    """One learner's outline: what ``decision`` leaves of ``outline``, with the learner's dates."""
    hidden: dict[UsageKey, Closure] = {}

    def state(key: UsageKey) -> tuple[bool, Closure | None]:
        """(shown, closure): not shown if removed or hidden from the table of contents."""
        closure = decision.closure_of(key)
        if closure is not None and closure.removed:
            if key in decision.closed:
                hidden[key] = closure
            return False, closure
        if key in decision.toc_hidden:
            hidden[key] = decision.toc_hidden[key]
            return False, decision.toc_hidden[key]
        return True, closure

    sections = []
    for section in outline.sections:
        shown, closure = state(section.usage_key)
        if not shown:
            continue
        sequences = []
        for sequence in section.sequences:
            shown, seq_closure = state(sequence.usage_key)
            if not shown:
                continue
            block = outline.blocks[sequence.usage_key]
            units = []
            for unit in sequence.units:
                shown, unit_closure = state(unit.usage_key)
                if not shown:
                    continue
                units.append(UserOutlineUnit(
                    usage_key=unit.usage_key,
                    display_name=unit.title,
                    start=schedule.start(unit.usage_key),
                    due=schedule.due(unit.usage_key),
                    accessible=unit_closure is None,
                    closed_by=unit_closure.processor if unit_closure else None,
                    reason=unit_closure.reason if unit_closure else None,
                ))
            sequences.append(UserOutlineSequence(
                usage_key=sequence.usage_key,
                display_name=sequence.title,
                start=schedule.start(sequence.usage_key),
                due=schedule.due(sequence.usage_key),
                graded=bool(block.graded),
                format=block.format,
                accessible=seq_closure is None,
                closed_by=seq_closure.processor if seq_closure else None,
                reason=seq_closure.reason if seq_closure else None,
                units=tuple(units),
            ))
        sections.append(UserOutlineSection(
            usage_key=section.usage_key,
            display_name=section.title,
            start=schedule.start(section.usage_key),
            accessible=closure is None,
            closed_by=closure.processor if closure else None,
            reason=closure.reason if closure else None,
            sequences=tuple(sequences),
        ))
    return UserCourseOutline(
        course_key=outline.course_key,
        user_id=user_id,
        at_time=at_time,
        published_version=outline.published_version,
        is_staff=is_staff,
        sections=tuple(sections),
        hidden=hidden,
    )
