"""
A loaded course tree: its blocks as records, never mutated once built (see :mod:`.tree`, which reads
them, and :mod:`.snapshots`, which stores and keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from opaque_keys.edx.keys import CourseKey

Mode = Literal["published", "draft"]
"""Which state of a course a reader sees: ``published`` (learners, the LMS) or ``draft`` (authors, Studio)."""
MODES: tuple[Mode, ...] = ("published", "draft")
BlockRef = tuple[str, str]
"""(block type, block id): a block's name inside a course tree, whatever the run."""


@dataclass(slots=True)
class BlockRecord:
    """One block of a loaded tree, as stored: never mutated once the tree is built."""

    block_type: str
    block_id: str
    entity_id: int
    version_id: int
    version_uuid: str
    version_num: int
    title: str
    is_container: bool
    olx: str | None = None
    fields: dict = field(default_factory=dict)
    extra_attributes: dict = field(default_factory=dict)
    children: list[BlockRef] = field(default_factory=list)
    parent: BlockRef | None = None
    # For a selector's proxy component: its pool container and the pool's version; ``children`` is the pool.
    pool_entity_id: int | None = None
    pool_version_id: int | None = None

    @property
    def ref(self) -> BlockRef:
        return (self.block_type, self.block_id)


@dataclass(slots=True)
class CourseTree:
    """A snapshot of one course run's tree in one mode."""

    course_key: CourseKey
    learning_package_id: int
    mode: Mode
    snapshot: str
    root: BlockRef
    blocks: dict[BlockRef, BlockRecord]
    refs_by_entity: dict[int, BlockRef] = field(default_factory=dict)
    # The run's own course-level settings (start, end, ...), which override the course root's. Not part
    # of the cached snapshot: load_course_tree sets them from the run row it reads anyway.
    run_settings: dict = field(default_factory=dict)
    # When the snapshot was made (its PublishLog's published_at, its DraftChangeLog's changed_at): read
    # by the run's first query, set like ``run_settings``.
    snapshot_at: datetime | None = None

    def ref_of_entity(self, entity_id: int) -> BlockRef | None:
        """The block an entity id stands for in this tree, or None."""
        return self.refs_by_entity.get(entity_id)

    def descendants(self, ref: BlockRef) -> list[BlockRecord]:
        """The block and everything below it, depth first, in course order."""
        found: list[BlockRecord] = []
        stack = [ref]
        seen: set[BlockRef] = set()
        while stack:
            current = stack.pop()
            if current in seen or current not in self.blocks:
                continue
            seen.add(current)
            record = self.blocks[current]
            found.append(record)
            stack.extend(reversed(record.children))
        return found
