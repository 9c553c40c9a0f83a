"""Events blocks publish (``runtime.publish``), delivered only after the unit of work commits (``delivery``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.dispatch import Signal

__all__ = ["XBlockEvent", "xblock_event"]

xblock_event = Signal()
"""
Sent with ``event=XBlockEvent`` for every event a block publishes, once its unit of work has committed.

Events from authors' previews (``event.mode == "draft"``) are sent too; a receiver that records grades
or analytics must ignore them. ``LC_RUNTIME["EVENT_HANDLERS"]`` only ever get learners' events.
"""


@dataclass(frozen=True)
class XBlockEvent:
    """One event: ``grade``, ``completion``, or any name a block chooses."""

    event_type: str
    data: Any
    usage_key: str
    block_type: str
    course_key: str
    user_id: int | None
    mode: str = "published"
    username: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(tz=UTC))
