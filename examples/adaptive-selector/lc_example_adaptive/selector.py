"""
``adaptive``: a ladder of problems where the next one follows the learner's score on the last.

Authors list the pool from easiest to hardest::

    <adaptive url_name="ladder" display_name="Practice ladder" max_problems="3" start_at="1" mastery="1.0">
      <problem url_name="easy"/> <problem url_name="medium"/> <problem url_name="hard"/> ...
    </adaptive>

A learner starts with the problem at ``start_at``. Once they have submitted an answer to the last problem
they were given, the next visit gives one more: the nearest harder problem not given yet when they scored at
least ``mastery`` (a fraction of its points), else the nearest easier one (or, when none is easier, the
nearest harder). Problems already given stay, so the learner keeps their answers; the ladder stops after
``max_problems`` problems or when the pool has none left to give.

The choice is stored (a Variant per learner, as every stored selector's) and grows one step at a time: the
runtime asks the selector on each visit, and it answers the stored Variant unchanged until the learner has
answered its last member.
"""

from __future__ import annotations

from collections.abc import Sequence

from xblock.core import XBlock
from xblock.fields import Float, Integer, Scope

from lc_runtime.selectors import PoolMember, SelectionContext, Selector, Variant

__all__ = ["NEXT_PROBLEM_EVENT", "AdaptiveSelector", "score_of"]

NEXT_PROBLEM_EVENT = "lc_example.adaptive.next_problem"


def score_of(block: XBlock | None) -> float | None:
    """
    The learner's score on ``block`` as a fraction of its points, once they have submitted an answer.

    None while there is nothing to go by: no block (out of the learner's reach), a block that is not scored
    (XBlock's scorable interface: ``has_submitted_answer`` and ``get_score``), no answer submitted yet, or a
    problem worth no points.
    """
    if block is None or not hasattr(block, "has_submitted_answer") or not hasattr(block, "get_score"):
        return None
    if not block.has_submitted_answer():
        return None
    score = block.get_score()
    if score is None or not score.raw_possible:
        return None
    return score.raw_earned / score.raw_possible


class AdaptiveSelector(Selector):
    """One problem at a time, from a pool ordered by difficulty, the next chosen by the last score."""

    type_name = "adaptive"
    olx_tags = ("adaptive",)
    default_display_name = "Adaptive practice"
    fields = {
        "max_problems": Integer(
            display_name="Problems per learner", default=3, scope=Scope.settings,
            help="How many problems a learner is given at most.",
        ),
        "start_at": Integer(
            display_name="First problem", default=0, scope=Scope.settings,
            help="The position (from 0, easiest first) of the problem every learner starts with.",
        ),
        "mastery": Float(
            display_name="Mastery", default=1.0, scope=Scope.settings,
            help="The fraction of a problem's points that moves a learner to a harder one.",
        ),
    }

    def get_or_create_variant_for_user(
        self,
        user_id: int | None,
        *,
        block: XBlock,
        pool: Sequence[PoolMember],
        previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        if not pool:
            return Variant(())
        given = [member for member in previous.members if member in pool] if previous is not None else []
        if not given:  # a first visit, or every problem given before has left the pool: start again
            start = min(max(block.start_at, 0), len(pool) - 1)
            return Variant((pool[start],), generation=previous.generation if previous is not None else 0)
        if previous is not None and len(given) < len(previous.members):
            # Problems left the pool: keep the others, so the learner keeps the answers they gave.
            return Variant(tuple(given), generation=previous.generation)
        if len(given) >= block.max_problems:
            return previous
        last = given[-1]
        score = score_of(context.block_of_member(last))
        if score is None:  # not answered yet: the learner stays on it
            return previous
        following = self._next(pool, given, last, harder=score >= block.mastery)
        if following is None:
            return previous
        context.publish(NEXT_PROBLEM_EVENT, {
            "after": context.usage_key_of(last),
            "score": score,
            "next": context.usage_key_of(following),
            "given": len(given) + 1,
        })
        return Variant((*given, following), generation=previous.generation)

    @staticmethod
    def _next(
        pool: Sequence[PoolMember], given: list[PoolMember], last: PoolMember, *, harder: bool
    ) -> PoolMember | None:
        """The nearest problem not given yet, harder or easier than ``last`` (the other way when none is left)."""
        position = pool.index(last)
        above = [member for member in pool[position + 1:] if member not in given]
        below = [member for member in reversed(pool[:position]) if member not in given]
        first, then = (above, below) if harder else (below, above)
        return (first or then or [None])[0]

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        return "given when the learner's scores lead to it"
