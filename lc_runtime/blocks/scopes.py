"""
Which store each XBlock scope belongs to, in this runtime: one rule for every layer above.

- *structure*: ``children`` and ``parent``, owned by the runtime's course tree;
- *authored*: keyed by no user and by the block (``content``, ``settings`` and the unnamed scopes
  keyed the same way, which XBlock lets blocks declare and which do not compare equal to those two);
  stored in OLX;
- *learner*: everything else (``user_state``, ``user_state_summary``, ``preferences``, ``user_info``,
  ...), stored in a learner-state store.
"""

from __future__ import annotations

from functools import cache

from xblock.fields import BlockScope, Scope, UserScope

__all__ = ["is_authored", "is_learner", "is_structure", "learner_scopes"]


def is_structure(scope) -> bool:
    """``children`` or ``parent``: the runtime's tree answers them."""
    return scope in (Scope.children, Scope.parent)


def is_authored(scope) -> bool:
    """A scope whose values are authored content, stored in the block's OLX."""
    return (
        not is_structure(scope)
        and scope.user is UserScope.NONE
        and scope.block in (BlockScope.USAGE, BlockScope.DEFINITION)
    )


def is_learner(scope) -> bool:
    """A scope whose values belong to learners (one, or all of them), kept in a learner-state store."""
    return not is_structure(scope) and not is_authored(scope)


@cache
def learner_scopes(block_class: type) -> frozenset:
    """The learner scopes the fields of ``block_class`` use: decided once per class (classes are few and live long)."""
    return frozenset(declared.scope for declared in block_class.fields.values() if is_learner(declared.scope))
