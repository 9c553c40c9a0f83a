"""
Loading plugin classes from an entry point group, with XBlock's rules for names and overrides.

Every plugin group of lc-runtime (selectors, outline processors, partition schemes) is read the same
way: the entry point's name is the plugin's name; two installed distributions that register one name
make that name an error rather than a silent pick; a registration under ``<group>.overrides`` wins
over every plain one of the same name (XBlock's convention), which is how a host replaces a built-in
on purpose. A plugin that fails to load, or is not what the group expects, is logged and left out:
one broken plugin never takes the others down. :class:`LoadedPlugins` says what loaded and what not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

__all__ = ["AmbiguousPlugin", "LoadedPlugins", "PluginError", "load_plugins"]

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin is installed wrongly: it does not load, or is not what its group expects."""


class AmbiguousPlugin(PluginError):
    """Two installed plugins claim the same name in one group."""


@dataclass
class LoadedPlugins:
    """The plugins of one group: those that loaded, by name, and the names that are installed wrongly."""

    classes: dict[str, type] = field(default_factory=dict)
    errors: dict[str, PluginError] = field(default_factory=dict)
    # The entry points of ambiguous names, for callers that must also mark what those plugins claim.
    ambiguous: dict[str, list[EntryPoint]] = field(default_factory=dict)


def _by_name(group: str) -> dict[str, list[EntryPoint]]:
    found: dict[str, list[EntryPoint]] = {}
    for entry_point in entry_points(group=group):
        if entry_point.value not in {candidate.value for candidate in found.get(entry_point.name, [])}:
            found.setdefault(entry_point.name, []).append(entry_point)
    return found


def load_entry_point(entry_point: EntryPoint, kind: str, check: Callable[[type, str], str | None]) -> type:
    """
    Load one entry point as a plugin class; PluginError naming the plugin if it fails.

    ``check(loaded, name)`` returns what is wrong with the loaded class (None if nothing is).
    """
    try:
        loaded = entry_point.load()
    except Exception as exc:  # an uninstallable plugin must name itself, not fail somewhere later
        raise PluginError(f"{kind} plugin {entry_point.name!r} ({entry_point.value}) failed to load: {exc}") from exc
    problem = check(loaded, entry_point.name)
    if problem:
        raise PluginError(f"{kind} plugin {entry_point.name!r} ({entry_point.value}) {problem}")
    return loaded


def load_plugins(group: str, kind: str, check: Callable[[type, str], str | None]) -> LoadedPlugins:
    """
    Every plugin of the entry point ``group`` (overrides from ``<group>.overrides`` applied).

    ``kind`` names the plugins in messages ("selector", "outline processor"); ``check`` is as for
    :func:`load_entry_point`. Failures are logged and returned, never raised.
    """
    loaded = LoadedPlugins()
    chosen = _by_name(group)
    for name, overrides in _by_name(f"{group}.overrides").items():
        chosen[name] = overrides
    for name, candidates in sorted(chosen.items()):
        if len(candidates) > 1:
            values = sorted(candidate.value for candidate in candidates)
            error = AmbiguousPlugin(
                f"{len(candidates)} plugins register the {kind} {name!r}: {values}; uninstall one, "
                f"or name the one to use in {group}.overrides"
            )
            loaded.errors[name] = error
            loaded.ambiguous[name] = candidates
            log.error("%s", error)
            continue
        try:
            loaded.classes[name] = load_entry_point(candidates[0], kind, check)
        except PluginError as error:
            loaded.errors[name] = error
            log.error("%s; it is left out", error)
    return loaded
