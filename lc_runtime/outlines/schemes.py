"""
Partition schemes: who is in which group of a user partition (content groups, enrollment tracks).

A block's ``group_access`` names groups of partitions; a partition's ``scheme`` says how a learner's
group in it is found. A scheme is a plugin: a :class:`PartitionScheme` subclass registered under the
entry point group ``lc_runtime.partition_schemes.v1`` with the scheme's name (edx-platform's names:
``random``, ``cohort``, ``enrollment_track``). A host replaces a built-in through
``lc_runtime.partition_schemes.v1.overrides``, as edx-platform would with schemes over its cohorts and
course modes. The built-ins, for standalone use, read the groups lc-runtime stores per learner, run
and partition (``lc-runtime groups assign``); ``random`` also assigns a group on first need, as a
split test does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from opaque_keys.edx.keys import CourseKey

from lc_runtime.outlines.context import LearnerContext
from lc_runtime.plugins import PluginError, load_plugins

__all__ = [
    "ENROLLMENT_TRACK_PARTITION_ID",
    "SCHEMES_GROUP",
    "PartitionScheme",
    "RandomScheme",
    "StoredGroupScheme",
    "clear_cache",
    "enrollment_track_partition",
    "partition_scheme",
    "scheme_errors",
]

SCHEMES_GROUP = "lc_runtime.partition_schemes.v1"

ENROLLMENT_TRACK_PARTITION_ID = 50
"""edx-platform's id of the enrollment-track partition, which no course policy lists: the LMS makes it."""


def enrollment_track_partition() -> dict[str, Any]:
    """The enrollment-track partition as edx-platform presents it (its groups are the course's modes)."""
    return {
        "id": ENROLLMENT_TRACK_PARTITION_ID,
        "name": "Enrollment Track Groups",
        "scheme": "enrollment_track",
        "groups": [],
    }


class PartitionScheme:
    """
    How learners' groups in the partitions of one scheme are found.

    Subclasses implement :meth:`groups_for_user`, which answers for every partition of the scheme a
    course's content restricts at once, so that a learner's groups cost a fixed number of queries.
    Use ``context`` (the learner as the runtime knows them) rather than querying for what it offers.
    """

    name: ClassVar[str] = ""

    def groups_for_user(
        self, user, course_key: CourseKey, partitions: Sequence[Mapping[str, Any]], context: LearnerContext
    ) -> Mapping[int, int]:
        """``{partition id: group id}`` for the partitions the learner is in; leave out those they are not."""
        raise NotImplementedError


class StoredGroupScheme(PartitionScheme):
    """Groups stored by lc-runtime per learner, run and partition: the standalone cohorts and enrollment tracks."""

    def groups_for_user(self, user, course_key, partitions, context):
        stored = context.partition_groups()
        return {partition["id"]: stored[partition["id"]] for partition in partitions if partition["id"] in stored}


class RandomScheme(PartitionScheme):
    """Random partitions (content experiments): the stored group, assigned at random on first need."""

    name = "random"

    def groups_for_user(self, user, course_key, partitions, context):
        groups = dict(StoredGroupScheme.groups_for_user(self, user, course_key, partitions, context))
        missing = [partition for partition in partitions if partition["id"] not in groups]
        if missing:
            groups.update(context.assign_random_groups(missing))
        return groups


def _check(loaded: type, _name: str) -> str | None:
    if not (isinstance(loaded, type) and issubclass(loaded, PartitionScheme)):
        return "is not a PartitionScheme subclass"
    return None


@cache
def _schemes() -> tuple[dict[str, PartitionScheme], dict[str, PluginError]]:
    loaded = load_plugins(SCHEMES_GROUP, "partition scheme", _check)
    schemes = {}
    for name, scheme_class in loaded.classes.items():
        scheme = scheme_class()
        scheme.name = name  # one class may serve several schemes (the stored groups do)
        schemes[name] = scheme
    return schemes, loaded.errors


def partition_scheme(name: str) -> PartitionScheme | None:
    """The installed scheme called ``name`` (overrides applied), or None if none (or a broken one) is."""
    return _schemes()[0].get(name)


def scheme_errors() -> dict[str, PluginError]:
    """The scheme names that are installed wrongly, with what is wrong."""
    return dict(_schemes()[1])


def clear_cache() -> None:
    """Forget the loaded schemes (after installing a plugin in a running process, and in tests)."""
    _schemes.cache_clear()
