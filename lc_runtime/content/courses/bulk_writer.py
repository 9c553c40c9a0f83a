"""
Writing a whole course in bulk: what :class:`CourseWriter` decides block by block, written table by table.

An import writes hundreds of blocks; through openedx-core's per-entity API each costs some fifty
queries (lookups, validation, savepoints, a change record, its side effects), most of an import's
time. :class:`BulkCourseWriter` takes the same calls, decides each block's outcome exactly as
:class:`CourseWriter` does (created, updated, unchanged, draft kept, existing version reused) against
the package's state read once, and hands back *provisional* entity ids for new blocks (negative
numbers) so that parents can list them. :meth:`BulkCourseWriter.flush` then writes every row in a
fixed number of bulk inserts per table — the rows openedx-core's API writes, in one draft change log
of their own — and records side effects and sends the draft-change event as openedx-core would
(:mod:`lc_runtime.content.courses.change_logs`). ADR 0020.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Model, OuterRef, Subquery
from openedx_content import api as content_api
from openedx_content.applets.publishing.models import PublishableContentModelRegistry
from openedx_content.models_api import (
    Component,
    ComponentVersion,
    ComponentVersionMedia,
    Container,
    ContainerVersion,
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    EntityList,
    EntityListRow,
    Media,
    MediaType,
    PublishableEntity,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
)
from openedx_django_lib.fields import create_hash_digest

from lc_runtime.content.courses.change_logs import announce_change_log, record_side_effects
from lc_runtime.content.courses.models import BlockChild, ContainerSettings
from lc_runtime.content.courses.tree import OLX_PATH
from lc_runtime.content.courses.writer import XBLOCK_NAMESPACE, CourseWriter, utc_now
from lc_runtime.keys import code_from_block_id

__all__ = ["BulkCourseWriter"]

_OLX_MEDIA_SUBTYPE = "vnd.openedx.xblock.v1."
"""The media (sub)type of a block's OLX is this and its block type: ``application/vnd.openedx.xblock.v1.html+xml``."""
_CHUNK = 500
"""Ids per ``IN (...)`` list: under every backend's limit of query parameters."""


@dataclass
class _Version:
    """What the writer compares of an existing version."""

    title: str
    version_num: int
    olx: tuple[int, str] | None = None  # (media type id, hash digest) of block.xml
    children: list[int] = field(default_factory=list)
    dependencies: list[int] = field(default_factory=list)
    settings: tuple[dict, dict] | None = None


@dataclass
class _Entity:
    """An existing entity of the package: its draft, published and latest versions (ids)."""

    id: int
    draft: int | None
    published: int | None
    latest: int | None


@dataclass
class _NewVersion:
    """A version to write: of a new entity (negative id) or the next of an existing one."""

    entity: int
    title: str
    container_cls: type[Container] | None = None
    olx: tuple[int, str, str] | None = None  # (media type id, hash digest, text)
    children: list[int] = field(default_factory=list)
    dependencies: list[int] = field(default_factory=list)
    settings: tuple[dict, dict] | None = None
    id: int | None = None


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def _in_chunks(query: Callable[[list[int]], Iterable], ids: Iterable[int]) -> list:
    rows: list = []
    for chunk in _chunks(ids):
        rows.extend(query(chunk))
    return rows


def _insert_rows(model: type[Model], rows: Sequence[Model]) -> None:
    """Insert ``rows`` (without their auto ids) with one statement, as the model's fields prepare them."""
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [
        tuple(f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields) for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})", values)


def _insert_pointers(model: type[Model], ids: Sequence[int]) -> None:
    """Rows of a multi-table subclass whose only column is the pointer to its parent (Unit -> Container)."""
    (column,) = [f.column for f in model._meta.local_concrete_fields]
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({connection.ops.quote_name(column)}) VALUES (%s)",
                           [(i,) for i in ids])


class BulkCourseWriter(CourseWriter):
    """
    A :class:`CourseWriter` whose writes land at :meth:`flush`, in bulk.

    ``write_component``, ``write_container`` and ``write_entity_list`` return the entity id of an
    existing block, or a provisional (negative) id for a new one, which later writes may list as a
    child or a dependency; :meth:`flush` writes everything and replaces the provisional ids in
    :attr:`written` and :attr:`kept_drafts`; :meth:`entity_id` gives the real id of any returned one.
    Call :meth:`flush` inside the transaction of the import and before anything reads what was written.
    """

    def __init__(self, package_id: int, *, created_by: int | None = None, keep_drafts: bool = False) -> None:
        super().__init__(package_id, created_by=created_by, keep_drafts=keep_drafts)
        self._loaded = False
        self._components: dict[tuple[str, str], int] = {}
        self._containers: dict[str, int] = {}
        self._entities: dict[int, _Entity] = {}
        self._versions: dict[int, _Version] = {}
        self._new_entities: list[tuple[int, str, object, str, type[Container] | None]] = []
        self._new_versions: list[_NewVersion] = []
        self._draft_moves: dict[int, int] = {}  # existing entity -> existing version its draft goes back to
        self._planned: set[int] = set()
        self._media_types: dict[str, int] = {}
        self._real_ids: dict[int, int] = {}

    def changes(self):
        """No change log is opened around writes: :meth:`flush` writes its own."""
        return nullcontext()

    # ---- what the package holds

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        package = self.package_id
        for entity_id, namespace, type_name, code in Component.objects.filter(learning_package_id=package).values_list(
            "pk", "component_type__namespace", "component_type__name", "component_code"
        ):
            if namespace == XBLOCK_NAMESPACE:
                self._components[(type_name, code)] = entity_id
        self._media_types = {
            sub_type.removeprefix(_OLX_MEDIA_SUBTYPE): pk
            for pk, sub_type in MediaType.objects.filter(
                type="application", sub_type__startswith=_OLX_MEDIA_SUBTYPE, suffix="xml"
            ).values_list("pk", "sub_type")
        }
        self._containers = dict(
            Container.objects.filter(learning_package_id=package).values_list("container_code", "pk")
        )
        latest = PublishableEntityVersion.objects.filter(entity_id=OuterRef("pk")).order_by("-version_num")
        for entity_id, draft, published, last in PublishableEntity.objects.filter(
            learning_package_id=package
        ).annotate(latest_id=Subquery(latest.values("pk")[:1])).values_list(
            "pk", "draft__version_id", "published__version_id", "latest_id"
        ):
            self._entities[entity_id] = _Entity(entity_id, draft, published, last)
        self._load_versions({v for e in self._entities.values() for v in (e.draft, e.published, e.latest) if v})

    def _load_versions(self, ids: set[int]) -> None:
        versions = self._versions
        for pk, title, number in _in_chunks(
            lambda chunk: PublishableEntityVersion.objects.filter(pk__in=chunk).values_list(
                "pk", "title", "version_num"), ids,
        ):
            versions[pk] = _Version(title, number)
        for version_id, media_type, digest in _in_chunks(
            lambda chunk: ComponentVersionMedia.objects.filter(component_version_id__in=chunk, path=OLX_PATH)
            .values_list("component_version_id", "media__media_type_id", "media__hash_digest"), ids,
        ):
            versions[version_id].olx = (media_type, digest)
        for version_id, child in _in_chunks(
            lambda chunk: BlockChild.objects.filter(parent_version_id__in=chunk)
            .order_by("parent_version_id", "order_num").values_list("parent_version_id", "child_id"), ids,
        ):
            versions[version_id].children.append(child)
        for version_id, child in _in_chunks(
            lambda chunk: EntityListRow.objects.filter(entity_list__container_versions__in=chunk)
            .order_by("entity_list__container_versions", "order_num")
            .values_list("entity_list__container_versions", "entity_id"), ids,
        ):
            versions[version_id].children.append(child)
        for version_id, dependency in _in_chunks(
            lambda chunk: PublishableEntityVersionDependency.objects.filter(referring_version_id__in=chunk)
            .values_list("referring_version_id", "referenced_entity_id"), ids,
        ):
            versions[version_id].dependencies.append(dependency)
        for version_id, fields, extra in _in_chunks(
            lambda chunk: ContainerSettings.objects.filter(container_version_id__in=chunk)
            .values_list("container_version_id", "fields", "extra_attributes"), ids,
        ):
            versions[version_id].settings = (fields, extra)

    def _media_type(self, block_type: str) -> int:
        if block_type not in self._media_types:
            self._media_types[block_type] = content_api.get_or_create_media_type(
                f"application/{_OLX_MEDIA_SUBTYPE}{block_type}+xml"
            ).id
        return self._media_types[block_type]

    # ---- deciding, block by block

    def _provisional(self, ref: str, kind: object, code: str, container_cls: type[Container] | None) -> int:
        entity_id = -(len(self._new_entities) + 1)
        self._new_entities.append((entity_id, ref, kind, code, container_cls))
        return entity_id

    def _plan(self, entity_id: int) -> None:
        if entity_id in self._planned:
            raise RuntimeError(f"entity {entity_id} written twice by one BulkCourseWriter")
        self._planned.add(entity_id)
        self.written.add(entity_id)

    def _decide(self, entity_id: int, same: Callable[[_Version], bool]) -> str:
        """
        ``unchanged`` (the draft already is it, or the draft is kept, or an existing version is reused)
        or ``updated``, as :meth:`CourseWriter.write_component` decides.
        """
        entity = self._entities[entity_id]
        versions = self._versions

        def matches(version_id: int | None) -> bool:
            return version_id is not None and same(versions[version_id])

        if matches(entity.draft):
            return "unchanged"
        if self.keep_drafts and matches(entity.published):
            self.kept_drafts[entity_id] = entity.published
            return "unchanged"
        for candidate in (entity.published, entity.latest):
            if candidate is not None and candidate != entity.draft and matches(candidate):
                self._draft_moves[entity_id] = candidate
                return "unchanged"
        return "updated"

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
        """See :meth:`CourseWriter.write_component`; written at :meth:`flush`."""
        self._load()
        code = code_from_block_id(block_id)
        media_type = self._media_type(block_type)
        digest = create_hash_digest(olx.encode("utf-8"))
        entity_id = self._components.get((block_type, code))
        if entity_id is None:
            outcome = "created"
            entity_id = self._provisional(f"{XBLOCK_NAMESPACE}:{block_type}:{code}", block_type, code, None)
        else:
            def same(version: _Version) -> bool:
                return (version.title == title and version.olx == (media_type, digest)
                        and version.children == list(children)
                        and (not depends_on or sorted(version.dependencies) == sorted(depends_on)))

            outcome = self._decide(entity_id, same)
        self._plan(entity_id)
        if outcome != "unchanged":
            self._new_versions.append(_NewVersion(
                entity_id, title, olx=(media_type, digest, olx), children=list(children),
                dependencies=list(depends_on),
            ))
        self.counts.count(block_type, outcome, block_id)
        return entity_id

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
        """See :meth:`CourseWriter.write_entity_list`; written at :meth:`flush`."""
        self._load()
        entity_id = self._containers.get(code)
        if entity_id is None:
            outcome = "created"
            entity_id = self._provisional(code, container_cls.get_container_type(), code, container_cls)
        else:
            def same(version: _Version) -> bool:
                return version.title == title and version.children == list(children) and (
                    settings is None or version.settings == settings
                )

            outcome = self._decide(entity_id, same)
        self._plan(entity_id)
        if outcome != "unchanged":
            self._new_versions.append(_NewVersion(
                entity_id, title, container_cls=container_cls, children=list(children),
                dependencies=list(dict.fromkeys(children)), settings=settings,
            ))
        if label is not None:
            self.counts.count(label[0], outcome, label[1])
        return entity_id

    def place_in_draft_container(self, olx_tag: str, block_id: str, child_entity_id: int, index: int | None) -> bool:
        raise NotImplementedError("BulkCourseWriter writes a course's published blocks; drafts use CourseWriter")

    # ---- writing

    def entity_id(self, entity_id: int) -> int:
        """The real id of an id this writer returned (after :meth:`flush`)."""
        return self._real_ids.get(entity_id, entity_id)

    def flush(self) -> None:
        """Write every planned block, in bulk, as one draft change; nothing to write writes nothing."""
        if not self._new_versions and not self._draft_moves:
            return
        now = utc_now()
        self._create_entities(now)
        real = self.entity_id
        for version in self._new_versions:
            version.entity = real(version.entity)
            version.children = [real(child) for child in version.children]
            version.dependencies = [real(dependency) for dependency in version.dependencies]
        self.written = {real(entity_id) for entity_id in self.written}
        self._create_versions(now)
        self._move_drafts(now)

    def _create_entities(self, now) -> None:
        if not self._new_entities:
            return
        rows = [
            PublishableEntity(learning_package_id=self.package_id, entity_ref=ref, created=now,
                              created_by_id=self.created_by, can_stand_alone=True)
            for _provisional, ref, _kind, _code, _cls in self._new_entities
        ]
        # Not bulk_create: openedx-core's PublishableEntity has a read-only ``pk``, which bulk_create sets.
        _insert_rows(PublishableEntity, rows)
        ids = dict(_in_chunks(
            lambda chunk: PublishableEntity.objects.filter(
                learning_package_id=self.package_id, entity_ref__in=chunk).values_list("entity_ref", "id"),
            [row.entity_ref for row in rows],
        ))
        for row in rows:
            row.id = ids[row.entity_ref]
        components, containers = [], []
        subclass_rows: dict[type[Container], list[int]] = {}
        for (provisional, _ref, kind, code, container_cls), row in zip(self._new_entities, rows, strict=True):
            self._real_ids[provisional] = row.id
            if container_cls is None:
                components.append(Component(
                    publishable_entity_id=row.id, learning_package_id=self.package_id,
                    component_type=self.component_type(kind), component_code=code,
                ))
            else:
                containers.append(Container(
                    publishable_entity_id=row.id, learning_package_id=self.package_id, container_code=code,
                    container_type=kind,
                ))
                subclass_rows.setdefault(container_cls, []).append(row.id)
        Component.objects.bulk_create(components)
        Container.objects.bulk_create(containers)
        for container_cls, ids in subclass_rows.items():
            _insert_pointers(container_cls, ids)

    def _create_versions(self, now) -> None:
        new = self._new_versions
        if not new:
            return
        next_number = {
            entity_id: self._versions[entity.latest].version_num + 1
            for entity_id, entity in self._entities.items() if entity.latest is not None
        }
        rows = [
            PublishableEntityVersion(entity_id=v.entity, version_num=next_number.get(v.entity, 1), title=v.title,
                                     created=now, created_by_id=self.created_by)
            for v in new
        ]
        PublishableEntityVersion.objects.bulk_create(rows)
        if any(row.pk is None for row in rows):
            ids = dict(_in_chunks(
                lambda chunk: PublishableEntityVersion.objects.filter(uuid__in=chunk).values_list("uuid", "pk"),
                [row.uuid for row in rows],
            ))
            for row in rows:
                row.pk = ids[row.uuid]
        for version, row in zip(new, rows, strict=True):
            version.id = row.pk
        components = [v for v in new if v.container_cls is None]
        containers = [v for v in new if v.container_cls is not None]
        ComponentVersion.objects.bulk_create(
            ComponentVersion(publishable_entity_version_id=v.id, component_id=v.entity) for v in components
        )
        self._attach_olx(components, now)
        BlockChild.objects.bulk_create(
            BlockChild(parent_version_id=v.id, order_num=i, child_id=child)
            for v in components for i, child in enumerate(v.children)
        )
        lists = self._create_entity_lists(containers)
        ContainerVersion.objects.bulk_create(
            ContainerVersion(publishable_entity_version_id=v.id, container_id=v.entity, entity_list_id=entity_list)
            for v, entity_list in zip(containers, lists, strict=True)
        )
        by_class: dict[type[Container], list[int]] = {}
        for v in containers:
            by_class.setdefault(v.container_cls, []).append(v.id)
        for container_cls, ids in by_class.items():
            _insert_pointers(PublishableContentModelRegistry.get_versioned_model_cls(container_cls), ids)
        ContainerSettings.objects.bulk_create(
            ContainerSettings(container_version_id=v.id, fields=v.settings[0], extra_attributes=v.settings[1])
            for v in containers if v.settings is not None
        )
        PublishableEntityVersionDependency.objects.bulk_create(
            PublishableEntityVersionDependency(referring_version_id=v.id, referenced_entity_id=dependency)
            for v in new for dependency in set(v.dependencies)
        )

    def _attach_olx(self, components: list[_NewVersion], now) -> None:
        """The block.xml of each new component version: existing text media reused, the rest created in bulk."""
        wanted = {(v.olx[0], v.olx[1]): v.olx[2] for v in components}
        found = {
            (media_type, digest): pk
            for pk, media_type, digest in _in_chunks(
                lambda chunk: Media.objects.filter(learning_package_id=self.package_id, hash_digest__in=chunk)
                .values_list("pk", "media_type_id", "hash_digest"),
                sorted({digest for _type, digest in wanted}),
            )
        }
        missing = []
        text_field = Media._meta.get_field("text")
        for (media_type, digest), text in wanted.items():
            if (media_type, digest) in found:
                continue
            data = text.encode("utf-8")
            media = Media(learning_package_id=self.package_id, media_type_id=media_type, hash_digest=digest,
                          created=now, size=len(data), text=text, has_file=False)
            text_field.run_validators(text)  # what full_clean would refuse of values built here: too long
            missing.append(media)
        Media.objects.bulk_create(missing)
        if any(media.pk is None for media in missing):
            found.update(
                ((media_type, digest), pk)
                for pk, media_type, digest in _in_chunks(
                    lambda chunk: Media.objects.filter(learning_package_id=self.package_id, hash_digest__in=chunk)
                    .values_list("pk", "media_type_id", "hash_digest"),
                    [media.hash_digest for media in missing],
                )
            )
        else:
            found.update(((media.media_type_id, media.hash_digest), media.pk) for media in missing)
        ComponentVersionMedia.objects.bulk_create(
            ComponentVersionMedia(component_version_id=v.id, media_id=found[(v.olx[0], v.olx[1])], path=OLX_PATH)
            for v in components
        )

    def _create_entity_lists(self, containers: list[_NewVersion]) -> list[int]:
        if connection.features.can_return_rows_from_bulk_insert:
            lists = EntityList.objects.bulk_create(EntityList() for _ in containers)
        else:  # EntityList has no key but its id: without RETURNING, one insert each
            lists = [EntityList.objects.create() for _ in containers]
        EntityListRow.objects.bulk_create(
            EntityListRow(entity_list_id=entity_list.pk, entity_id=child, order_num=i, entity_version_id=None)
            for v, entity_list in zip(containers, lists, strict=True) for i, child in enumerate(v.children)
        )
        return [entity_list.pk for entity_list in lists]

    def _move_drafts(self, now) -> None:
        """Point the drafts at their new (or reused) versions, as one DraftChangeLog with its side effects."""
        targets = {v.entity: v.id for v in self._new_versions}
        targets.update(self._draft_moves)
        log = DraftChangeLog.objects.create(
            learning_package_id=self.package_id, changed_at=now, changed_by_id=self.created_by
        )
        old = {entity_id: entity.draft for entity_id, entity in self._entities.items()}
        DraftChangeLogRecord.objects.bulk_create(
            DraftChangeLogRecord(draft_change_log=log, entity_id=entity_id, old_version_id=old.get(entity_id),
                                 new_version_id=version_id)
            for entity_id, version_id in targets.items()
        )
        records = dict(DraftChangeLogRecord.objects.filter(draft_change_log=log).values_list("entity_id", "pk"))
        Draft.objects.bulk_create(
            [Draft(entity_id=entity_id, version_id=version_id, draft_log_record_id=records[entity_id])
             for entity_id, version_id in targets.items()],
            update_conflicts=True,
            update_fields=["version", "draft_log_record"],
            unique_fields=["entity"] if connection.features.supports_update_conflicts_with_target else None,
        )
        record_side_effects(log)
        announce_change_log(log, timestamp=now, user_id=self.created_by)
