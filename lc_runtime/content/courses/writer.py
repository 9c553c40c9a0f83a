"""
Writing courses into Learning Core: packages, runs, components, containers, publishing.

Every function here creates a new version only when something changed, so writing the same
block twice is free and re-importing an unchanged course creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import transaction
from openedx_content import api as content_api
from openedx_content.applets.publishing.api import set_version_dependencies
from openedx_content.applets.publishing.contextmanagers import DraftChangeLogContext
from openedx_content.models_api import (
    Component,
    Container,
    Draft,
    LearningPackage,
    PublishableEntity,
    PublishableEntityVersionDependency,
    Section,
    Subsection,
    Unit,
)

from lc_runtime.content.courses.change_logs import publish_drafts
from lc_runtime.content.courses.models import BlockChild, ContainerSettings, CourseRoot, CourseRun
from lc_runtime.content.courses.tree import OLX_PATH
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, code_from_block_id, container_code

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


def package_for_run(course_key) -> int | None:
    """The LearningPackage id of a course run, or None if the run does not exist."""
    return (
        CourseRun.objects.filter(course_key=str(course_key)).values_list("learning_package_id", flat=True).first()
    )


def package_of_run_query(course_key):
    """A one-row query of the run's package id, to use as a subquery (no query of its own)."""
    return CourseRun.objects.filter(course_key=str(course_key)).values("learning_package_id")[:1]


def ensure_course_run(course_key, package_id: int, root_entity_id: int) -> None:
    """Create the run record of ``course_key`` (or point it at ``root_entity_id`` again)."""
    CourseRun.objects.update_or_create(
        course_key=str(course_key), defaults={"learning_package_id": package_id, "root_id": root_entity_id}
    )


@contextmanager
def write_transaction() -> Iterator[None]:
    """
    ``transaction.atomic()`` for writing a course: all of it lands, or none of it.

    When it rolls back, openedx-core's per-process cache of ContainerType rows is dropped too: a
    ContainerType created inside the transaction (on a database whose rows were emptied, as test
    suites do) no longer exists, and writing a container with the cached row would fail later, in
    another import of the same process.
    """
    try:
        with transaction.atomic():
            yield
    except BaseException:
        Container.reset_cache()
        raise


@contextmanager
def bulk_changes(package_id: int, *, changed_by: int | None = None) -> Iterator[None]:
    """
    Group every draft change inside into one DraftChangeLog and one event, in one transaction.

    Inside a change already open for the package, join it: versions and the dependencies declared
    for them always land in one change log.
    """
    active = DraftChangeLogContext.get_active_draft_change_log(package_id)
    opened = (
        nullcontext() if active is not None
        else content_api.bulk_draft_changes_for(package_id, changed_by=changed_by, changed_at=utc_now())
    )
    with opened:
        yield


@dataclass
class ChangeCounts:
    """
    What a writer did, by outcome: how many blocks (or files) it created, updated, left unchanged or
    deleted, by type, and which ones (``"type/id"``, in write order).

    ``unchanged`` counts the writes that created no version: the draft already had the content, or
    an existing version had it and the draft was pointed back at it (see ``CourseWriter._reuse_version``).
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    created_blocks: list[str] = field(default_factory=list)
    updated_blocks: list[str] = field(default_factory=list)
    deleted_blocks: list[str] = field(default_factory=list)

    def count(self, block_type: str, outcome: str, block_id: str | None = None) -> None:
        """Count one write of ``outcome`` (``created``, ``updated``, ``unchanged`` or ``deleted``)."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.by_type[block_type] = self.by_type.get(block_type, 0) + 1
        if block_id is not None and outcome != "unchanged":
            getattr(self, f"{outcome}_blocks").append(f"{block_type}/{block_id}")


@dataclass(frozen=True)
class DraftContainer:
    """A container's current draft: what a next draft version must keep."""

    entity_id: int
    title: str
    children: list[int]
    fields: dict
    extra_attributes: dict


def _container_by_code(package_id: int, code: str) -> Container | None:
    return Container.objects.filter(learning_package_id=package_id, container_code=code).first()


def _entity_ids(version) -> list[int]:
    """The entity ids a container version lists, in order."""
    rows = version.entity_list.entitylistrow_set.order_by("order_num")
    return list(rows.values_list("entity_id", flat=True))


def _settings_of(version) -> ContainerSettings | None:
    return ContainerSettings.objects.filter(container_version_id=version.pk).first() if version else None


def _outline_code(olx_tag: str, block_id: str) -> str:
    # Every run's course root is the one container "course.course".
    return container_code(olx_tag, COURSE_ROOT_BLOCK_ID if olx_tag == "course" else block_id)


def draft_container(package_id: int, olx_tag: str, block_id: str) -> DraftContainer | None:
    """The draft of an outline container of the package, or None if it has none (missing or deleted)."""
    return draft_container_by_code(package_id, _outline_code(olx_tag, block_id))


def draft_container_by_code(package_id: int, code: str) -> DraftContainer | None:
    """The draft of any container of the package (an outline container, a selector's pool) by its code."""
    container = _container_by_code(package_id, code)
    draft = container.versioning.draft if container is not None else None
    if draft is None:
        return None
    settings = _settings_of(draft)
    return DraftContainer(
        container.id,
        draft.title,
        _entity_ids(draft),
        dict(settings.fields) if settings else {},
        dict(settings.extra_attributes) if settings else {},
    )


class CourseWriter:
    """
    Writes the blocks of one course into one LearningPackage, bottom up.

    Each ``write_*`` call returns the entity id to use as a child of the next level up. Use it inside
    :func:`bulk_changes` so that the whole course is one change.

    With ``keep_drafts``, a block whose *published* version already is what is written keeps its draft
    as it is (recorded in :attr:`kept_drafts`) instead of having it pointed back at the published
    version: what an import writing an export's published course needs, so that re-importing an
    export with ``drafts/`` does not undo the drafts and then redo them (two draft changes, and a
    publish in between, for nothing). The caller then decides what becomes of those drafts
    (:func:`lc_runtime.content.courses.imports.publish_import`, ``restore_published_drafts``).
    """

    def __init__(self, package_id: int, *, created_by: int | None = None, keep_drafts: bool = False) -> None:
        self.package_id = package_id
        self.created_by = created_by
        self.counts = ChangeCounts()
        self._component_types: dict[str, object] = {}
        self.keep_drafts = keep_drafts
        self.written: set[int] = set()
        """The entity ids of every block written (whatever the outcome) or placed in a draft container."""
        self.kept_drafts: dict[int, int] = {}
        """Entity id -> its published version's id, for the blocks whose draft ``keep_drafts`` left as it was."""

    def changes(self):
        """The context to group several writes in as one draft change (see :func:`bulk_changes`)."""
        return bulk_changes(self.package_id, changed_by=self.created_by)

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
        depends_on: Sequence[int] = (),
    ) -> int:
        """
        Store a leaf block's OLX (and, for leaves with children, its child list); return its entity id.

        ``depends_on`` names entities every version of the component depends on (a selector's proxy
        depends on its pool): a new version declares them in the same draft change, and a version
        with other dependencies does not count as unchanged.
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
        with bulk_changes(self.package_id, changed_by=self.created_by):
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
                    return _component_unchanged(version, title, media, children) and (
                        not depends_on or _dependencies_of(version.pk) == sorted(depends_on)
                    )

                self.written.add(component.id)
                if (unchanged(component.versioning.draft) or self._keep_draft(component, unchanged)
                        or self._reuse_version(component, unchanged)):
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
            if depends_on:
                set_version_dependencies(version.pk, list(depends_on))
        self.written.add(component.id)
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
        """Store an outline container (course, chapter, sequential, vertical) with its settings; return its id."""
        settings = (fields, extra_attributes or {})
        return self.write_entity_list(
            CONTAINER_CLASSES[olx_tag], _outline_code(olx_tag, block_id), title, children, settings,
            label=(olx_tag, block_id),
        )

    def write_entity_list(
        self,
        container_cls: type[Container],
        code: str,
        title: str,
        children: Sequence[int],
        settings: tuple[dict, dict] | None = None,
        *,
        label: tuple[str, str] | None = None,
    ) -> int:
        """
        Store any container of the package: ``children`` (entity ids, in order) and, for outline
        containers, ``settings`` (fields, extra attributes) as its :class:`ContainerSettings`; return
        its entity id. ``label`` (block type, block id) counts it in :attr:`counts` (blocks of the
        outline are counted; a selector's pool is part of its selector, counted once as the proxy).
        """
        entities_by_id = {entity.id: entity for entity in PublishableEntity.objects.filter(id__in=list(children))}
        entities = [entities_by_id[child] for child in children]
        container = _container_by_code(self.package_id, code)
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
                return _container_unchanged(version, title, children, settings)

            self.written.add(container.id)
            if (draft is not None and same(draft)) or self._keep_draft(container, same) or self._reuse_version(
                container, same
            ):
                if label is not None:
                    self.counts.count(label[0], "unchanged")
                return container.id
            version = content_api.create_next_container_version(
                container.id, title=title, entities=entities, created=utc_now(), created_by=self.created_by
            )
            outcome = "updated"
        if settings is not None:
            ContainerSettings.objects.create(
                container_version_id=version.pk, fields=settings[0], extra_attributes=settings[1]
            )
        self.written.add(container.id)
        if label is not None:
            self.counts.count(label[0], outcome, label[1])
        return container.id

    def place_in_draft_container(self, olx_tag: str, block_id: str, child_entity_id: int, index: int | None) -> bool:
        """
        Make the draft of container ``olx_tag``/``block_id`` list ``child_entity_id`` at ``index``.

        What importing an export's ``drafts/`` needs: a draft Unit names its parent and its position
        there, and when the parent does not list it yet, the parent's next draft does (the published
        parent is untouched). A child already listed stays where it is; a new one goes at ``index``
        (clamped to the list, or at the end when None). Returns False when the container has no draft.
        """
        parent = draft_container(self.package_id, olx_tag, block_id)
        if parent is None:
            return False
        self.written.add(parent.entity_id)
        if child_entity_id in parent.children:
            return True
        children = list(parent.children)
        position = len(children) if index is None else max(0, min(index, len(children)))
        children.insert(position, child_entity_id)
        self.write_container(olx_tag, block_id, parent.title, children, parent.fields, parent.extra_attributes)
        return True

    def _keep_draft(self, content_object, same) -> bool:
        """
        With ``keep_drafts``: when the published version of ``content_object`` is what is being written
        and its draft is another version, leave the draft and record it in :attr:`kept_drafts`.
        """
        published = content_object.versioning.published
        if not self.keep_drafts or published is None or not same(published):
            return False
        self.kept_drafts[content_object.id] = published.pk
        return True

    def _reuse_version(self, content_object, same) -> bool:
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


def _container_unchanged(version, title: str, children: Sequence[int], settings: tuple[dict, dict] | None) -> bool:
    if version.title != title or _entity_ids(version) != list(children):
        return False
    if settings is None:
        return True
    stored = _settings_of(version)
    return stored is not None and (stored.fields, stored.extra_attributes) == settings


def _dependencies_of(version_id: int) -> list[int]:
    """The entities a version depends on, by id."""
    rows = PublishableEntityVersionDependency.objects.filter(referring_version_id=version_id)
    return sorted(rows.values_list("referenced_entity_id", flat=True))


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
    """
    Make ``olx`` the next draft of an existing component, if it differs; return whether it did.

    The new version keeps the draft's children and what it depends on (a selector's proxy keeps
    depending on its pool), declared in the same draft change.
    """
    component = content_api.get_component_by_code(
        package_id, XBLOCK_NAMESPACE, block_type, code_from_block_id(block_id)
    )
    draft = component.versioning.draft
    media = olx_media(package_id, block_type, olx)
    children = _child_ids(draft)  # a block's own save never changes its children
    if _component_unchanged(draft, title, media, children):
        return False
    depends_on = _dependencies_of(draft.pk) if draft is not None else []
    with bulk_changes(package_id, changed_by=created_by):
        version = content_api.create_next_component_version(
            component.id, media_to_replace={OLX_PATH: media}, created=utc_now(), title=title, created_by=created_by
        )
        if depends_on:
            set_version_dependencies(version.pk, depends_on)
    _record_children(version.pk, children)
    return True


def update_container(
    package_id: int, olx_tag: str, block_id: str, title: str, fields: dict, *, created_by: int | None = None
) -> bool:
    """Give an existing container new settings (same children) as its next draft, if they differ."""
    container = content_api.get_container_by_code(package_id, _outline_code(olx_tag, block_id))
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


def pending_drafts(package_id: int):
    """The package's drafts that differ from what is published (a query, not yet run)."""
    return Draft.objects.with_unpublished_changes().filter(entity__learning_package_id=package_id)


def publish_course(package_id: int, *, published_by: int | None = None, message: str = "") -> PublishSummary:
    """Publish every draft change in the package; a package with nothing to publish writes nothing."""
    with transaction.atomic():
        pending = pending_drafts(package_id).count()
        if not pending:
            return PublishSummary(None, 0)
        log = publish_drafts(package_id, pending_drafts(package_id), message=message, published_by=published_by)
    return PublishSummary(log.id, log.records.count())
