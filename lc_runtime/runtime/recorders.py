"""What the runtime itself records of a learner's events, after commit: completions and the tracking log."""

from __future__ import annotations

import logging

from lc_runtime.runtime.completion import record_completion
from lc_runtime.runtime.events import XBlockEvent
from lc_runtime.runtime.host_services import tracking_log_event

__all__ = ["record"]

log = logging.getLogger(__name__)


def record(event: XBlockEvent) -> None:
    """
    Record ``event``'s completion and write it to the tracking log. A recorder that fails is logged and
    the others still run: the learner's request has committed, and its answer stands.
    """
    for recorder in (record_completion, tracking_log_event):
        try:
            recorder(event)
        except Exception:
            log.exception("recording %s of %s failed", event.event_type, event.usage_key)
