"""``split_test``: A/B content experiments, choosing by the learner's group in a random user partition."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from xblock.core import XBlock
from xblock.fields import Dict, Integer, Scope

from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant

__all__ = ["SplitTestSelector", "child_of_location"]

log = logging.getLogger(__name__)


def child_of_location(location: str) -> tuple[str | None, str]:
    """
    The (block type, block id) a ``group_id_to_child`` value names; the type is None when it names none.

    Values are ``i4x://org/course/vertical/ID`` in old exports, usage keys in newer ones.
    """
    if "block@" in location:
        block_type = location.split("type@", 1)[1].split("+", 1)[0] if "type@" in location else None
        return block_type, location.rsplit("block@", 1)[1]
    parts = location.rstrip("/").split("/")
    return (parts[-2] if location.startswith("i4x://") and len(parts) >= 2 else None), parts[-1]


def _names(member: PoolMember, location: str) -> bool:
    block_type, block_id = child_of_location(location)
    return member.block_id == block_id and block_type in (None, member.block_type)


class SplitTestSelector(Selector):
    """
    One child per partition group: the learner's group in the course's random partition picks it.

    The group is stored per (learner, course run, partition), so every split test on one partition
    agrees; ``group_id_to_child`` maps group ids to children, as in edx-platform's OLX.
    """

    type_name = "split_test"
    olx_tags = ("split_test",)
    default_display_name = "Content Experiment"
    fields = {
        "user_partition_id": Integer(default=-1, scope=Scope.content),
        "group_id_to_child": Dict(default={}, scope=Scope.content),
    }

    @staticmethod
    def partition_of(block: XBlock) -> Mapping[str, Any] | None:
        """The course partition (``user_partitions`` of the course policy) the block experiments on."""
        for partition in getattr(block, "user_partitions", None) or []:
            if isinstance(partition, Mapping) and partition.get("id") == block.user_partition_id:
                return partition
        return None

    def partitions_used(self, block: XBlock) -> Sequence[Mapping[str, Any]]:
        partition = self.partition_of(block)
        if partition is None:
            if block.user_partition_id != -1:
                log.warning("%s: the course has no user partition %s", block.scope_ids.usage_id,
                            block.user_partition_id)
            return ()
        if partition.get("scheme", "random") != "random":
            log.warning("%s: partition %s has scheme %r; only random partitions assign learners here",
                        block.scope_ids.usage_id, partition.get("id"), partition.get("scheme"))
            return ()
        return (partition,)

    def get_or_create_variant_for_user(
        self, user_id: int | None, *, block: XBlock, pool: Sequence[PoolMember], previous: Variant | None,
        context: SelectionContext,
    ) -> Variant:
        group = context.partition_group(block.user_partition_id)
        generation = previous.generation if previous else 0
        if group is None:
            return Variant((), None, generation)
        location = block.group_id_to_child.get(str(group))
        members = tuple(member for member in pool if location and _names(member, location))[:1]
        variant = Variant(members, group, generation)
        return previous if variant.same_choice(previous) else variant

    def member_label(self, block: XBlock, member: PoolMember) -> str:
        partition = self.partition_of(block) or {}
        names = {str(group.get("id")): group.get("name", "") for group in partition.get("groups", [])}
        labels = [
            names.get(group_id, f"group {group_id}") + ("" if group_id in names else " (not in the partition)")
            for group_id, location in sorted(block.group_id_to_child.items())
            if _names(member, location)
        ]
        return ", ".join(labels) or "not shown to any group"
