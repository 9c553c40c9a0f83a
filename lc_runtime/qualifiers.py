"""
edx-platform's query operators over stored values, as its modulestore and contentstore take them:
equality, a compiled regex, a callable, ``{"$in": [...]}``, ``{"$nin": [...]}``; a list value matches
when any of its items does. (``$exists`` is the caller's: it needs to know what is set.)
"""

from __future__ import annotations

import re

__all__ = ["matches"]


def matches(value, criterion) -> bool:
    """Whether ``value`` satisfies ``criterion``."""
    if isinstance(value, list | tuple) and not isinstance(criterion, list | tuple):
        return any(matches(item, criterion) for item in value)
    if isinstance(criterion, re.Pattern):
        return isinstance(value, str) and criterion.search(value) is not None
    if callable(criterion):
        return bool(criterion(value))
    if isinstance(criterion, dict) and "$in" in criterion:
        return any(matches(value, option) for option in criterion["$in"])
    if isinstance(criterion, dict) and "$nin" in criterion:
        return not any(matches(value, option) for option in criterion["$nin"])
    return value == criterion
