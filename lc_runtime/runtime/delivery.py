"""Delivering a block's event once its unit of work has committed: receivers, recorders, the host's handlers."""

from __future__ import annotations

import logging

from lc_runtime.conf import get_setting, import_object
from lc_runtime.runtime.completion import record_completion
from lc_runtime.runtime.events import XBlockEvent, xblock_event
from lc_runtime.runtime.host_services import tracking_log_event

__all__ = ["deliver"]

log = logging.getLogger(__name__)


def deliver(event: XBlockEvent) -> None:
    """
    Send the event to ``xblock_event``'s receivers and, for learners' (published-mode) events, record it
    (its completion, the tracking log) and hand it to every ``LC_RUNTIME["EVENT_HANDLERS"]`` callable.

    A recorder that fails is logged and the rest still run: the learner's request has committed, and what
    they did stands.
    """
    xblock_event.send(sender=XBlockEvent, event=event)
    if event.mode != "published":
        return
    for recorder in (record_completion, tracking_log_event):
        try:
            recorder(event)
        except Exception:
            log.exception("recording %s of %s failed", event.event_type, event.usage_key)
    for path in get_setting("EVENT_HANDLERS"):
        import_object(path)(event)
