"""Which XBlock class an OLX tag loads as."""

from __future__ import annotations

from functools import cache

from xblock.core import XBlock
from xblock.plugin import PluginMissingError

from lc_runtime.blocks.placeholder import PlaceholderBlock
from lc_runtime.conf import get_setting, import_object

__all__ = ["DEFAULT_BLOCK_CLASSES", "block_class_map", "load_block_class"]

DEFAULT_BLOCK_CLASSES: dict[str, str] = {
    "course": "lc_runtime.blocks.containers:CourseBlock",
    "chapter": "lc_runtime.blocks.containers:ChapterBlock",
    "sequential": "lc_runtime.blocks.containers:SequentialBlock",
    "vertical": "lc_runtime.blocks.containers:VerticalBlock",
    # Outside edx-platform the core blocks come from xblocks-contrib, registered under these names.
    "html": "_html_extracted",
    "problem": "_problem_extracted",
    "video": "_video_extracted",
    "poll_question": "_poll_question_extracted",
    "word_cloud": "_word_cloud_extracted",
    "discussion": "_discussion_extracted",
    "annotatable": "_annotatable_extracted",
    "lti": "_lti_extracted",
}
"""OLX tag -> ``xblock.v1`` entry point name or ``"module:Class"``. Tags not listed load by their own name."""


def block_class_map() -> dict[str, str]:
    """The tag mapping in force: the defaults with ``LC_RUNTIME["BLOCK_CLASSES"]`` over them."""
    return {**DEFAULT_BLOCK_CLASSES, **get_setting("BLOCK_CLASSES")}


@cache
def _load(target: str, fallback: bool) -> type[XBlock]:
    if ":" in target:
        return import_object(target)
    try:
        return XBlock.load_class(target)
    except PluginMissingError:
        if fallback:
            return PlaceholderBlock
        raise


def load_block_class(block_type: str) -> type[XBlock]:
    """
    The XBlock class for an OLX tag; :class:`PlaceholderBlock` when no package provides one.

    A tag mapped in :func:`block_class_map` must resolve: a mapping to a missing class is a
    configuration error and raises ``PluginMissingError``.
    """
    mapped = block_class_map().get(block_type)
    if mapped is not None:
        return _load(mapped, False)
    return _load(block_type, True)


load_block_class.cache_clear = _load.cache_clear  # type: ignore[attr-defined]
