"""
Writing courses into Learning Core: packages, runs, components, containers, publishing.

Every function here creates a new version only when something changed, so writing the same
block twice is free and re-importing an unchanged course creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from openedx_content import api as content_api
from openedx_content.models_api import (
    Component,
    Container,
    Draft,
    LearningPackage,
    PublishableEntity,
    Section,
    Subsection,
    Unit,
)

from lc_runtime.content.models import BlockChild, ContainerSettings, CourseRoot, CourseRun
from lc_runtime.content.tree import OLX_PATH
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, code_from_block_id, container_code

__all__ = [
    "CONTAINER_CLASSES",
    "CourseWriter",
    "PublishSummary",
    "bulk_changes",
    "ensure_course_run",
    "get_or_create_package",
    "package_for_run",
    "publish_course",
    "update_component",
    "update_container",
]

XBLOCK_NAMESPACE = "xblock.v1"
CONTAINER_CLASSES: dict[str, type[Container]] = {
    "course": CourseRoot,
    "chapter": Section,
    "sequential": Subsection,
    "vertical": Unit,
}
"""The OLX tags that become Learning Core containers, and the container type of each."""


def utc_now() -> datetime:
    """Now, in UTC, as openedx-core wants its timestamps."""
    return datetime.now(tz=UTC)


def olx_media(package_id: int, block_type: str, olx: str):
    """The (deduplicated) text media holding one OLX document of ``block_type``."""
    media_type = content_api.get_or_create_media_type(f"application/vnd.openedx.xblock.v1.{block_type}+xml")
    return content_api.get_or_create_text_media(package_id, media_type.id, text=olx, created=utc_now())


def get_or_create_package(package_ref: str, title: str) -> int:
    """The id of the LearningPackage named ``package_ref``, created with ``title`` if missing."""
    package = LearningPackage.objects.filter(package_ref=package_ref).first()
    if package is None:
        package = content_api.create_learning_package(package_ref, title)
    return package.id


def package_for_run(course_key: str) -> int | None:
    """The LearningPackage id of a course run, or None if the run does not exist."""
    return CourseRun.objects.filter(course_key=course_key).values_list("learning_package_id", flat=True).first()


def ensure_course_run(course_key: str, package_id: int, root_entity_id: int) -> None:
    """Create the run record of ``course_key`` (or point it at ``root_entity_id`` again)."""
    CourseRun.objects.update_or_create(
        course_key=course_key, defaults={"learning_package_id": package_id, "root_id": root_entity_id}
    )


@contextmanager
def bulk_changes(package_id: int, *, changed_by: int | None = None) -> Iterator[None]:
    """Group every draft change inside into one DraftChangeLog and one event, in one transaction."""
    with content_api.bulk_draft_changes_for(package_id, changed_by=changed_by, changed_at=utc_now()):
        yield


@dataclass
class WriteCounts:
    """
    How many versions a writer created, by kind, and which blocks got one.

    ``unchanged`` counts the writes that created no version: the draft already had the content, or
    an existing version had it and the draft was pointed back at it (see ``CourseWriter._reuse_version``).
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    # "type/id" of each block that got a first version (created) or a next one (updated), in write order.
    created_blocks: list[str] = field(default_factory=list)
    updated_blocks: list[str] = field(default_factory=list)

    def count(self, block_type: str, outcome: str, block_id: str | None = None) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.by_type[block_type] = self.by_type.get(block_type, 0) + 1
        if block_id is not None and outcome in ("created", "updated"):
            getattr(self, f"{outcome}_blocks").append(f"{block_type}/{block_id}")


class CourseWriter:
    """
    Writes the blocks of one course into one LearningPackage, bottom up.

    Each ``write_*`` call returns the entity id to use as a child of the next level up. Use it inside
    :func:`bulk_changes` so that the whole course is one change.
    """

    def __init__(self, package_id: int, *, created_by: int | None = None) -> None:
        self.package_id = package_id
        self.created_by = created_by
        self.counts = WriteCounts()
        self._component_types: dict[str, object] = {}

    def component_type(self, block_type: str):
        """The ``xblock.v1:<block_type>`` ComponentType, fetched once per writer."""
        if block_type not in self._component_types:
            self._component_types[block_type] = content_api.get_or_create_component_type(
                XBLOCK_NAMESPACE, block_type
            )
        return self._component_types[block_type]

    def write_component(
        self,
        block_type: str,
        block_id: str,
        olx: str,
        title: str,
        children: Sequence[int] = (),
        *,
        still_current: Callable[[Any], bool] = lambda _version: True,
        on_new_version: Callable[[int], None] = lambda _version_pk: None,
    ) -> int:
        """
        Store a leaf block's OLX (and, for leaves with children, its child list); return its entity id.

        ``still_current(version)`` adds a condition for an existing version to count as unchanged, and
        ``on_new_version(version_pk)`` runs after a version is created, in the same draft change
        (:func:`lc_runtime.content.selectors.write_selector` uses both for a proxy's dependency).
        """
        code = code_from_block_id(block_id)
        component = (
            Component.with_publishing_relations.filter(
                learning_package_id=self.package_id,
                component_type__namespace=XBLOCK_NAMESPACE,
                component_type__name=block_type,
                component_code=code,
            ).first()
        )
        media = olx_media(self.package_id, block_type, olx)
        if component is None:
            component, version = content_api.create_component_and_version(
                self.package_id,
                component_type=self.component_type(block_type),
                component_code=code,
                title=title,
                created=utc_now(),
                created_by=self.created_by,
                media={OLX_PATH: media},
            )
            outcome = "created"
        else:
            def unchanged(version) -> bool:
                return _component_unchanged(version, title, media, children) and still_current(version)

            if unchanged(component.versioning.draft) or self._reuse_version(component, unchanged):
                self.counts.count(block_type, "unchanged")
                return component.id
            version = content_api.create_next_component_version(
                component.id,
                media_to_replace={OLX_PATH: media},
                created=utc_now(),
                title=title,
                created_by=self.created_by,
            )
            outcome = "updated"
        _record_children(version.pk, children)
        on_new_version(version.pk)
        self.counts.count(block_type, outcome, block_id)
        return component.id

    def write_container(
        self,
        olx_tag: str,
        block_id: str,
        title: str,
        children: Sequence[int],
        fields: dict,
        extra_attributes: dict | None = None,
    ) -> int:
        """Store a container (course, chapter, sequential, vertical) with its settings; return its entity id."""
        container_cls = CONTAINER_CLASSES[olx_tag]
        code = _container_code(olx_tag, block_id)
        extra_attributes = extra_attributes or {}
        entities_by_id = {entity.id: entity for entity in PublishableEntity.objects.filter(id__in=list(children))}
        entities = [entities_by_id[child] for child in children]
        container = Container.objects.filter(learning_package_id=self.package_id, container_code=code).first()
        if container is None:
            container, version = content_api.create_container_and_version(
                self.package_id,
                code,
                title=title,
                container_cls=container_cls,
                entities=entities,
                created=utc_now(),
                created_by=self.created_by,
            )
            outcome = "created"
        else:
            draft = container.versioning.draft

            def same(version) -> bool:
                return self._container_unchanged(version, title, children, fields, extra_attributes)

            if (draft is not None and same(draft)) or self._reuse_version(container, same):
                self.counts.count(olx_tag, "unchanged")
                return container.id
            version = content_api.create_next_container_version(
                container.id, title=title, entities=entities, created=utc_now(), created_by=self.created_by
            )
            outcome = "updated"
        ContainerSettings.objects.create(
            container_version_id=version.pk, fields=fields, extra_attributes=extra_attributes
        )
        self.counts.count(olx_tag, outcome, block_id)
        return container.id

    def _reuse_version(self, content_object, same: Callable[[object], bool]) -> bool:
        """
        Point the draft of ``content_object`` (a Component or Container whose draft differs from what is
        being written) back at an existing version for which ``same(version)`` holds, if there is one:
        the published version or the latest. Return whether it did; no version is created either way.

        Why: importing an export that has ``drafts/`` takes each drafted block through two states,
        the published content (written, then published) and the draft content on top. Re-importing the
        same export must create no versions (issue 4), so each of the two writes finds the version it
        created last time instead of making an identical new one.
        """
        draft = content_object.versioning.draft
        for candidate in (content_object.versioning.published, content_object.versioning.latest):
            if candidate is None or (draft is not None and candidate.pk == draft.pk) or not same(candidate):
                continue
            content_api.set_draft_version(content_object.id, candidate.pk, set_at=utc_now(), set_by=self.created_by)
            return True
        return False

    @staticmethod
    def _container_unchanged(draft, title: str, children: Sequence[int], fields: dict, extra: dict) -> bool:
        if draft.title != title:
            return False
        rows = draft.entity_list.entitylistrow_set.order_by("order_num").values_list("entity_id", flat=True)
        if list(rows) != list(children):
            return False
        stored = _settings_of(draft)
        return stored is not None and stored.fields == fields and stored.extra_attributes == extra


def _container_code(olx_tag: str, block_id: str) -> str:
    # Every run's course root is the one container "course.course".
    return container_code(olx_tag, COURSE_ROOT_BLOCK_ID if olx_tag == "course" else block_id)


def _settings_of(version) -> ContainerSettings | None:
    return ContainerSettings.objects.filter(container_version_id=version.pk).first() if version else None


def _child_ids(version) -> list[int]:
    """The children a component version lists (leaf XBlocks with children), in order."""
    if version is None:
        return []
    return list(BlockChild.objects.filter(parent_version_id=version.pk).values_list("child_id", flat=True))


def _record_children(version_pk: int, children: Sequence[int]) -> None:
    BlockChild.objects.bulk_create(
        BlockChild(parent_version_id=version_pk, order_num=i, child_id=child) for i, child in enumerate(children)
    )


def _component_unchanged(draft, title: str, media, children: Sequence[int]) -> bool:
    """True if the draft already has this title, this OLX and these children."""
    return (
        draft is not None
        and draft.title == title
        and draft.media.filter(componentversionmedia__path=OLX_PATH, id=media.id).exists()
        and _child_ids(draft) == list(children)
    )


def update_component(
    package_id: int, block_type: str, block_id: str, olx: str, title: str, *, created_by: int | None = None
) -> bool:
    """Make ``olx`` the next draft of an existing component, if it differs; return whether it did."""
    component = content_api.get_component_by_code(
        package_id, XBLOCK_NAMESPACE, block_type, code_from_block_id(block_id)
    )
    draft = component.versioning.draft
    media = olx_media(package_id, block_type, olx)
    children = _child_ids(draft)  # a block's own save never changes its children
    if _component_unchanged(draft, title, media, children):
        return False
    # A selector's proxy keeps depending on its pool: the new version and its dependency are one change.
    from lc_runtime.content.selectors import declare_selector_dependency  # noqa: PLC0415 (selectors imports us)

    with bulk_changes(package_id, changed_by=created_by):
        version = content_api.create_next_component_version(
            component.id, media_to_replace={OLX_PATH: media}, created=utc_now(), title=title, created_by=created_by
        )
        declare_selector_dependency(draft.pk if draft else None, version.pk)
    _record_children(version.pk, children)
    return True


def update_container(
    package_id: int, olx_tag: str, block_id: str, title: str, fields: dict, *, created_by: int | None = None
) -> bool:
    """Give an existing container new settings (same children) as its next draft, if they differ."""
    container = content_api.get_container_by_code(package_id, _container_code(olx_tag, block_id))
    draft = container.versioning.draft
    stored = _settings_of(draft)
    extra = stored.extra_attributes if stored else {}
    if draft is not None and draft.title == title and stored is not None and stored.fields == fields:
        return False
    version = content_api.create_next_container_version(
        container.id, title=title, entities=None, created=utc_now(), created_by=created_by
    )
    ContainerSettings.objects.create(container_version_id=version.pk, fields=fields, extra_attributes=extra)
    return True


@dataclass(frozen=True)
class PublishSummary:
    """What one publish did."""

    publish_log_id: int | None
    entities_published: int


def publish_course(package_id: int, *, published_by: int | None = None, message: str = "") -> PublishSummary:
    """Publish every draft change in the package; a package with nothing to publish writes nothing."""
    with transaction.atomic():
        pending = Draft.objects.with_unpublished_changes().filter(entity__learning_package_id=package_id).count()
        if not pending:
            return PublishSummary(None, 0)
        log = content_api.publish_all_drafts(package_id, message=message, published_by=published_by)
    return PublishSummary(log.id, log.records.count())
