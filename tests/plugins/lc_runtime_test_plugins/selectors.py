"""A selector plugin that lives only in the test suite: lc-runtime knows it through its entry point alone."""

from __future__ import annotations

from collections.abc import Sequence

from xblock.fields import Integer, Scope

from lc_runtime.selectors import PoolMember, SelectionContext, Selector, Variant


class RotationSelector(Selector):
    """
    Shows ``count`` consecutive pool members, starting at a learner's own drawn offset, wrapping round.

    A learner keeps its members while they all stay in the pool; otherwise it draws again.
    """

    type_name = "lc_test_rotation"
    olx_tags = ("lc_test_rotation",)
    default_display_name = "Rotation"
    fields = {"count": Integer(default=1, scope=Scope.settings)}

    def get_or_create_variant_for_user(
        self,
        user_id: int | None,
        *,
        block,
        pool: Sequence[PoolMember],
        previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        in_pool = {member.entity_id for member in pool}
        if previous is not None and previous.members and all(m.entity_id in in_pool for m in previous.members):
            return previous
        if not pool:
            return Variant(())
        start = context.rng.randrange(len(pool))
        count = min(block.count, len(pool))
        members = tuple(pool[(start + offset) % len(pool)] for offset in range(count))
        context.publish("lc_test.rotation.assigned", {"start": start, "members": [m.block_id for m in members]})
        return Variant(members, generation=previous.generation if previous else 0)

    def member_label(self, block, member: PoolMember) -> str:
        return f"rotates {block.count} at a time"
