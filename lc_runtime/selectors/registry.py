"""
Finding selector plugins: the ``lc_runtime.selectors.v1`` entry point group.

As with XBlock's ``xblock.v1``: the entry point's name is the selector's type name; two installed
distributions that register the same name make that name an error (:class:`AmbiguousSelector`)
rather than a silent pick. To replace a selector on purpose (a built-in included), register the
replacement under the same name in ``lc_runtime.selectors.v1.overrides`` (XBlock's convention: the
group's name plus ``.overrides``): an override wins over every ``v1`` entry point of that name.

One broken plugin must not take every course down: a plugin that fails to load is logged and left
out (blocks of its tags then render as placeholders that keep their OLX), and an ambiguous name or
tag raises only where it is asked for. :func:`plugin_errors` lists what went wrong.

The built-ins (``split_test``, ``randomize``, ``library_content``, ``itembank``, ``conditional``) are
registered in our own ``setup.cfg`` through the same group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

from lc_runtime.plugins import AmbiguousPlugin, PluginError, load_entry_point, load_plugins
from lc_runtime.selectors.base import Selector

__all__ = [
    "ENTRY_POINT_GROUP",
    "OVERRIDES_GROUP",
    "AmbiguousSelector",
    "SelectorPluginError",
    "clear_cache",
    "plugin_errors",
    "selector_classes",
    "selector_for_tag",
    "selector_tags",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lc_runtime.selectors.v1"
OVERRIDES_GROUP = f"{ENTRY_POINT_GROUP}.overrides"  # read by lc_runtime.plugins


class SelectorPluginError(PluginError):
    """A selector plugin is installed wrongly."""


class AmbiguousSelector(SelectorPluginError, AmbiguousPlugin):
    """Two installed plugins claim the same selector type name or OLX tag."""


@dataclass
class _Registry:
    classes: dict[str, type[Selector]] = field(default_factory=dict)
    errors: dict[str, SelectorPluginError] = field(default_factory=dict)
    by_tag: dict[str, type[Selector]] = field(default_factory=dict)
    ambiguous_tags: dict[str, AmbiguousSelector] = field(default_factory=dict)


def _check(loaded: type, name: str) -> str | None:
    if not (isinstance(loaded, type) and issubclass(loaded, Selector)):
        return "is not a Selector subclass"
    if loaded.type_name != name:
        return f"declares type_name {loaded.type_name!r} but is registered as {name!r}"
    if not loaded.olx_tags:
        return "declares no olx_tags"
    return None


def _claim_tags(registry: _Registry, selector_class: type[Selector], name: str) -> None:
    for tag in selector_class.olx_tags:
        other = registry.by_tag.get(tag)
        if other is not None and other is not selector_class:
            registry.ambiguous_tags[tag] = AmbiguousSelector(
                f"OLX tag <{tag}> is claimed by the selectors {other.type_name!r} and {name!r}"
            )
        registry.by_tag.setdefault(tag, selector_class)


@cache
def _registry() -> _Registry:
    registry = _Registry()
    loaded = load_plugins(ENTRY_POINT_GROUP, "selector", _check)
    for name, error in loaded.errors.items():
        if name in loaded.ambiguous:
            registry.errors[name] = ambiguous = AmbiguousSelector(str(error))
            for candidate in loaded.ambiguous[name]:  # their tags are ambiguous too, wherever they are met
                try:
                    for tag in load_entry_point(candidate, "selector", _check).olx_tags:
                        registry.ambiguous_tags[tag] = ambiguous
                except PluginError:
                    pass
        else:
            registry.errors[name] = SelectorPluginError(f"{error}; blocks of its tags render as placeholders")
    for name, selector_class in loaded.classes.items():
        registry.classes[name] = selector_class
        _claim_tags(registry, selector_class, name)
    return registry


def selector_classes() -> dict[str, type[Selector]]:
    """Every selector installed and loadable, by type name, overrides applied."""
    return dict(_registry().classes)


def plugin_errors() -> dict[str, SelectorPluginError]:
    """The selector names that are installed wrongly (ambiguous, unloadable), with what is wrong."""
    return dict(_registry().errors)


def selector_tags() -> dict[str, type[Selector]]:
    """OLX tag -> the selector that imports it; tags claimed twice are left out (see :func:`selector_for_tag`)."""
    registry = _registry()
    return {tag: cls for tag, cls in registry.by_tag.items() if tag not in registry.ambiguous_tags}


def selector_for_tag(tag: str) -> type[Selector] | None:
    """The selector that imports ``tag``, or None; :class:`AmbiguousSelector` if two plugins claim it."""
    registry = _registry()
    if tag in registry.ambiguous_tags:
        raise registry.ambiguous_tags[tag]
    return registry.by_tag.get(tag)


def clear_cache() -> None:
    """Forget what was loaded (after installing or removing a plugin in a running process, and in tests)."""
    _registry.cache_clear()
