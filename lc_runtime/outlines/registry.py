"""
Finding outline processors: the ``lc_runtime.outline_processors.v1`` entry point group.

Found as selectors are (:mod:`lc_runtime.plugins`): the entry point's name is the processor's;
``.overrides`` replaces one on purpose (a built-in included); two plugins of one name, or one that does
not load, are logged and left out. A processor that is left out would close nothing and so open what it
guards: while any is broken, learners' access cannot be decided (:class:`BrokenOutlineProcessors`) and
only course staff get content; :func:`processor_errors` says what is wrong.
"""

from __future__ import annotations

from functools import cache

from django.core.exceptions import ImproperlyConfigured

from lc_runtime.outlines.processors import OutlineProcessor
from lc_runtime.plugins import PluginError, load_plugins

__all__ = [
    "PROCESSORS_GROUP",
    "BrokenOutlineProcessors",
    "clear_cache",
    "outline_processors",
    "processor_errors",
    "working_outline_processors",
]

PROCESSORS_GROUP = "lc_runtime.outline_processors.v1"


def _check(loaded: type, _name: str) -> str | None:
    if not (isinstance(loaded, type) and issubclass(loaded, OutlineProcessor)):
        return "is not an OutlineProcessor subclass"
    return None


@cache
def _loaded() -> tuple[tuple[tuple[str, type[OutlineProcessor]], ...], dict[str, PluginError]]:
    loaded = load_plugins(PROCESSORS_GROUP, "outline processor", _check)
    ordered = sorted(loaded.classes.items(), key=lambda item: (item[1].order, item[0]))
    return tuple(ordered), loaded.errors


def outline_processors() -> list[tuple[str, type[OutlineProcessor]]]:
    """Every installed processor as ``(name, class)``, in pipeline order."""
    return list(_loaded()[0])


class BrokenOutlineProcessors(ImproperlyConfigured):
    """An installed outline processor does not load: deciding a learner's access without it would open content."""


def working_outline_processors() -> list[tuple[str, type[OutlineProcessor]]]:
    """
    :func:`outline_processors`, or :class:`BrokenOutlineProcessors` if any installed one is broken.

    Access fails closed: a learner gets an error rather than what a missing rule would have hidden.
    """
    errors = processor_errors()
    if errors:
        details = "; ".join(f"{name}: {error}" for name, error in sorted(errors.items()))
        raise BrokenOutlineProcessors(
            f"learners' access cannot be decided while outline processors are broken ({details})"
        )
    return outline_processors()


def processor_errors() -> dict[str, PluginError]:
    """The processor names that are installed wrongly, with what is wrong."""
    return dict(_loaded()[1])


def clear_cache() -> None:
    """Forget the loaded processors (after installing a plugin in a running process, and in tests)."""
    _loaded.cache_clear()
