"""``randomize``: one child per learner, kept for as long as that child stays in the pool."""

from __future__ import annotations

from collections.abc import Sequence

from xblock.core import XBlock

from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant

__all__ = ["RandomizeSelector"]


class RandomizeSelector(Selector):
    """
    Shows one child, drawn once per learner.

    The choice is remembered by the child's identity, not its position, so adding or removing
    other children never swaps what a learner saw; only removing the chosen child draws again.
    """

    type_name = "randomize"
    olx_tags = ("randomize",)
    default_display_name = "Randomize"

    def get_or_create_variant_for_user(
        self, user_id: int | None, *, block: XBlock, pool: Sequence[PoolMember], previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        generation = previous.generation if previous else 0
        by_entity = {member.entity_id: member for member in pool}
        if previous is not None and len(previous.members) == 1 and previous.members[0].entity_id in by_entity:
            return previous
        if not pool:
            return Variant((), None, generation)
        return Variant((context.rng.choice(list(pool)),), None, generation)

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        return "one of these, per learner"
