"""
The selector plugin API: what a selection strategy declares and implements.

A selector plugin is a subclass of :class:`Selector` registered under the entry point group
``lc_runtime.selectors.v1`` (see :mod:`lc_runtime.selectors.registry`). The runtime stores the
plugin's pool and rules, and calls :meth:`Selector.get_or_create_variant_for_user` whenever a
learner needs to see the selector's children; it persists the :class:`Variant` the plugin returns,
once per (selector, learner, course run), and sends the plugin's events after the request commits.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from xblock.core import XBlock
from xblock.fields import Field

__all__ = ["PoolMember", "SelectionContext", "Selector", "Variant"]


@dataclass(frozen=True)
class PoolMember:
    """One entity of a selector's pool: a Unit or a Component, known by its block type and id."""

    entity_id: int
    block_type: str
    block_id: str

    @property
    def ref(self) -> tuple[str, str]:
        return (self.block_type, self.block_id)


@dataclass(frozen=True)
class Variant:
    """
    What one learner sees of one selector: pool members in display order.

    ``group_id`` is the learner's partition group for selectors that choose by group; ``generation``
    counts resets (each reset draws again from a fresh seed).
    """

    members: tuple[PoolMember, ...]
    group_id: int | None = None
    generation: int = 0

    def same_choice(self, other: Variant | None) -> bool:
        """True if ``other`` shows the same members in the same order, to the same group."""
        return (
            other is not None
            and [m.entity_id for m in self.members] == [m.entity_id for m in other.members]
            and self.group_id == other.group_id
            and self.generation == other.generation
        )


@dataclass
class SelectionContext:
    """
    What the runtime hands a plugin for one selection: who, where, a seeded generator, events.

    ``rng`` is seeded from the selector, the learner, the course run, the Variant's generation, the
    pool's version and a per-deployment secret, so the same inputs always make the same choice.
    ``partition_group(partition_id)`` answers the learner's group in a partition that
    :meth:`Selector.partitions_used` declared (assigned and stored by the runtime beforehand).

    ``block_of(key)`` is the block of this course run that ``key`` names (a usage key, or an
    ``i4x://`` location as old OLX writes them) as this learner has it: built in the learner's runtime,
    their state loaded (the runtime loads the state of every block :meth:`Selector.sources` names, for a
    whole batch of selectors at once); None when the run has no such block or the learner may not reach
    it. ``member_of(key)`` is the block a key names as a :class:`PoolMember` (None when the run has none),
    for a selector that shows blocks from outside its pool.

    ``block_of_member(member)`` is a member of the selector's own pool as this learner has it (their
    state read), whether or not their Variant shows it; None when the learner may not reach it. It serves
    a selector that chooses by what the learner did with what it showed them (an adaptive sequence).
    """

    course_key: str
    usage_key: str
    user_id: int | None
    rng: random.Random
    partition_groups: Mapping[int, int] = field(default_factory=dict)
    events: list[tuple[str, dict]] = field(default_factory=list)
    usage_key_of: Callable[[PoolMember], str] = str
    descendants_of: Callable[[PoolMember], list[str]] = lambda _member: []
    # For selectors that read other blocks (``Selector.sources``): a block of the course by its key.
    block_of: Callable[[str], XBlock | None] = lambda _key: None
    member_of: Callable[[str], PoolMember | None] = lambda _key: None
    # For selectors that adapt to the learner's work on their own members: a pool member's block.
    block_of_member: Callable[[PoolMember], XBlock | None] = lambda _member: None

    def partition_group(self, partition_id: int) -> int | None:
        """The learner's group in a partition the plugin declared, or None (anonymous, or no such partition)."""
        return self.partition_groups.get(partition_id)

    def publish(self, event_type: str, data: dict) -> None:
        """Queue an analytics event on the selector; sent after commit, and only if this request's Variant won."""
        self.events.append((event_type, data))


class Selector:
    """
    Base class of selector plugins.

    Declare:

    - ``type_name``: the selector's name (the entry point name must be the same);
    - ``olx_tags``: the OLX tags it imports from and exports to;
    - ``fields``: its configuration, as XBlock fields (``Scope.settings`` or ``Scope.content``),
      read from the selector element's attributes and written back on export;
    - ``default_display_name``.

    Implement :meth:`get_or_create_variant_for_user`; override :meth:`partitions_used` if the choice
    depends on user partitions, :meth:`sources` if it reads other blocks, and :meth:`member_label` to
    label pool members for authors.
    """

    type_name: ClassVar[str] = ""
    olx_tags: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[dict[str, Field]] = {}
    default_display_name: ClassVar[str] = "Selector"
    # Whether learners may ask for a new draw (the block's own setting decides when it has one).
    reset_field: ClassVar[str | None] = None
    # False for a selector whose choice follows what can change at any moment (the learner's state of
    # other blocks, as ``conditional``): its Variant is computed again in every unit of work (every
    # request), with ``previous`` None, and never stored (ADR 0022).
    stores_variants: ClassVar[bool] = True
    # Child elements of the selector's OLX element that are part of its rules (kept in its proxy's OLX),
    # not members of its pool: ``<show>`` of a ``conditional``.
    rules_child_tags: ClassVar[tuple[str, ...]] = ()
    # Classes put before the runtime's selector XBlock base in this selector's XBlock class: its own views
    # or OLX reading and writing, for selectors whose element is more than attributes.
    block_mixins: ClassVar[tuple[type, ...]] = ()

    def partitions_used(self, block: XBlock) -> Sequence[Mapping[str, Any]]:
        """The user partitions (as in the course policy: ``id``, ``scheme``, ``groups``) this selector reads."""
        return ()

    def get_or_create_variant_for_user(
        self, user_id: int | None, *, block: XBlock, pool: Sequence[PoolMember], previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        """
        The Variant ``user_id`` sees now.

        ``previous`` is the learner's stored Variant (None on a first visit or after a reset); return
        it unchanged if it still stands under the current pool (``pool``) and rules (``block``'s
        fields), or a new one. Draw any randomness from ``context.rng``, and queue events with
        ``context.publish``. Must be deterministic given its inputs.
        """
        raise NotImplementedError

    def sources(self, block: XBlock) -> Sequence[str]:
        """
        The keys of the blocks whose learner state the choice reads (through ``context.block_of``).

        The runtime loads their state before calling :meth:`get_or_create_variant_for_user`, in one query
        for every selector of a unit.
        """
        return ()

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        """How authors see a pool member labelled in draft previews (e.g. its group)."""
        return ""

    def can_reset(self, block: XBlock) -> bool:
        """Whether a learner may ask for a new draw of this selector."""
        return bool(self.reset_field and getattr(block, self.reset_field, False))
