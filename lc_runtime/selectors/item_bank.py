"""
``itembank`` and ``library_content``: show ``max_count`` members of the pool to each learner.

The selection rules are edx-platform's ``make_selection``: keep the members still in the pool,
drop the ones that left it ("invalid"), drop random extras when ``max_count`` went down
("overlimit"), top up at random from the rest of the pool, and reshuffle the display order only
when something changed. Unlike edx-platform, every draw comes from the seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xblock.core import XBlock
from xblock.fields import Boolean, Integer, Scope, String

from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant

__all__ = ["ItemBankSelector", "LibraryContentSelector", "Selection", "make_selection"]


@dataclass(frozen=True)
class Selection:
    """The outcome of :func:`make_selection`."""

    selected: tuple[PoolMember, ...]
    invalid: tuple[PoolMember, ...]
    overlimit: tuple[PoolMember, ...]
    added: tuple[PoolMember, ...]

    @property
    def changed(self) -> bool:
        return bool(self.invalid or self.overlimit or self.added)


def make_selection(
    selected: Sequence[PoolMember], pool: Sequence[PoolMember], max_count: int, rng
) -> Selection:
    """
    edx-platform's item-bank selection rules, drawing from ``rng``.

    ``max_count`` below zero means the whole pool.
    """
    if max_count < 0:
        max_count = len(pool)
    in_pool = {member.entity_id for member in pool}
    invalid = tuple(member for member in selected if member.entity_id not in in_pool)
    kept = [member for member in selected if member.entity_id in in_pool]
    overlimit: tuple[PoolMember, ...] = ()
    if len(kept) > max_count:
        overlimit = tuple(rng.sample(kept, len(kept) - max_count))
        dropped = {member.entity_id for member in overlimit}
        kept = [member for member in kept if member.entity_id not in dropped]
    added: tuple[PoolMember, ...] = ()
    if max_count - len(kept) > 0:
        taken = {member.entity_id for member in kept}
        rest = [member for member in pool if member.entity_id not in taken]
        added = tuple(rng.sample(rest, min(len(rest), max_count - len(kept))))
        kept.extend(added)
    if invalid or overlimit or added:
        rng.shuffle(kept)
    return Selection(tuple(kept), invalid, overlimit, added)


class ItemBankSelector(Selector):
    """``<itembank max_count="N">``: N members of the pool per learner (``-1``: all of them, shuffled)."""

    type_name = "itembank"
    olx_tags = ("itembank",)
    default_display_name = "Problem Bank"
    event_prefix = "edx.itembankblock.content"
    reset_field = "allow_resetting_children"
    fields = {
        "max_count": Integer(default=1, scope=Scope.settings),
        "allow_resetting_children": Boolean(default=False, scope=Scope.settings),
    }

    def format_members(self, members: Sequence[PoolMember], context: SelectionContext) -> list[dict]:
        """The analytics form of a selection (``result``, ``added`` and ``removed`` in events)."""
        return [{"usage_key": context.usage_key_of(member)} for member in members]

    def get_or_create_variant_for_user(
        self, user_id: int | None, *, block: XBlock, pool: Sequence[PoolMember], previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        before = previous.members if previous else ()
        selection = make_selection(before, pool, block.max_count, context.rng)
        generation = previous.generation if previous else 0
        if previous is not None and not selection.changed:
            return previous
        self._publish_events(block, before, selection, context)
        return Variant(selection.selected, None, generation)

    def _publish_events(
        self, block: XBlock, before: Sequence[PoolMember], selection: Selection, context: SelectionContext
    ) -> None:
        # As edx-platform sends them: removed (invalid), removed (overlimit), assigned, each with the
        # whole new selection as its result; previous_count is the selection's size before the first
        # event, then the size of the previous event's result.
        count = len(before)
        result = self.format_members(selection.selected, context)

        def publish(name: str, **extra) -> None:
            nonlocal count
            data = {
                "location": context.usage_key,
                "result": result,
                "previous_count": count,
                "max_count": block.max_count,
                **extra,
            }
            context.publish(f"{self.event_prefix}.{name}", data)
            count = len(result)

        if selection.invalid:
            publish("removed", removed=self.format_members(selection.invalid, context), reason="invalid")
        if selection.overlimit:
            publish("removed", removed=self.format_members(selection.overlimit, context), reason="overlimit")
        if selection.added:
            publish("assigned", added=self.format_members(selection.added, context))

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        count = "all" if block.max_count < 0 else str(block.max_count)
        return f"in the pool ({count} shown per learner)"


class LibraryContentSelector(ItemBankSelector):
    """``<library_content>``: the legacy randomized content block, same rules, its own events and settings."""

    type_name = "library_content"
    olx_tags = ("library_content",)
    default_display_name = "Randomized Content Block"
    event_prefix = "edx.librarycontentblock.content"
    fields = {
        **ItemBankSelector.fields,
        "source_library_id": String(default="", scope=Scope.settings),
        "source_library_version": String(default="", scope=Scope.settings),
        "capa_type": String(default="any", scope=Scope.settings),
    }

    def format_members(self, members: Sequence[PoolMember], context: SelectionContext) -> list[dict]:
        # edx-platform's legacy format; the "original" library keys are unknown once content is in a course.
        return [
            {
                "usage_key": context.usage_key_of(member),
                "original_usage_key": None,
                "original_usage_version": None,
                "descendants": context.descendants_of(member),
            }
            for member in members
        ]
