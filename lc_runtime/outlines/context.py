"""What outline processors and partition schemes may ask of the runtime about one learner."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from opaque_keys.edx.keys import UsageKey

__all__ = ["LearnerContext"]


class LearnerContext(Protocol):
    """
    One learner in one course run, as a runtime knows them: what processors read instead of querying.

    Everything is loaded once per runtime (one request) and shared: a processor that asks twice costs
    nothing more, and two processors that need the learner's groups share one read.
    """

    @property
    def roles(self) -> frozenset[str]:
        """The learner's course roles (``lc_runtime.content.roles``)."""

    def learner_dates(self) -> Mapping[tuple[UsageKey, str], datetime]:
        """The learner's dates from edx-when: ``{(usage key, "start"|"due"|"end"): date}``, overrides applied."""

    def partition_groups(self) -> Mapping[int, int]:
        """The learner's stored group in each partition: ``{partition id: group id}``."""

    def assign_random_groups(self, partitions: Sequence[Mapping[str, Any]]) -> Mapping[int, int]:
        """Give the learner a group in each random partition that has none yet (stored, as a split test would)."""

    def resolve_selectors(self) -> None:
        """Choose the learner's Variant of every selector of the course they can reach, in one batch."""

    def variant_members(self, selector_key: UsageKey) -> list[UsageKey]:
        """The members of a selector's pool the learner's Variant shows (none if they cannot reach it)."""

    def remember(self, name: str, load: Callable[[], Any]) -> Any:
        """
        What ``load()`` returns, called once per runtime under ``name`` (a processor's own reads).

        A runtime may run the processors more than once (for the blocks a request reaches, and again for a
        whole outline): a plugin that reads its own data in ``load_data`` reads it through this, once.
        """
