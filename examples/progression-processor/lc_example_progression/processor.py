"""
``in_order``: in a section, a subsection opens once the learner has answered every problem before it.

A course takes part when its run's key is listed in the Django setting ``LC_EXAMPLE_IN_ORDER_COURSES``
(installing the plugin changes no other course). In such a course, each section's first subsection is open;
every later one stays in the learner's outline but locked until each *required* problem of the subsections
before it in its section is complete for the learner (edx-completion's ``BlockCompletion``, which lc-runtime
writes when a problem is graded). A problem is required when every learner of the subsection meets it:
not below a selector (learners see different members), not restricted to content groups, not visible to
staff only.

Course staff are never processed (lc-runtime's rule for every processor). The cost is one query per learner
and request: their completions in the course run.
"""

from __future__ import annotations

from django.conf import settings
from opaque_keys.edx.keys import UsageKey

from lc_runtime.outlines.api import OutlineProcessor

__all__ = ["InOrderProcessor", "REQUIRED_TYPES", "required_problems"]

# The block types that must be answered. edx-platform's ``problem`` (capa); add scored XBlocks of your own here.
REQUIRED_TYPES = frozenset({"problem"})


def required_problems(outline) -> dict[UsageKey, list[UsageKey]]:
    """Each subsection's problems that every learner of it meets, in course order (no learner data read)."""
    blocks, sequences = outline.blocks, outline.sequences
    required: dict[UsageKey, list[UsageKey]] = {}
    for key, block in blocks.items():
        if block.block_type not in REQUIRED_TYPES or _varies_by_learner(block):
            continue
        parent = block.parent
        while parent is not None and parent in blocks and parent not in sequences:
            if blocks[parent].is_selector or _varies_by_learner(blocks[parent]):
                break
            parent = blocks[parent].parent
        else:
            if parent is not None:
                required.setdefault(parent, []).append(key)
    return required


def _varies_by_learner(block) -> bool:
    return bool(block.group_access) or block.visibility.visible_to_staff_only


class InOrderProcessor(OutlineProcessor):
    """Locks each subsection of a section until the learner has completed the required problems before it."""

    order = 60  # after the built-ins: a subsection they close is named as closed by them
    description = "the subsections before it are not finished"

    def load_data(self, outline):
        self.enabled = str(self.course_key) in set(getattr(settings, "LC_EXAMPLE_IN_ORDER_COURSES", ()))
        self.completed: frozenset[UsageKey] = frozenset()
        if not self.enabled or self.user is None or not getattr(self.user, "is_authenticated", False):
            return
        # Through the context: a runtime may run its processors twice (the blocks a request reaches, then a
        # whole outline), and the learner's completions are read once for both.
        self.completed = self.context.remember("in_order.completed", self._completed)

    def _completed(self) -> frozenset[UsageKey]:
        from completion.models import BlockCompletion  # a model: importable once Django's apps are ready

        return frozenset(
            BlockCompletion.objects.filter(user=self.user, context_key=self.course_key, completion__gte=1.0)
            .values_list("block_key", flat=True)
        )

    def inaccessible_sequences(self, outline):
        if not self.enabled:
            return frozenset()
        locked = set()
        required = required_problems(outline)
        for section in outline.sections:
            missing: list[tuple[str, int]] = []  # (subsection title, problems left) before the current one
            for sequence in section.sequences:
                if missing:
                    locked.add(sequence.usage_key)
                    self.reasons[sequence.usage_key] = "first answer " + "; ".join(
                        f"{left} problem{'s' if left > 1 else ''} of {title!r}" for title, left in missing
                    )
                left = sum(1 for key in required.get(sequence.usage_key, ()) if key not in self.completed)
                if left:
                    missing.append((sequence.title, left))
        return frozenset(locked)
