"""
Choosing what one learner sees of the selectors in a course tree, a batch at a time.

The runtime asks :class:`VariantResolver` for the children of a selector's proxy. The resolver
answers for every unresolved selector a learner can reach in the same unit at once, so rendering a
unit costs a fixed number of queries whatever its number of selectors and their pool sizes: one
read of the learner's Variants (once per runtime), one of its partition groups (once, when a
selector uses partitions), and on a first visit one INSERT and one locking re-read for each of
those, after one lock on the learner's choices (once per unit of work). Nested selectors (a
selector inside a pool member) resolve in a further batch when reached.

Selectors that store no Variant (``Selector.stores_variants`` False: ``conditional``) are computed again
in each unit of work, after the stored ones of their batch, from the learner's state of the blocks they
name (``Selector.sources``), loaded for the whole batch in one query at most (ADR 0022).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opaque_keys.edx.keys import CourseKey
from xblock.core import XBlock

from lc_runtime.blocks.scopes import learner_scopes
from lc_runtime.content.courses.api import BlockRecord, BlockRef, CourseTree
from lc_runtime.content.learners import api as learner_data
from lc_runtime.content.learners.api import NewPartitionGroup, NewVariant, StoredVariant
from lc_runtime.fielddata.learner import LearnerFieldData
from lc_runtime.fielddata.unit_of_work import current_unit
from lc_runtime.selectors.base import PoolMember, SelectionContext, Selector, Variant
from lc_runtime.selectors.seeds import seeded_random
from lc_runtime.selectors.split_test import child_of_location

__all__ = ["PARTITION_ASSIGNED_EVENT", "VariantResolver"]

PARTITION_ASSIGNED_EVENT = "xmodule.partitions.assigned_user_to_partition"
# Where a unit ends when climbing from a selector: the outline levels above Units.
_ABOVE_UNITS = {"sequential", "chapter", "course"}


@dataclass
class _Pending:
    record: BlockRecord
    block: XBlock
    selector: Selector
    variant: Variant
    previous: StoredVariant | None
    events: list[tuple[str, dict]]


class VariantResolver:
    """The Variants of one learner in one course run, for one runtime (one request)."""

    def __init__(
        self,
        *,
        tree: CourseTree,
        course_key: CourseKey,
        user_id: int | None,
        load_block: Callable[[BlockRef], XBlock],
        usage_key_of: Callable[[BlockRef], str],
        publish: Callable[[XBlock, str, dict], None],
        persist: bool = True,
        partition_overrides: Mapping[int, int] | None = None,
        is_reachable: Callable[[BlockRef], bool] | None = None,
        preload_state: Callable[[list[XBlock]], None] | None = None,
    ) -> None:
        self.tree, self.course_key, self.user_id = tree, course_key, user_id
        # What the learner may reach (the outline processors' say): a selector they cannot reach is not
        # resolved when a batch is gathered, so no Variant is drawn, stored or announced for it.
        self._is_reachable = is_reachable or (lambda ref: True)
        # With ``persist`` False (staff viewing as a learner) the learner's stored Variants and groups are
        # read, and what is drawn for them is shown but neither stored nor announced.
        self.persist = persist
        # Groups that replace the learner's stored ones (staff viewing as a member of a group).
        self._overrides = dict(partition_overrides or {})
        # What the runtime lends: building blocks, naming them, and sending their events.
        self._load_block, self._usage_key_of, self._publish = load_block, usage_key_of, publish
        # Loading the learner state of blocks that computed selectors read, all in one go.
        self._preload_state = preload_state or _preload_learner_state
        self._token = learner_data.new_writer_token()
        self._chosen: dict[BlockRef, list[BlockRef]] = {}
        self._variants: dict[int, StoredVariant] | None = None
        self._groups: dict[int, int] | None = None
        # Computed selectors (stores_variants False): the unit of work each choice was made in (made again
        # in the next one), and those being computed now (seen as showing nothing while they are).
        self._computed_in: dict[BlockRef, Any] = {}
        self._computing: set[BlockRef] = set()
        # The unit of work in which this resolver holds the lock on the learner's choices.
        self._choices_locked_in: Any = None

    # ---- what the runtime asks

    def children_of(self, proxy: BlockRecord) -> list[BlockRef]:
        """The pool members ``proxy``'s selector shows this learner, in order (resolving them if needed)."""
        if not self._is_chosen(proxy.ref):
            batch = self._reachable_unresolved(proxy)
            self._resolve(batch if proxy.ref in {record.ref for record in batch} else [proxy, *batch])
        return self._chosen[proxy.ref]

    def variant_of(self, proxy: BlockRecord) -> StoredVariant | None:
        """The stored Variant behind :meth:`children_of` (None for anonymous learners)."""
        self.children_of(proxy)
        return (self._variants or {}).get(proxy.pool_entity_id) if proxy.pool_entity_id is not None else None

    def resolve_below(self, record: BlockRecord) -> None:
        """Resolve, in one batch, every selector a learner can reach at or below ``record`` (before rendering it)."""
        batch = self._reachable_unresolved_from(record)
        if batch:
            self._resolve(batch)

    def is_visible(self, record: BlockRecord) -> bool:
        """False for a block below a selector that the learner's Variant does not show (at any level)."""
        blocks = self.tree.blocks
        current = record
        while current.parent is not None:
            parent = blocks[current.parent]
            if parent.pool_entity_id is not None and current.ref not in self.children_of(parent):
                return False
            current = parent
        return True

    def reset(self, proxy: BlockRecord) -> None:
        """Draw again for ``proxy``: the next generation of the learner's Variant, from a fresh seed."""
        self.children_of(proxy)
        if self.user_id is None or not self.persist:
            self._chosen.pop(proxy.ref, None)
            return
        stored = self._stored_variants().get(proxy.pool_entity_id)
        generation = stored.generation + 1 if stored else 1
        block = self._load_block(proxy.ref)
        selector = block.selector
        context = self._context(proxy, selector, generation)
        variant = selector.get_or_create_variant_for_user(
            self.user_id, block=block, pool=self._pool(proxy), previous=None, context=context
        )
        variant = Variant(variant.members, variant.group_id, generation)
        new = self._new_variant(proxy, variant)
        self._lock_choices()
        if stored is None:
            created = learner_data.create_variants(self.user_id, self.course_key, [new], self._token)
            now = created.get(proxy.pool_entity_id)
        else:
            now = learner_data.replace_variant(self.user_id, self.course_key, new, self._token, replacing=stored)
        self._settle(proxy, block, now, context.events)

    def _lock_choices(self) -> None:
        """
        Before storing the learner's Variants or groups: lock them, once per unit of work (before
        each batch in a transaction that is not one: nothing tells one such transaction from the next).

        A request stores them in batches, as it reaches units; the lock makes another request of the
        same learner that stores some in another order wait for this one to end, instead of holding
        a row this one needs while it waits for one this one holds (ADR 0016).
        """
        unit = current_unit()
        if unit is not None and unit is self._choices_locked_in:
            return
        if learner_data.lock_learner_choices(self.user_id, self.course_key) and unit is not None:
            self._choices_locked_in = unit

    def _settle(self, proxy: BlockRecord, block: XBlock, stored: StoredVariant | None, events) -> None:
        """Show what is stored now; send ``events`` only if this request's write is what is stored."""
        if stored is None:  # another request changed the row first: read what it stored
            stored = learner_data.reread_variant(self.user_id, self.course_key, proxy.pool_entity_id)
        if stored is None:
            self._chosen[proxy.ref] = []
            return
        self._stored_variants()[proxy.pool_entity_id] = stored
        self._chosen[proxy.ref] = self._visible(self._previous(stored).members)
        if stored.writer_token == self._token:
            self._send(block, events)

    # ---- batching

    def _reachable_unresolved(self, proxy: BlockRecord) -> list[BlockRecord]:
        """The unresolved selectors of ``proxy``'s unit that the learner can reach now, ``proxy`` among them."""
        blocks = self.tree.blocks
        top = proxy
        while top.parent is not None and blocks[top.parent].block_type not in _ABOVE_UNITS:
            top = blocks[top.parent]
        return self._reachable_unresolved_from(top)

    def _reachable_unresolved_from(self, top: BlockRecord) -> list[BlockRecord]:
        blocks = self.tree.blocks
        found: list[BlockRecord] = []
        stack = [top]
        while stack:
            record = stack.pop()
            if not self._is_reachable(record.ref):
                continue
            if record.pool_entity_id is not None:
                if self._is_chosen(record.ref):
                    stack.extend(blocks[ref] for ref in self._chosen[record.ref])
                else:
                    found.append(record)
                continue
            stack.extend(blocks[ref] for ref in record.children if ref in blocks)
        return found

    def _is_chosen(self, ref: BlockRef) -> bool:
        """True when what the selector shows is known: chosen (a computed one: in this unit of work)."""
        if ref not in self._chosen:
            return False
        if ref in self._computing or ref not in self._computed_in:
            return True
        unit = current_unit()
        return unit is not None and self._computed_in[ref] is unit

    def _stored_variants(self) -> dict[int, StoredVariant]:
        if self._variants is None:
            user_id = self.user_id
            self._variants = {} if user_id is None else learner_data.learner_variants(user_id, self.course_key)
        return self._variants

    def _pool(self, proxy: BlockRecord) -> list[PoolMember]:
        blocks = self.tree.blocks
        return [PoolMember(blocks[ref].entity_id, *ref) for ref in proxy.children if ref in blocks]

    def _previous(self, stored: StoredVariant | None) -> Variant | None:
        if stored is None:
            return None
        members = tuple(
            PoolMember(entity_id, block_type, block_id)
            for entity_id, block_type, block_id in stored.entities
        )
        return Variant(members, stored.group_id, stored.generation)

    def _visible(self, members) -> list[BlockRef]:
        return [member.ref for member in members if member.ref in self.tree.blocks]

    def _context(self, proxy: BlockRecord, selector: Selector, generation: int) -> SelectionContext:
        usage_key = self._usage_key_of(proxy.ref)
        rng = seeded_random(
            "variant", selector.type_name, self.course_key, usage_key, self.user_id, generation, proxy.pool_version_id
        )
        return SelectionContext(
            course_key=self.course_key,
            usage_key=usage_key,
            user_id=self.user_id,
            rng=rng,
            partition_groups=self._groups or {},
            usage_key_of=lambda member: self._usage_key_of(member.ref),
            descendants_of=self._descendant_keys,
            block_of=self._block_of,
            member_of=self._member_of,
            block_of_member=self._block_of_member,
        )

    def _ref_of(self, key: str) -> BlockRef | None:
        """
        The block of this course that ``key`` (a usage key, or an ``i4x://`` location) names, if any: a key of
        another organisation's or course's block names nothing here (a key of another run of this course does:
        runs share their content).
        """
        text = str(key).strip()
        if not _same_course(text, self.course_key):
            return None
        block_type, block_id = child_of_location(text)
        ref = (block_type, block_id)
        return ref if block_type is not None and ref in self.tree.blocks else None

    def _member_of(self, key: str) -> PoolMember | None:
        """The block ``key`` names as a member to show, if the learner may reach it (else None)."""
        ref = self._ref_of(key)
        if ref is None or not self._is_reachable(ref) or not self.is_visible(self.tree.blocks[ref]):
            return None
        return PoolMember(self.tree.blocks[ref].entity_id, *ref)

    def _block_of(self, key: str) -> XBlock | None:
        """The block ``key`` names, as the learner may reach it (else None), built with their state."""
        ref = self._ref_of(key)
        if ref is None or not self._is_reachable(ref) or not self.is_visible(self.tree.blocks[ref]):
            return None
        return self._load_block(ref)

    def _block_of_member(self, member: PoolMember) -> XBlock | None:
        """A member of the pool being chosen from, with the learner's state, if they may reach it (else None)."""
        ref = member.ref
        if ref not in self.tree.blocks or not self._is_reachable(ref):
            return None
        return self._load_block(ref)

    def _descendant_keys(self, member: PoolMember) -> list[str]:
        return [self._usage_key_of(record.ref) for record in self.tree.descendants(member.ref)[1:]]

    def _new_variant(self, proxy: BlockRecord, variant: Variant) -> NewVariant:
        return NewVariant(
            selector_entity_id=proxy.pool_entity_id,
            entities=[[m.entity_id, m.block_type, m.block_id] for m in variant.members],
            selector_version_id=proxy.pool_version_id,
            rules_version_id=proxy.version_id,
            group_id=variant.group_id,
            generation=variant.generation,
        )

    def _send(self, block: XBlock, events: list[tuple[str, dict]]) -> None:
        if not self.persist:
            return
        for event_type, data in events:
            self._publish(block, event_type, data)

    # ---- partitions

    def partition_groups(self) -> dict[int, int]:
        """The learner's group in each partition, as stored (one query, once per runtime), overrides applied."""
        if self._groups is None:
            user_id = self.user_id
            stored = {} if user_id is None else learner_data.learner_partition_groups(user_id, self.course_key)
            self._groups = {**stored, **self._overrides}
        return self._groups

    def assign_partitions(self, partitions, block: XBlock) -> dict[int, int]:
        """Give the learner a group in each of ``partitions`` (mappings) that has none; return their groups."""
        self._assign_partitions({partition["id"]: (partition, block) for partition in partitions})
        groups = self.partition_groups()
        return {partition["id"]: groups[partition["id"]] for partition in partitions if partition["id"] in groups}

    def _assign_partitions(self, needs: Mapping[int, tuple[Mapping[str, Any], XBlock]]) -> None:
        """Give the learner a group in every partition of ``needs`` that has none (or lost its group)."""
        self.partition_groups()
        missing: list[NewPartitionGroup] = []
        for partition_id, (partition, block) in needs.items():
            group_ids = sorted(group["id"] for group in partition.get("groups", []) if "id" in group)
            current = self._groups.get(partition_id)
            if current in group_ids or not group_ids:
                continue
            rng = seeded_random("partition", self.course_key, partition_id, self.user_id, *group_ids)
            chosen = rng.choice(group_ids)
            if self.user_id is None or not self.persist:
                self._groups[partition_id] = chosen
            elif current is None:
                missing.append(NewPartitionGroup(partition_id, chosen))
            else:  # the learner's group left the partition: assign again, as edx-platform does
                self._lock_choices()
                now, moved = learner_data.reassign_partition_group(
                    self.user_id, self.course_key, partition_id, chosen, self._token, replacing=current
                )
                self._groups[partition_id] = now
                if moved:
                    self._send(block, [(PARTITION_ASSIGNED_EVENT, _assignment_event(partition, chosen))])
        if missing:
            self._lock_choices()
            stored = learner_data.create_partition_groups(self.user_id, self.course_key, missing, self._token)
            for partition_id, (group_id, mine) in stored.items():
                self._groups[partition_id] = group_id
                if mine:
                    partition, block = needs[partition_id]
                    self._send(block, [(PARTITION_ASSIGNED_EVENT, _assignment_event(partition, group_id))])

    # ---- resolving a batch

    def _resolve(self, batch: list[BlockRecord]) -> None:
        loaded = [(record, self._load_block(record.ref)) for record in batch]
        needs: dict[int, tuple[Mapping[str, Any], XBlock]] = {}
        for _record, block in loaded:
            for partition in block.selector.partitions_used(block):
                needs.setdefault(partition["id"], (partition, block))
        if needs:
            self._assign_partitions(needs)
        computed = [(record, block) for record, block in loaded if not block.selector.stores_variants]
        stored = [(record, block) for record, block in loaded if block.selector.stores_variants]
        if stored:
            self._resolve_stored(stored)
        if computed:  # after the stored ones: what they read may sit in those selectors' Variants
            self._resolve_computed(computed)

    def _resolve_computed(self, loaded: list[tuple[BlockRecord, XBlock]]) -> None:
        """Compute what each selector of ``loaded`` shows now, from the learner's state of its sources."""
        refs = [record.ref for record, _block in loaded]
        for ref in refs:  # a selector reading itself (or another of the batch) sees it show nothing meanwhile
            self._chosen[ref] = []
            self._computing.add(ref)
        try:
            sources = {}
            for _record, block in loaded:
                for key in block.selector.sources(block):
                    ref = self._ref_of(key)
                    if ref is not None and ref not in sources and self._is_reachable(ref):
                        sources[ref] = self._load_block(ref)
            if sources:
                self._preload_state(list(sources.values()))
            unit = current_unit()
            for record, block in loaded:
                selector = block.selector
                context = self._context(record, selector, 0)
                variant = selector.get_or_create_variant_for_user(
                    self.user_id, block=block, pool=self._pool(record), previous=None, context=context
                )
                self._chosen[record.ref] = self._visible(variant.members)
                self._computed_in[record.ref] = unit
                self._send(block, context.events)
        finally:
            self._computing.difference_update(refs)

    def _resolve_stored(self, loaded: list[tuple[BlockRecord, XBlock]]) -> None:
        stored_variants = self._stored_variants()
        pending: list[_Pending] = []
        for record, block in loaded:
            selector = block.selector
            stored = stored_variants.get(record.pool_entity_id)
            previous = self._previous(stored)
            context = self._context(record, selector, previous.generation if previous else 0)
            variant = selector.get_or_create_variant_for_user(
                self.user_id, block=block, pool=self._pool(record), previous=previous, context=context
            )
            self._chosen[record.ref] = self._visible(variant.members)
            if previous is not None and variant.same_choice(previous):
                self._send(block, context.events)
                continue
            pending.append(_Pending(record, block, selector, variant, stored, context.events))

        if self.user_id is None:  # anonymous learners' draws are not kept
            for item in pending:
                self._send(item.block, item.events)
            return
        if not self.persist:  # viewed by staff as this learner: shown, not kept, not announced
            return
        if pending:
            self._lock_choices()
        new = [item for item in pending if item.previous is None]
        if new:
            stored = learner_data.create_variants(
                self.user_id, self.course_key, [self._new_variant(i.record, i.variant) for i in new], self._token
            )
            stored_variants.update(stored)
            for item in new:
                row = stored.get(item.record.pool_entity_id)
                if row is not None and row.writer_token != self._token:
                    # Another request of this learner stored its Variant first: show that one, send nothing.
                    self._chosen[item.record.ref] = self._visible(self._previous(row).members)
                    continue
                self._send(item.block, item.events)
        # Re-evaluated after a pool or rule change: one conditional UPDATE each (rare: once per change).
        for item in pending:
            if item.previous is None:
                continue
            now = learner_data.replace_variant(
                self.user_id, self.course_key, self._new_variant(item.record, item.variant), self._token,
                replacing=item.previous,
            )
            self._settle(item.record, item.block, now, item.events)


def _preload_learner_state(blocks: list[XBlock]) -> None:
    """Load the learner state of ``blocks`` (their own, not their children's) in one store call."""
    by_learner: dict[int, tuple[LearnerFieldData, list]] = {}
    for block in blocks:
        learner = getattr(block.runtime, "learner", None)
        if not isinstance(learner, LearnerFieldData):
            continue
        scope_ids = block.scope_ids
        triple = (str(scope_ids.usage_id), scope_ids.block_type, learner_scopes(type(block)))
        by_learner.setdefault(id(learner), (learner, []))[1].append(triple)
    for learner, triples in by_learner.values():
        learner.preload(learner.keys_for_blocks(triples))


def _assignment_event(partition: Mapping[str, Any], group_id: int) -> dict:
    group_names = {group.get("id"): group.get("name") for group in partition.get("groups", [])}
    return {
        "group_id": group_id,
        "group_name": group_names.get(group_id),
        "partition_id": partition.get("id"),
        "partition_name": partition.get("name"),
    }


def _same_course(key: str, course_key) -> bool:
    """Whether ``key`` (``i4x://org/course/...`` or ``block-v1:org+course+run+...``) is of ``course_key``'s course."""
    course = course_key if hasattr(course_key, "org") else CourseKey.from_string(str(course_key))
    if key.startswith("i4x://"):
        parts = key[len("i4x://"):].split("/")
    elif key.startswith("block-v1:"):
        parts = key[len("block-v1:"):].split("+")
    else:
        return True
    return len(parts) >= 2 and (parts[0], parts[1]) == (course.org, course.course)
