"""Which XBlock class an OLX tag loads as."""

from __future__ import annotations

import ast
import importlib.util
import logging
import traceback
from functools import cache
from importlib.metadata import entry_points

from xblock.core import XBlock
from xblock.plugin import PluginMissingError

from lc_runtime.blocks.placeholder import PlaceholderBlock, unavailable_block_class
from lc_runtime.conf import get_setting, import_object

__all__ = ["DEFAULT_BLOCK_CLASSES", "block_class_map", "load_block_class"]

log = logging.getLogger(__name__)

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
    except ImportError as error:
        # An installed package that imports edx-platform (``lms``, ``common``, ``xmodule``, ``openedx.core``)
        # cannot load here: its blocks say what they lack instead of failing the course that holds them.
        if not fallback:
            raise
        package, missing, edx_platform = _what_is_missing(target, error)
        log.info("the XBlock for <%s> (%s) cannot load here: it needs %s", target, package, missing)
        return unavailable_block_class(target, package, missing, needs_edx_platform=edx_platform)


EDX_PLATFORM_PACKAGES = frozenset({"lms", "cms", "common", "xmodule", "openedx"})
"""Top-level packages only edx-platform provides (``openedx.core``, ``common.djangoapps``, ...)."""


def _what_is_missing(block_type: str, error: ImportError) -> tuple[str, str, bool]:
    """
    The package that provides ``block_type`` (name and version), what it lacks, and whether only edx-platform
    provides that: every module the failing file imports at its top level that cannot be found (so a notice
    names them all, not only the first), with the file.
    """
    package = "an installed package"
    for entry_point in entry_points(group="xblock.v1", name=block_type):
        if entry_point.dist is not None:
            package = f"{entry_point.dist.name} {entry_point.dist.version}"
    frames = traceback.extract_tb(error.__traceback__)
    filename = frames[-1].filename if frames else None
    missing = _unimportable_imports(filename) if filename else []
    if not missing:
        missing = [error.name or str(error)]
    where = "/".join(filename.split("/")[-2:]) if filename else "its package"
    names = ", ".join(missing)
    edx_platform = all(name.split(".")[0] in EDX_PLATFORM_PACKAGES for name in missing)
    return package, f"{'the modules' if len(missing) > 1 else 'the module'} {names} (imported by {where})", edx_platform


def _unimportable_imports(filename: str) -> list[str]:
    """The modules ``filename`` imports at its top level whose top-level package is not installed, in order."""
    try:
        with open(filename, encoding="utf-8") as source:
            tree = ast.parse(source.read(), filename)
    except (OSError, SyntaxError, ValueError):
        return []
    modules = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.Try):  # optional imports in try/except are not needs
            continue
    missing = []
    for module in modules:
        if module not in missing and importlib.util.find_spec(module.split(".")[0]) is None:
            missing.append(module)
    return missing


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
