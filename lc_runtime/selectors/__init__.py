"""
Selectors: per-learner content as plugins.

A selector picks from a pool (``split_test``, ``randomize``, ``library_content``, ``itembank``, or a
plugin's strategy); a Variant remembers what one learner got. See ``docs/selectors.md`` for the
plugin author's tutorial.
"""

from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant
from lc_runtime.selectors.registry import (
    AmbiguousSelector,
    SelectorPluginError,
    selector_classes,
    selector_for_tag,
    selector_tags,
)

__all__ = [
    "AmbiguousSelector",
    "PoolMember",
    "SelectionContext",
    "Selector",
    "SelectorPluginError",
    "Variant",
    "selector_classes",
    "selector_for_tag",
    "selector_tags",
]
