"""
Selectors: per-learner content as plugins.

A selector picks from a pool (``split_test``, ``randomize``, ``library_content``, ``itembank``,
``conditional``, or a plugin's strategy); a Variant remembers what one learner got (a computed
selector's, such as ``conditional``'s, is decided again on every request instead). See
``docs/selectors.md`` for the plugin author's tutorial.
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
