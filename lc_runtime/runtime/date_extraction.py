"""
The dates a course run's published content sets: what lc-runtime writes to edx-when on publish.

The same choices as edx-platform's ``extract_dates`` (``course_date_signals``), read off the blocks of
a system runtime (``user=None``: whole pools, no learner):

- **instructor-paced**: every block's own ``start``, ``due`` and ``end``, where the block sets them (a
  value it inherits is its ancestor's, written there). The course root's ``start`` and ``end`` are the
  run's when the run sets its own.
- **self-paced**: the course root's ``start`` and ``end``, and due dates relative to each learner's
  start. The course's expected duration (:data:`EXPECTED_DURATION`, edx-platform's when no course
  catalog tells it more) is shared evenly by its sections (staff-only ones aside), in order: a graded
  subsection holding an assignment (a graded block with a score) is due when its section's share
  ends; a subsection that sets ``relative_weeks_due`` is due that many weeks after the start, graded
  or not. The date is written for the subsection and for each assignment in it (open response
  assessments keep their own dates, as in edx-platform); a graded section is due with its latest
  subsection. Absolute due dates in a self-paced course are not written: edx-platform ignores them too.
  (edx-platform writes these dates behind two flags, for the Units between too; lc-runtime always
  writes them, and its learners' blocks inherit a subsection's date as theirs.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from opaque_keys.edx.keys import UsageKey
from xblock.core import XBlock
from xblock.fields import Date, Scope

from lc_runtime.content.dates.api import DATE_FIELDS
from lc_runtime.runtime.learning_core_runtime import LearningCoreRuntime

__all__ = ["EXPECTED_DURATION", "DateItems", "content_dates_of"]

log = logging.getLogger(__name__)

EXPECTED_DURATION = timedelta(weeks=4)
"""How long a self-paced course takes: edx-platform's shortest (and default) expected duration."""

DateItems = list[tuple[UsageKey, dict[str, datetime | timedelta]]]
"""``(usage key, {field: date})``: what :func:`lc_runtime.content.dates.api.write_content_dates` takes."""

_DATE = Date()
_OWN_DATES_BELOW_TYPES = frozenset({"openassessment"})  # they keep their own dates: no relative one


def content_dates_of(runtime: LearningCoreRuntime) -> DateItems:
    """The dates the run of ``runtime`` (a published runtime without a user) sets, by block."""
    if runtime.mode != "published" or runtime.user is not None:
        raise ValueError("a run's content dates are read from a published runtime without a user")
    root = runtime.get_block(runtime.root_usage_key)
    if root.self_paced:
        return _self_paced_dates(runtime, root)
    return _instructor_paced_dates(runtime)


def _own_dates(block: XBlock, names) -> dict[str, datetime]:
    """The dates among ``names`` that ``block`` itself sets (not inherits)."""
    found: dict[str, datetime] = {}
    for name in names:
        field = block.fields.get(name)
        if field is None or field.scope != Scope.settings or not field.is_set_on(block):
            continue
        value = field.read_from(block)
        if isinstance(value, str):  # the course root keeps ``end`` as text
            try:
                value = _DATE.from_json(value)
            except (ValueError, OverflowError):
                log.warning("%s: %s %r is not a date; not written to edx-when", block.scope_ids.usage_id, name, value)
                continue
        if isinstance(value, datetime):
            found[name] = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return found


def _instructor_paced_dates(runtime: LearningCoreRuntime) -> DateItems:
    items: DateItems = []
    for record in runtime.iter_records():
        block = runtime.get_block(runtime.usage_key_of(record.ref))
        dates = _own_dates(block, DATE_FIELDS)
        if dates:
            items.append((block.scope_ids.usage_id, dates))
    return items


def _blocks_below(runtime: LearningCoreRuntime, block: XBlock) -> Iterator[XBlock]:
    for record in runtime.descendant_records(block.scope_ids.usage_id)[1:]:
        yield runtime.get_block(runtime.usage_key_of(record.ref))


def _is_scored(block: XBlock) -> bool:
    """A block that gets a score (and a weight above zero, where it has one): what a due date is for."""
    if block.scope_ids.block_type in _OWN_DATES_BELOW_TYPES or not getattr(block, "has_score", False):
        return False
    weight = getattr(block, "weight", None)
    return weight is None or weight > 0


def _self_paced_dates(runtime: LearningCoreRuntime, root: XBlock) -> DateItems:
    items: DateItems = []
    course_dates = _own_dates(root, ("start", "end"))
    if course_dates:
        items.append((root.scope_ids.usage_id, course_dates))
    sections = [section for section in root.get_children() if not section.visible_to_staff_only]
    for index, section in enumerate(sections):
        share_ends = EXPECTED_DURATION * (index + 1) / len(sections)
        latest: timedelta | None = None
        for subsection in section.get_children():
            weeks = getattr(subsection, "relative_weeks_due", None)
            if weeks:
                due = timedelta(weeks=weeks)
                dated = [block for block in _blocks_below(runtime, subsection) if _is_scored(block)]
            elif subsection.graded:
                due = share_ends
                dated = [block for block in _blocks_below(runtime, subsection) if block.graded and _is_scored(block)]
                if not dated:  # graded in name only: nothing in it is scored
                    continue
            else:
                continue
            items.append((subsection.scope_ids.usage_id, {"due": due}))
            items.extend((block.scope_ids.usage_id, {"due": due}) for block in dated)
            latest = due if latest is None else max(latest, due)
        if latest is not None and section.graded:
            items.append((section.scope_ids.usage_id, {"due": latest}))
    return items
