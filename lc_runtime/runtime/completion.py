"""
Completion: the ``completion`` service and the recording of completions, in edx-completion's store.

A learner's completions are ``BlockCompletion`` rows (edx-completion, as in edx-platform), written after
the request's unit of work commits, from the events blocks publish: a ``completion`` event records its
value; a ``grade`` event completes a block that is completable by grading (edx-completion's own rule for
scored blocks). Nothing is recorded for anonymous visitors, authors' previews or staff viewing as a
learner (their events are not sent). edx-completion records only while its waffle switch
``completion.enable_completion_tracking`` is on: the operator's choice in edx-platform, switched on by
the standalone settings' migrations.
"""

from __future__ import annotations

import logging

from completion.models import BlockCompletion
from completion.services import CompletionService as EdxCompletionService
from django.contrib.auth import get_user_model
from opaque_keys.edx.keys import UsageKey
from xblock.completable import XBlockCompletionMode

from lc_runtime.blocks.registry import load_block_class
from lc_runtime.runtime.events import XBlockEvent

__all__ = ["LearnerCompletionService", "NoCompletionService", "record_completion"]

log = logging.getLogger(__name__)


class LearnerCompletionService(EdxCompletionService):
    """edx-completion's service for the runtime's learner in its course run (completions read from its table)."""


class NoCompletionService:
    """For anonymous visitors and authors' previews: tracking off, nothing complete, nothing recorded."""

    def completion_tracking_enabled(self) -> bool:
        return False

    def get_completions(self, candidates) -> dict:
        return {candidate: 0.0 for candidate in candidates}

    def vertical_is_complete(self, item) -> bool:
        return False

    def get_completable_children(self, node) -> list:
        return []

    def get_complete_on_view_delay_ms(self) -> int:
        return 0

    def blocks_to_mark_complete_on_view(self, blocks) -> list:
        return []

    def can_mark_block_complete_on_view(self, block) -> bool:
        return False

    def submit_group_completion(self, *args, **kwargs) -> None:
        return None

    def submit_completion(self, *args, **kwargs) -> None:
        return None


def _completion_of(event: XBlockEvent) -> float | None:
    """The completion ``event`` records for its block, or None when it records none."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.event_type == "completion":
        value = data.get("completion")
        return float(value) if isinstance(value, int | float) else None
    if event.event_type == "grade" and not data.get("grader_response"):
        block_class = load_block_class(event.block_type)
        completable = XBlockCompletionMode.get_mode(block_class) == XBlockCompletionMode.COMPLETABLE
        if completable and not getattr(block_class, "has_custom_completion", False):
            return 0.0 if data.get("score_deleted") else 1.0
    return None


def record_completion(event: XBlockEvent) -> None:
    """Record the completion a learner's event carries (after commit; see the module's docstring)."""
    if event.mode != "published" or event.user_id is None:
        return
    value = _completion_of(event)
    if value is None:
        return
    user = get_user_model().objects.filter(id=event.user_id).first()
    if user is None:
        return
    BlockCompletion.objects.submit_completion(user, UsageKey.from_string(event.usage_key), min(max(value, 0.0), 1.0))
