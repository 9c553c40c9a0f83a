"""
Selector storage: a selector's pool container and its proxy component.

The one door into :mod:`lc_runtime.content.pools`. Learners' Variants of a selector are learner
data: see :mod:`lc_runtime.content.learners`.
"""

from lc_runtime.content.pools.models import SelectorPool
from lc_runtime.content.pools.storage import (
    SYNTHETIC_UNIT_MARK,
    SYNTHETIC_UNIT_SUFFIX,
    selector_pool_of,
    set_pool_members,
    write_selector,
)

__all__ = [
    "SYNTHETIC_UNIT_MARK",
    "SYNTHETIC_UNIT_SUFFIX",
    "SelectorPool",
    "selector_pool_of",
    "set_pool_members",
    "write_selector",
]
