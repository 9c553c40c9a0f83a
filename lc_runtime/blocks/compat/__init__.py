"""
Compatibility classes for third-party XBlocks that reach into edx-platform for a small piece.

Each class here is placed *before* its block's class in the mixed class (as
``RuntimeOwnedChildren`` is), so it can replace the one method that would import edx-platform, with
what that method means outside edx-platform. Nothing else of the block changes. ``COMPAT_CLASSES``
maps a block class (``"module:QualifiedName"``) to its compatibility classes; the classes never
import the block's package, which may not be installed.
"""

from __future__ import annotations

from importlib import import_module

__all__ = ["COMPAT_CLASSES", "compat_classes_for"]

COMPAT_CLASSES: dict[str, tuple[str, ...]] = {
    "openassessment.xblock.openassessmentblock:OpenAssessmentBlock": (
        "lc_runtime.blocks.compat.ora2:OpenAssessmentCompat",
    ),
}


def compat_classes_for(block_class: type) -> tuple[type, ...]:
    """The compatibility classes to put before ``block_class`` (none for most blocks)."""
    paths = COMPAT_CLASSES.get(f"{block_class.__module__}:{block_class.__qualname__}", ())
    classes = []
    for path in paths:
        module_name, _, name = path.partition(":")
        classes.append(getattr(import_module(module_name), name))
    return tuple(classes)
