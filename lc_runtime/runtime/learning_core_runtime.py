"""
``LearningCoreRuntime``: the XBlock runtime over a course run stored in Learning Core.

One runtime serves one (user, course run, mode) — ``published`` for learners (LMS), ``draft`` for
authors (Studio) — for one request. It is a thin coordinator: the tree comes from the content layer,
field values from the fielddata layer (which parses OLX once per version and writes a saved block as
its next draft version). What it owns is the block graph: every block is built once (an identity
map), and children and parents are the runtime's answer for every block class.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.html import escape
from fs.memoryfs import MemoryFS
from opaque_keys.edx.asides import AsideUsageKeyV2
from opaque_keys.edx.keys import CourseKey
from opaque_keys.edx.locator import BlockUsageLocator
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.exceptions import NoSuchServiceError, NoSuchUsage
from xblock.fields import ScopeIds
from xblock.runtime import Mixologist, Runtime

from lc_runtime.blocks.compat import compat_classes_for
from lc_runtime.blocks.inheritance import InheritableFieldsMixin
from lc_runtime.blocks.modulestore_shape import ModulestoreShapeMixin
from lc_runtime.blocks.placeholder import ErrorPlaceholderBlock
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.blocks.scopes import learner_scopes
from lc_runtime.conf import get_setting, import_object
from lc_runtime.content.courses.api import BlockRecord, BlockRef, CourseTree, Mode, check_mode
from lc_runtime.content.dates.api import LearnerDates, dates_version, learner_dates
from lc_runtime.content.learners.api import LearnerStateStore, StoredVariant
from lc_runtime.content.roles.api import course_roles as ask_role_provider
from lc_runtime.content.roles.api import has_staff_access
from lc_runtime.fielddata.authored import AuthoredFieldData, AuthoredFieldReadOnly
from lc_runtime.fielddata.drafts import write_draft
from lc_runtime.fielddata.learner import LearnerFieldData
from lc_runtime.fielddata.learner_dates import LearnerDatesFieldData
from lc_runtime.fielddata.parse_cache import authored_values
from lc_runtime.fielddata.routing import RuntimeFieldData
from lc_runtime.fielddata.unit_of_work import current_unit, unit_of_work
from lc_runtime.keys import InvalidKey, stored_usage_key, to_usage_key, usage_key_for
from lc_runtime.outlines.api import AccessDecision, CourseOutlineData, course_outline, decide_access
from lc_runtime.runtime import handler_urls
from lc_runtime.runtime.anonymous_ids import anonymous_user_id, user_by_anonymous_id
from lc_runtime.runtime.completion import LearnerCompletionService, NoCompletionService
from lc_runtime.runtime.delivery import deliver
from lc_runtime.runtime.events import XBlockEvent
from lc_runtime.runtime.host_services import (
    BlockI18nService,
    EmptyTeamsConfigurationService,
    EmptyTeamsService,
    EventPublishingService,
    MakoService,
    PartitionService,
    RebindUserService,
    UserStateService,
)
from lc_runtime.runtime.ids import CourseIdManager
from lc_runtime.runtime.services import (
    CacheService,
    CallToActionService,
    DiscussionConfigService,
    ReplaceURLService,
    RequestCacheService,
    RuntimeUserService,
    SandboxService,
    SettingsService,
    XQueueService,
)
from lc_runtime.runtime.video_config import VideoConfigService
from lc_runtime.selectors.base import PoolMember
from lc_runtime.selectors.block import block_class_for
from lc_runtime.selectors.registry import selector_for_tag
from lc_runtime.selectors.resolution import VariantResolver

__all__ = ["BlockNotAccessible", "LearningCoreRuntime", "NotASelector", "RuntimeOwnedChildren"]

log = logging.getLogger(__name__)

_warned_classes: set[type] = set()


_NOT_LOOKED_UP = object()
_NOT_INHERITED = object()


def _owner_key(usage_key):
    """The usage key of the block itself, for a block's key or one of its asides' keys."""
    return usage_key.usage_key if isinstance(usage_key, AsideUsageKeyV2) else usage_key


class NotASelector(ValueError):
    """The usage key names a block that is not a selector."""


class BlockNotAccessible(NoSuchUsage):
    """
    The learner may not reach this block: an outline processor closed it (or a block above it).

    A ``NoSuchUsage`` (so callers that treat a missing block as a 404 keep doing so); ``processor`` and
    ``reason`` say who closed it and why, for logs and staff tools.
    """

    def __init__(self, usage_key, processor: str, reason: str) -> None:
        super().__init__(f"{usage_key} is not available to this learner: {reason} ({processor})")
        self.usage_key, self.processor, self.reason = usage_key, processor, reason


class _LearnerContext:
    """The runtime's answers to outline processors (``lc_runtime.outlines.api.LearnerContext``)."""

    def __init__(self, runtime: LearningCoreRuntime) -> None:
        self._runtime = runtime

    @property
    def roles(self) -> frozenset[str]:
        return self._runtime.course_roles

    def learner_dates(self):
        return self._runtime.learner_dates()

    def partition_groups(self):
        return self._runtime.variants.partition_groups()

    def assign_random_groups(self, partitions):
        runtime = self._runtime
        return runtime.variants.assign_partitions(partitions, runtime.get_block(runtime.root_usage_key))

    def resolve_selectors(self) -> None:
        runtime = self._runtime
        runtime.variants.resolve_below(runtime.tree.blocks[runtime.tree.root])

    def variant_members(self, selector_key):
        runtime = self._runtime
        record = runtime.record_of(selector_key)
        if runtime._closure(record.ref) is not None:  # hidden by another rule: no Variant is drawn for it
            return []
        return [runtime.usage_key_of(ref) for ref in runtime.variants.children_of(record)]

    def remember(self, name, load):
        remembered = self._runtime._processor_data
        if name not in remembered:
            remembered[name] = load()
        return remembered[name]


class RuntimeOwnedChildren:
    """
    Put first in every block class's MRO: children and parent are the runtime's answer.

    XBlock mixins come *after* the block class, so they cannot override its methods; this one is
    placed before it by the runtime's mixologist.
    """

    def get_children(self, usage_id_filter=None):
        return self.runtime.get_children(self, usage_id_filter)

    def get_child(self, usage_id):
        return self.runtime.get_block(usage_id, for_parent=self)

    def get_parent(self):
        return self.runtime.get_parent(self)


BLOCK_MIXINS = (InheritableFieldsMixin, ModulestoreShapeMixin)
"""Mixed into every block, after its class: edx-platform's inheritable settings, the modulestore's names."""

_PER_BLOCK_SERVICES: dict[str, Any] = {
    "replace_urls": lambda runtime, block: ReplaceURLService(block, str(runtime.course_key)),
    "xqueue": lambda runtime, block: XQueueService(block),
    "i18n": lambda runtime, block: BlockI18nService(block),
    "mako": lambda runtime, block: MakoService(block),
}
"""Services made for the block that asks (they read its package or its key), once per block and runtime."""


def block_mixins() -> tuple[type, ...]:
    """lc-runtime's mixins, then the host's (``LC_RUNTIME["RUNTIME_MIXINS"]``), in that order."""
    return BLOCK_MIXINS + tuple(import_object(path) for path in get_setting("RUNTIME_MIXINS"))


def host_service_factories() -> dict[str, Any]:
    """The host's services (``LC_RUNTIME["SERVICES"]``): name -> ``factory(runtime, block)``."""
    return {name: import_object(path) for name, path in get_setting("SERVICES").items()}


class _RuntimeMixologist(Mixologist):
    _cache: dict[tuple[type, tuple[type, ...]], type] = {}

    def mix(self, cls):
        base = getattr(cls, "unmixed_class", cls)
        key = (base, tuple(self._mixins))
        if key not in self._cache:
            if base.get_children is not XBlock.get_children and base not in _warned_classes:
                _warned_classes.add(base)
                warnings.warn(
                    f"{base.__module__}.{base.__name__} overrides get_children(); in lc-runtime the runtime "
                    "decides a block's children and that override is not used.",
                    DeprecationWarning,
                    stacklevel=2,
                )
            self._cache[key] = type(
                base.__name__ + "WithMixins",
                (RuntimeOwnedChildren, *compat_classes_for(base), base, *self._mixins),
                {"unmixed_class": base},
            )
        return self._cache[key]


class _ResourcesFS(MemoryFS):
    """
    ``runtime.resources_fs``: stored OLX is self-contained, so blocks find no course files here.

    Capa joins ``root_path`` with a script's ``system_path`` (and ``code``) and keeps only folders that
    exist; under ``os.devnull`` none can, so no host folder reaches a problem's Python path.
    """

    root_path = os.devnull


class _CourseStoreShim:
    """The few modulestore calls blocks make on ``runtime.modulestore`` (``get_course``, ``get_item``)."""

    def __init__(self, runtime: LearningCoreRuntime) -> None:
        self._runtime = runtime

    def get_course(self, course_key, depth=0, **kwargs):
        return self._runtime.get_block(self._runtime.root_usage_key)

    def get_item(self, usage_key, depth=0, **kwargs):
        return self._runtime.get_block(usage_key)


class LearningCoreRuntime(Runtime):
    """
    The XBlock runtime for one user in one course run, in ``published`` or ``draft`` mode.

    Build it through :func:`lc_runtime.api.get_runtime`. Not thread-safe; use one per request.
    """

    # Read by the core blocks (the spelling is edx-platform's).
    suppports_state_for_anonymous_users = True

    def __init__(
        self,
        user,
        course_key: CourseKey,
        *,
        mode: Mode,
        tree: CourseTree,
        learner_store: LearnerStateStore,
        course_roles: frozenset[str] | None = None,
        viewer=None,
        partition_overrides: dict[int, int] | None = None,
    ) -> None:
        self.mode = check_mode(mode)
        self.user = user
        # The user's roles in the run: given by a caller that has asked already, else asked on first use.
        self._course_roles = frozenset(course_roles) if course_roles is not None else None
        # Staff viewing the course as ``user`` (or, with ``partition_overrides``, as a member of those
        # groups): the learner's state and Variants are read, and nothing of theirs is written.
        self.viewer = viewer
        self.learner_id: int | None = user.id if user is not None and user.is_authenticated else None
        self.course_key = course_key
        self.tree = tree
        # Keys built once per runtime (a key costs microseconds to build and to hash): by record.
        self._usage_keys: dict[BlockRef, Any] = {}
        # Blocks whose learner state (and that of everything below them) this runtime has preloaded.
        self._state_preloaded: set[BlockRef] = set()
        # Inherited values found by walking up the tree, by (block, field): published trees only, whose
        # authored values never change under a runtime (an author's save in draft mode may change them).
        self._inherited: dict[tuple[BlockRef, str], Any] | None = {} if mode == "published" else None
        self.root_usage_key = usage_key_for(course_key, *tree.root)
        self.id_manager = CourseIdManager(course_key)
        self.authored = AuthoredFieldData(writable=(mode == "draft"), inherited=self._inherited_value)
        # ``learner_store`` is the learners' store, or for a draft runtime the authors' preview store
        # (lc_runtime.api.get_runtime chooses): the keys are the same, the stores apart.
        self.learner = LearnerFieldData(learner_store, self.learner_id, course_key, persist=viewer is None)
        self._learner_dates: LearnerDates | None = None
        self.field_data = RuntimeFieldData(self._with_learner_dates(self.authored), self.learner, self._structure_value)
        services = {
            "field-data": self.field_data,
            "settings": SettingsService(),
            "cache": CacheService(),
            "request_cache": RequestCacheService(),
            "sandbox": SandboxService(str(course_key), mode=mode),
            "completion": (
                LearnerCompletionService(user, course_key)
                if mode == "published" and self.learner_id is not None and viewer is None
                else NoCompletionService()
            ),
            "discussion_config_service": DiscussionConfigService(),
            "video_config": VideoConfigService(str(course_key), mode=mode),
            "call_to_action": CallToActionService(),
            "user": RuntimeUserService(user, str(course_key), roles=lambda: self.course_roles),
            "user_state": UserStateService(self),
            "rebind_user": RebindUserService(self),
            "publish": EventPublishingService(self),
            "partitions": PartitionService(self),
            "teams": EmptyTeamsService(),
            "teams_configuration": EmptyTeamsConfigurationService(),
        }
        mixins = block_mixins()
        super().__init__(
            self.id_manager,
            self.id_manager,
            services=services,
            mixins=mixins,
        )
        self.mixologist = _RuntimeMixologist(mixins)
        self._host_services = host_service_factories()
        self._block_services: dict[tuple[str, Any], Any] = {}
        self._learner_store = learner_store
        self._blocks: dict[Any, XBlock] = {}
        self._broken: set[Any] = set()  # blocks whose OLX their class could not load
        self._rendering_for_parent = False
        # What the core blocks read off a runtime.
        self.resources_fs = _ResourcesFS()
        self.export_fs = None
        self.modulestore = _CourseStoreShim(self)
        self.is_author_mode = mode == "draft"
        self.variants = VariantResolver(
            tree=tree,
            course_key=course_key,
            user_id=self.learner_id,
            # Choosing Variants reads selectors whatever the learner may reach: the resolver never shows them.
            load_block=self._built_block,
            usage_key_of=lambda ref: str(self.usage_key_of(ref)),
            publish=self.publish,
            persist=viewer is None,
            partition_overrides=partition_overrides,
            is_reachable=lambda ref: self._closure(ref) is None,
        )
        self._access: AccessDecision | None = None
        # What outline processors read of their own, once per runtime (LearnerContext.remember).
        self._processor_data: dict[str, Any] = {}
        self._outline: CourseOutlineData | None = None

    # ---- the learner's dates (edx-when): their start, due and end of every block
    def _with_learner_dates(self, authored: AuthoredFieldData):
        """The authored store, with the learner's dates over it in a learner's published runtime (else as it is)."""
        if self.mode != "published" or self.learner_id is None:
            return authored
        return LearnerDatesFieldData(authored, self._loaded_learner_dates, self.tree)

    def _loaded_learner_dates(self) -> LearnerDates:
        if self._learner_dates is None:
            if self.mode != "published" or self.learner_id is None:
                self._learner_dates = {}
            else:
                self._learner_dates = learner_dates(self.course_key, self.user, published_version=self.dates_version)
        return self._learner_dates

    @property
    def dates_version(self) -> str:
        """The version of the run's dates this runtime shows (its snapshot and the run's own dates)."""
        return dates_version(self.tree.snapshot, self.tree.run_settings)

    def learner_dates(self) -> LearnerDates:
        """
        The learner's dates by (usage key, field): what their blocks' ``start``, ``due`` and ``end`` read.

        The run's content dates as edx-when gives them to this learner: self-paced dates counted from
        their start, their personal dates over them. A block without a date of its own takes its nearest
        dated ancestor's. Loaded once per runtime, on first use (blocks reading a date load them too):
        outside edx-platform one query for the learner's personal dates, one for the run's dates unless
        cached, one for their schedule if the run has relative dates. Empty in draft runtimes and
        without a signed-in learner.
        """
        return dict(self._loaded_learner_dates())

    # ---- the deprecated Runtime.field_data property is replaced by our own attribute
    @property
    def field_data(self) -> RuntimeFieldData:
        return self._runtime_field_data

    @field_data.setter
    def field_data(self, value: RuntimeFieldData) -> None:
        self._runtime_field_data = value

    # ---- ids and compatibility attributes
    @property
    def course_id(self):
        return self.course_key

    @property
    def anonymous_student_id(self) -> str:
        """The learner's anonymous id in this run (the host's function, docs/settings.md "Anonymous ids")."""
        return anonymous_user_id(self.user, self.course_key)

    def get_real_user(self, anonymous_id: str):
        """The user behind an anonymous id of this run, or None (what ORA2's staff tools ask)."""
        return user_by_anonymous_id(anonymous_id, self.course_key)

    def for_user(self, user) -> LearningCoreRuntime:
        """
        A runtime like this one (course run, mode, tree, learner-state store) for another ``user``: what
        ``rebind_user`` binds a block to. Their course roles are asked when first needed.
        """
        return type(self)(
            user, self.course_key, mode=self.mode, tree=self.tree, learner_store=self._learner_store
        )

    @property
    def course_roles(self) -> frozenset[str]:
        """The user's roles in this course run, by ``LC_RUNTIME["ROLES"]``: asked once per runtime, when first read."""
        if self._course_roles is None:
            self._course_roles = ask_role_provider(self.user, self.course_key)
        return self._course_roles

    @property
    def user_is_staff(self) -> bool:
        """True if the user is course staff of this run (a role of ``STAFF_ROLES``), not merely Django staff."""
        return has_staff_access(self.course_roles)

    # ---- who may reach what (lc_runtime.outlines)
    @property
    def enforces_access(self) -> bool:
        """
        True when the outline processors decide what this runtime shows: published mode, for a learner
        or visitor who is not course staff (authors, staff and system tasks with ``user=None`` see all).
        """
        return self.mode == "published" and self.user is not None and not self.user_is_staff

    def course_outline(self) -> CourseOutlineData:
        """The run's learner-independent outline (cached per snapshot: no query)."""
        if self._outline is None:
            self._outline = course_outline(self.tree)
        return self._outline

    def access(self, at_time=None) -> AccessDecision:
        """
        What the outline processors close for this runtime's user, decided once per runtime (at the
        first block it builds) or, given ``at_time``, for that time (not kept).

        For course staff and where :attr:`enforces_access` is False, nothing is closed.
        """
        if at_time is None and self._access is not None:
            return self._access
        outline = self.course_outline()
        decision = decide_access(
            outline, self.user, at_time or timezone.now(), _LearnerContext(self),
            is_staff=not self.enforces_access, for_runtime=at_time is None,
        )
        if at_time is None:
            self._access = decision
        return decision

    def outline_decision(self, at_time) -> AccessDecision:
        """The processors' decision for the whole outline at ``at_time``, selectors included (for outlines)."""
        return decide_access(
            self.course_outline(), self.user, at_time, _LearnerContext(self), is_staff=not self.enforces_access
        )

    def _closure(self, ref: BlockRef):
        if not self.enforces_access or ref == self.tree.root:
            return None
        return self.access().closure_of(self.usage_key_of(ref))

    def get_policy(self, usage_id) -> dict:
        return {}

    def parse_asides(self, node, def_id, usage_id, id_generator) -> list:
        return []

    def applicable_aside_types(self, block) -> list[str]:
        """Only the aside types ``LC_RUNTIME["ASIDE_TYPES"]`` allows: an installed aside does not attach itself."""
        return list(get_setting("ASIDE_TYPES"))

    def get_aside_of_type(self, block, aside_type: str):
        """The aside of ``aside_type`` decorating ``block``, built once per runtime; NoSuchUsage if not allowed."""
        if aside_type not in self.applicable_aside_types(block):
            raise NoSuchUsage(f"the aside type {aside_type!r} is not enabled")
        usage_key = block.scope_ids.usage_id
        aside_definition, aside_usage = self.id_manager.create_aside(usage_key, usage_key, aside_type)
        aside = self._blocks.get(aside_usage)
        if aside is None:
            scope_ids = ScopeIds(self.learner_id, aside_type, aside_definition, aside_usage)
            aside = self.load_aside_type(aside_type)(runtime=self, scope_ids=scope_ids)
            self._blocks[aside_usage] = aside
        return aside

    def get_aside(self, aside_usage_id):
        """The aside an ``aside-usage-v2:`` key names."""
        return self.get_aside_of_type(self.get_block(aside_usage_id.usage_key), aside_usage_id.aside_type)

    # ---- blocks
    def load_block_type(self, block_type: str) -> type[XBlock]:
        selector = selector_for_tag(block_type)
        if selector is not None:
            return block_class_for(selector)
        return load_block_class(block_type)

    # ---- the course tree, for the edges (api, web, cli): records as stored, whatever the learner sees
    def record_of(self, usage_key) -> BlockRecord:
        """
        The tree's record of the block ``usage_key`` (a key or its string) names: its type, id,
        version, stored fields and OLX, parent and children (a selector's: its whole pool).

        NoSuchUsage if the key is malformed, of another course run, or names no block of this run.
        """
        if type(usage_key) is BlockUsageLocator and usage_key.course_key is self.course_key:
            # A key this runtime built (usage_key_of): of this run by construction.
            record = self.tree.blocks.get((usage_key.block_type, usage_key.block_id))
            if record is not None:
                return record
        try:
            key = to_usage_key(usage_key)
        except InvalidKey as exc:
            raise NoSuchUsage(str(usage_key)) from exc
        if key.course_key != self.course_key:
            raise NoSuchUsage(f"{key} is not in {self.course_key}")
        record = self.tree.blocks.get((key.block_type, key.block_id))
        if record is None:
            raise NoSuchUsage(str(key))
        return record

    def iter_records(self) -> Iterator[BlockRecord]:
        """The record of every block of the run, including those no container lists (``about``, ``info``, tabs)."""
        return iter(self.tree.blocks.values())

    def descendant_records(self, usage_key) -> list[BlockRecord]:
        """The records of a block and everything below it, depth first in course order (selectors: whole pools)."""
        return self.tree.descendants(self.record_of(usage_key).ref)

    def usage_key_of(self, ref: BlockRef):
        """The usage key of the block a record's ``ref`` (or a ``parent``, ``children`` entry) names in this run."""
        key = self._usage_keys.get(ref)
        if key is None:
            key = self._usage_keys[ref] = stored_usage_key(self.course_key, *ref)
        return key

    def get_block(self, usage_id, for_parent=None) -> XBlock:
        """
        The block for ``usage_id``: built once per runtime.

        NoSuchUsage if this run has no such block, or if it sits in a selector's pool outside what the
        learner's Variant shows: one learner never reaches content meant for another group.
        """
        record = self.record_of(usage_id)
        key = self.usage_key_of(record.ref)
        # Asked even of blocks built already: choosing Variants and inheriting settings build blocks the
        # learner may not reach, and those must not be handed out.
        closure = self._closure(record.ref)
        if closure is not None:
            raise BlockNotAccessible(key, closure.processor, closure.reason)
        if self.chooses_variants and not self.variants.is_visible(record):
            raise NoSuchUsage(f"{key} is not in this learner's variant of its selector")
        return self._built_block(record.ref, for_parent)

    def _built_block(self, ref: BlockRef, for_parent=None) -> XBlock:
        """The block ``ref`` names, built once per runtime, whoever may reach it (callers decide that)."""
        record = self.tree.blocks[ref]
        key = self.usage_key_of(ref)
        block = self._blocks.get(key)
        if block is not None:
            return block
        block_class = self.mixologist.mix(self.load_block_type(record.block_type))
        if not self.authored.is_loaded(key):
            try:
                values = authored_values(
                    record, key, block_class, runtime=self, authored=self.authored,
                    run_settings=self.tree.run_settings if record.ref == self.tree.root else None,
                )
            except DatabaseError:
                raise
            except Exception as exc:  # the block's own parser refused its OLX: show it as broken, keep it
                self._broken.add(key)
                values = {"olx": record.olx or "", "error": f"{type(exc).__name__}: {exc}",
                          "display_name": record.title or None}
            self.authored.seed(key, values)
        if key in self._broken:
            block_class = self.mixologist.mix(ErrorPlaceholderBlock)
        scope_ids = ScopeIds(self.learner_id, record.block_type, key, key)
        block = self.construct_xblock_from_class(block_class, scope_ids, for_parent=for_parent)
        self._blocks[key] = block
        return block

    def load_failures(self) -> dict[BlockRef, str]:
        """
        Every block of the tree whose OLX its own class could not load, with the error.

        Builds every block (each version's OLX is parsed once per process, so this also warms the
        parse cache for the learners who follow).
        """
        for record in self.iter_records():
            self.get_block(self.usage_key_of(record.ref))
        return {
            (key.block_type, key.block_id): self.authored.values_of(key).get("error", "")
            for key in sorted(self._broken, key=str)
        }

    @property
    def chooses_variants(self) -> bool:
        """True when selectors show this runtime's user a Variant: published mode, for a learner or visitor.

        Authors (draft mode) and system tasks (``user=None``, e.g. indexing or export) see whole pools.
        """
        return self.mode == "published" and self.user is not None

    def _children_of(self, record: BlockRecord) -> list[BlockRef]:
        """
        A block's children for this runtime: a selector's are the learner's Variant (authors: the pool),
        and what the outline processors close for the learner is left out.
        """
        if record.pool_entity_id is not None and self.chooses_variants:
            children = self.variants.children_of(record)
        else:
            children = record.children
        if self.enforces_access:
            children = [ref for ref in children if self._closure(ref) is None]
        return children

    def child_keys(self, usage_key) -> list:
        """
        The usage keys of a block's children as this runtime's user gets them (a selector's: their
        Variant; without what they may not reach), in order, without building the children.
        """
        return [self.usage_key_of(ref) for ref in self._children_of(self.record_of(usage_key))]

    def get_children(self, block, usage_id_filter=None) -> list[XBlock]:
        """The runtime's answer to ``block.get_children()``: the tree's children (or Variant), in order."""
        record = self.record_of(block.scope_ids.usage_id)
        keys = [self.usage_key_of(ref) for ref in self._children_of(record)]
        return [self.get_block(k, for_parent=block) for k in keys if usage_id_filter is None or usage_id_filter(k)]

    def get_parent(self, block) -> XBlock | None:
        """The runtime's answer to ``block.get_parent()``."""
        record = self.record_of(block.scope_ids.usage_id)
        return self.get_block(self.usage_key_of(record.parent)) if record.parent else None

    def _structure_value(self, block, name: str) -> Any:
        record = self.record_of(block.scope_ids.usage_id)
        if name == "children":
            return [self.usage_key_of(ref) for ref in self._children_of(record)]
        if name == "parent" and record.parent is not None:
            return self.usage_key_of(record.parent)
        raise KeyError(name)

    def _inherited_value(self, usage_key, name: str) -> Any:
        record = self.record_of(usage_key)
        found = self._set_at_or_above(record.parent, name) if record.parent is not None else _NOT_INHERITED
        if found is _NOT_INHERITED:
            raise KeyError(name)
        return found

    def _set_at_or_above(self, ref: BlockRef, name: str) -> Any:
        """
        The value of ``name`` on ``ref`` or its nearest ancestor that sets it, _NOT_INHERITED if none does.
        Published runtimes keep each answer (``_inherited``), so siblings share their parent's.
        """
        memo = self._inherited
        found = memo.get((ref, name), _NOT_LOOKED_UP) if memo is not None else _NOT_LOOKED_UP
        if found is _NOT_LOOKED_UP:
            key = self.usage_key_of(ref)
            if not self.authored.is_loaded(key):
                self._built_block(ref)
            try:
                found = self.authored.value_of(key, name)
            except KeyError:
                parent = self.tree.blocks[ref].parent
                found = self._set_at_or_above(parent, name) if parent is not None else _NOT_INHERITED
            if memo is None:
                return found
            memo[(ref, name)] = found
        # Each block gets its own copy of a kept list or dict, as the authored store gives: XBlock keeps a
        # default it read, and a block changing it in place must not change what its siblings inherit.
        return copy.deepcopy(found) if isinstance(found, list | dict) else found

    # ---- selectors
    def selector_record(self, usage_key) -> BlockRecord:
        """The record of the selector ``usage_key`` names (see :meth:`record_of`); NotASelector for another block."""
        record = self.record_of(usage_key)
        if record.pool_entity_id is None:
            raise NotASelector(f"{self.usage_key_of(record.ref)} is not a selector")
        return record

    def variant_of(self, usage_key) -> StoredVariant | None:
        """
        The stored Variant of the selector ``usage_key`` for this runtime's learner, drawn and stored
        (in the current unit of work) if the learner has none yet, as rendering the selector would.

        None where no Variant is stored: for anonymous learners, and where the runtime shows whole pools
        (:attr:`chooses_variants` is False). NoSuchUsage as :meth:`get_block` (no such block, or one
        outside the learner's Variant of an enclosing selector); NotASelector for another block.
        """
        record = self.selector_record(usage_key)
        self.get_block(usage_key)
        return self.variants.variant_of(record) if self.chooses_variants else None

    def pool_member_of(self, block) -> PoolMember:
        """A block as a member of its selector's pool (for labels in authors' previews)."""
        record = self.record_of(block.scope_ids.usage_id)
        return PoolMember(record.entity_id, record.block_type, record.block_id)

    def reset_variant(self, block) -> None:
        """Draw a selector's Variant for this learner again (its ``reset_selected_children`` handler)."""
        record = self.record_of(block.scope_ids.usage_id)
        if record.pool_entity_id is None or not self.chooses_variants:
            return
        self.variants.reset(record)

    def add_node_as_child(self, block, node) -> None:
        """Children in stored OLX are ignored: the tree holds a block's children."""

    def add_block_as_child_node(self, block, node) -> None:
        """Children are not written into a block's own OLX: the tree holds them."""

    # ---- learner state
    def preload_learner_state(self, block) -> None:
        """
        Load the learner state of ``block``, everything below it and their asides, in one query; nothing
        when this runtime has done so already for it or a block above it (a child rendered for its parent),
        unless state written in an earlier unit of work may have to be read again.
        """
        root = self.record_of(_owner_key(block.scope_ids.usage_id))
        if root.ref in self._state_preloaded and not self.learner.has_state_to_reread():
            return
        records = self.tree.descendants(root.ref)
        aside_classes = {aside_type: self.load_aside_type(aside_type) for aside_type in get_setting("ASIDE_TYPES")}
        triples = []
        for record in records:
            block_class = self.mixologist.mix(self.load_block_type(record.block_type))
            usage_key = self.usage_key_of(record.ref)
            triples.append((str(usage_key), record.block_type, learner_scopes(block_class)))
            for aside_type, aside_class in aside_classes.items():
                aside_key = AsideUsageKeyV2(usage_key, aside_type)
                triples.append((str(aside_key), aside_type, learner_scopes(aside_class)))
        self.learner.preload(self.learner.keys_for_blocks(triples))
        self._state_preloaded.update(record.ref for record in records)

    # ---- rendering, handlers, saving
    def render(self, block, view_name, context=None) -> Fragment:
        """
        Render a view inside a unit of work: the current one (joined) or, outside one, its own.

        A child rendered for its parent (:meth:`render_child`) runs in its parent's unit without
        joining it, so that its failure can be contained there. A block the learner may not reach is
        refused (``BlockNotAccessible``), whichever runtime built it.
        """
        if self.enforces_access:
            # Blocks come from get_block, which refuses closed ones; a block from elsewhere is asked again.
            closure = self.access().closure_of(block.scope_ids.usage_id)
            if closure is not None:
                raise BlockNotAccessible(block.scope_ids.usage_id, closure.processor, closure.reason)
        for_parent, self._rendering_for_parent = self._rendering_for_parent, False
        with nullcontext() if for_parent and current_unit() is not None else unit_of_work():
            self.preload_learner_state(block)
            if self.chooses_variants:
                # Every selector below resolves in one batch, and its events queue here, in the request's
                # unit, not inside a child's render that may fail and drop them.
                self.variants.resolve_below(self.record_of(_owner_key(block.scope_ids.usage_id)))
            return super().render(block, view_name, context)

    def render_child(self, child, view_name=None, context=None) -> Fragment:
        """
        Render a child for its parent; a child that fails is shown as an error notice instead.

        One broken block must not take its unit down: the learner-state writes it buffered and the
        events it queued are dropped, and the parent renders the rest. Database errors propagate.
        """
        unit = current_unit()
        checkpoint = unit.checkpoint() if unit is not None else None
        view_name = view_name or self._view_name
        if view_name == "author_view" and getattr(child, "author_view", getattr(child, "fallback_view", None)) is None:
            view_name = "student_view"  # as in Studio: a block without an author view shows its student view
        self._rendering_for_parent = True
        try:
            return super().render_child(child, view_name, context)
        except DatabaseError:
            raise
        except Exception as exc:
            if unit is not None:
                unit.restore(checkpoint)
            log.exception("%s failed to render %s", child.scope_ids.usage_id, view_name or self._view_name)
            return self._error_fragment(child, view_name or self._view_name, exc)
        finally:
            self._rendering_for_parent = False

    def _error_fragment(self, block, view_name: str, error: Exception) -> Fragment:
        detail = f'<pre class="lc-error-detail">{escape(f"{type(error).__name__}: {error}")}</pre>'
        notice = Fragment(
            f'<div class="lc-placeholder lc-error"><p><strong>This block cannot be shown here.</strong> '
            f"It failed while rendering; the course team can see why.</p>"
            f"{detail if self.user_is_staff else ''}</div>"
        )
        return self.wrap_xblock(block, view_name, notice, None)

    def handle(self, block, handler_name, request, suffix=""):
        """
        Run a handler inside a unit of work: the current one (joined: a failure dooms it) or its own.

        The learner's ``user_state`` of the block is locked first (until the unit ends), so one
        learner's simultaneous requests to one block run one at a time, each on the state the previous
        one stored (ADR 0016).
        """
        with unit_of_work():
            self.learner.lock_own_state(block)
            self.preload_learner_state(block)
            return super().handle(block, handler_name, request, suffix)

    def save_block(self, block) -> None:
        """After ``block.save()``: in draft mode, store changed authored values as the next draft version."""
        key = block.scope_ids.usage_id
        if self.mode != "draft" or not self.authored.has_changes(key):
            return
        if isinstance(key, AsideUsageKeyV2):
            raise AuthoredFieldReadOnly(f"{key}: the content and settings of asides are not stored yet")
        write_draft(block, self.record_of(key), self.authored, self.tree, created_by=self.learner_id)

    # ---- the four abstract methods
    def handler_url(self, block, handler_name, suffix="", query="", thirdparty=False) -> str:
        """
        A signed URL to ``handler_name`` of ``block`` for this runtime's user (see ``handler_urls``).

        It works only in that user's session unless ``thirdparty``; draft URLs always need a staff session,
        and so do the URLs of a runtime viewing as someone else (a session-less URL would let whoever
        holds it act as the learner).
        """
        handler = getattr(block, handler_name, None)
        fallback = getattr(block, "fallback_handler", None)
        if not getattr(handler, "_is_xblock_handler", False) and not getattr(fallback, "_is_xblock_handler", False):
            raise ValueError(f"{handler_name!r} is not a handler of {block.scope_ids.usage_id}")
        self._check_handler_urls_have_a_user()
        access = "thirdparty" if thirdparty and self.mode == "published" and self.viewer is None else "session"
        return handler_urls.handler_url(
            self.mode, str(block.scope_ids.usage_id), self.learner_id, handler_name, suffix, query, access=access
        )

    def _check_handler_urls_have_a_user(self) -> None:
        if self.mode == "draft" and self.learner_id is None:
            raise ValueError("a draft runtime without a user cannot make handler URLs: nobody could use them")

    def handler_base_url(self, block) -> str:
        """
        The signed base (ending in ``/``) of every handler URL of ``block`` for this runtime's user in their
        session: a page's XBlock JavaScript runtime appends ``<handler>/<suffix>`` to it (``handler_urls``).
        """
        self._check_handler_urls_have_a_user()
        return handler_urls.handler_url(self.mode, str(block.scope_ids.usage_id), self.learner_id, "")[:-1]

    def resource_url(self, resource: str) -> str:
        """A runtime-owned static file: served by the host (edx-platform, or Django's static files) at STATIC_URL."""
        return f"{settings.STATIC_URL}{resource}"

    def local_resource_url(self, block, uri: str) -> str:
        return f"{get_setting('HANDLER_URL_PREFIX')}/resource/{block.scope_ids.block_type}/{uri}"

    def publish(self, block, event_type: str, event_data: Any) -> None:
        """
        Queue an event; it is delivered after the unit of work commits, and never if it rolls back.

        Staff viewing the course as a learner send nothing: the learner did not do it.
        """
        if self.viewer is not None:
            return
        event = XBlockEvent(
            event_type=event_type,
            data=event_data,
            usage_key=str(block.scope_ids.usage_id),
            block_type=block.scope_ids.block_type,
            course_key=str(self.course_key),
            user_id=self.learner_id,
            mode=self.mode,
            username=self.user.username if self.learner_id is not None else None,
        )
        with unit_of_work() as unit:
            unit.on_commit(lambda: deliver(event))

    # ---- services
    def service(self, block, service_name: str):
        """
        The service ``service_name`` for ``block``: the host's (``LC_RUNTIME["SERVICES"]``) where it names one,
        else lc-runtime's. As in XBlock, a block gets only the services it declares (``needs``/``wants``).
        """
        factory = self._host_services.get(service_name) or _PER_BLOCK_SERVICES.get(service_name)
        if factory is None:
            return super().service(block, service_name)
        declaration = block.service_declaration(service_name)
        if declaration is None:
            raise NoSuchServiceError(f"Service {service_name!r} was not requested.")
        key = (service_name, block.scope_ids.usage_id)
        if key not in self._block_services:
            self._block_services[key] = factory(self, block)
        return self._block_services[key]

    # ---- wrapping: like XBlock's, with the data attributes escaped
    def _wrap_ele(self, block, view, frag, extra_data=None):
        data = {"usage": block.scope_ids.usage_id, "block-type": block.scope_ids.block_type}
        data.update(extra_data or {})
        if frag.js_init_fn:
            data["init"] = frag.js_init_fn
            data["runtime-version"] = frag.js_init_version
        json_init = ""
        if getattr(frag, "json_init_args", None) is not None:
            json_init = (
                '<script type="json/xblock-args" class="xblock_json_init_args">'
                f"{json.dumps(frag.json_init_args).replace('</', '<\\/')}</script>"
            )
        classes = escape(" ".join(self._css_classes_for(block, view)))
        attributes = "".join(f' data-{name}="{escape(str(value))}"' for name, value in data.items())
        wrapped = Fragment()
        # Course-relative links (/static/, /jump_to_id/, /course/) work in every block, as in edx-platform's LMS;
        # editors (studio_view) keep them portable, or saving would store our URLs in the content.
        body = f"{frag.body_html()}{json_init}"
        if view != "studio_view":
            body = ReplaceURLService(block, str(self.course_key)).replace_urls(body)
        wrapped.add_content(f'<div class="{classes}"{attributes}>{body}</div>')
        wrapped.add_fragment_resources(frag)
        return wrapped

