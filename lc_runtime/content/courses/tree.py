"""
Loading the whole tree of a course run — outline, containers, components and their OLX — at once.

openedx-core's per-container functions cost about three queries per leaf. A course tree is loaded
here level by level instead: one query for the run (with its root and snapshot marker), one per
outline level, one for container settings, one for component OLX, one for selector pools and one for
leaf children, whatever the course's size. The result is an immutable :class:`CourseTree`, cached
by the id of the snapshot it was read from (the package's last PublishLog, or last DraftChangeLog in
draft mode), so a warm request reads one row.

One snapshot per tree: the loader's queries are separate statements, and under READ COMMITTED (or
outside a transaction) each one sees every publish committed before it started, so a publish that
commits between two levels would give a tree mixing two publishes. The entity pointers
(``Published``/``Draft`` rows) are the only mutable rows the loader reads (versions, entity lists,
settings and OLX never change), so each pointer is read with the log that set it: a pointer set by a
log newer than the snapshot read by the first query means the tree moved under us, and the tree is
read again as of that snapshot from the immutable log records (the way a pinned run is read). Either
way the tree is exactly the snapshot it is cached under.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist
from django.db import connections, router
from django.db.models import OuterRef, Subquery
from opaque_keys.edx.keys import CourseKey
from openedx_content.models_api import (
    ComponentVersionMedia,
    DraftChangeLog,
    EntityListRow,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
    PublishLog,
)

from lc_runtime.content.courses.models import BlockChild, ContainerSettings, CourseRun
from lc_runtime.content.courses.pins import draft_versions_as_of, published_versions_as_of
from lc_runtime.content.courses.records import MODES, BlockRecord, BlockRef, CourseTree, Mode
from lc_runtime.content.courses.snapshots import cached_tree, keep_tree
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, block_id_from_code, parse_container_code, to_course_key

OLX_PATH = "block.xml"


class CourseNotFound(LookupError):
    """No course run has this key."""


class CourseNotPublished(LookupError):
    """The course run exists but has never been published, so learners have nothing to see."""


def check_mode(mode: str) -> Mode:
    """``mode`` if it is one of :data:`MODES`, else ValueError."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'published' or 'draft', not {mode!r}")
    return mode  # type: ignore[return-value]


def _branch(mode: Mode) -> str:
    return "published" if mode == "published" else "draft"


# While the tree of a pinned run is built: the versions published as of its pin, {entity id: version}.
# Every place the loader picks an entity's version asks _branch_version, so this is the one switch
# from "published now" to "published then" (rows of pinned entity lists carry their own version).
_pinned_versions: ContextVar[dict[int, PublishableEntityVersion] | None] = ContextVar(
    "lc_runtime_pinned_versions", default=None
)


# The log field of each branch's pointer row, and the field of that log record naming its log.
_LOG_RECORD = {"published": "publish_log_record", "draft": "draft_log_record"}
_LOG_OF_RECORD = {"published": "publish_log_id", "draft": "draft_change_log_id"}
# When each mode's log was written.
_LOG_TIME = {"published": "published_at", "draft": "changed_at"}

# While an unpinned tree is built: the id of the log (PublishLog or DraftChangeLog) the snapshot was
# read at. A pointer set by a later log raises _SnapshotMoved.
_snapshot_log_id: ContextVar[int | None] = ContextVar("lc_runtime_snapshot_log_id", default=None)


class _SnapshotMoved(Exception):
    """A publish (or draft change) committed while the tree was read: read it again as of the snapshot."""


def _pointer_related(prefix: str, branch: str) -> list[str]:
    """``select_related`` paths for an entity's pointer row in ``branch`` with the log record that set it."""
    return [f"{prefix}__{branch}__{_LOG_RECORD[branch]}"]


def _branch_version(entity, branch: str) -> PublishableEntityVersion | None:
    pinned = _pinned_versions.get()
    if pinned is not None:
        return pinned.get(entity.id)
    try:
        pointer = getattr(entity, branch)
    except ObjectDoesNotExist:
        return None
    snapshot_log_id = _snapshot_log_id.get()
    record = getattr(pointer, _LOG_RECORD[branch])  # loaded by _pointer_related: no query
    # (A Draft row may have no record: rows older than openedx-core's draft log, never newer ones.)
    if snapshot_log_id is not None and record is not None and getattr(record, _LOG_OF_RECORD[branch]) > snapshot_log_id:
        raise _SnapshotMoved
    return pointer.version


def subtree_differs(draft: CourseTree, published: CourseTree, ref: BlockRef) -> bool:
    """
    True if the block ``ref`` of the draft tree, or anything below it, is new, changed or differently
    arranged compared with the published tree: what makes a Unit a draft in an export's ``drafts/``,
    and in an import's report of them.
    """
    for record in draft.descendants(ref):
        counterpart = published.blocks.get(record.ref)
        if counterpart is None or counterpart.version_id != record.version_id:
            return True
        if counterpart.pool_version_id != record.pool_version_id:
            return True
    return False


def load_course_tree(course_key: CourseKey, *, mode: Mode) -> CourseTree:
    """
    Return the tree of ``course_key`` in ``mode`` (``published`` for learners, ``draft`` for authors).

    Costs one query when the snapshot is cached and a fixed number (nine for a course whose leaves
    have no children of their own and whose selectors hold no Units; one more per level of nesting)
    when it is not. A run pinned to a publish shows, in published mode, the state published as of
    that PublishLog (one query more when not cached; cached by the pin). A publish (or draft change)
    that commits while the tree is read costs one query more and the levels again: the tree is always
    the snapshot it is cached under (ADR 0017).
    The tree carries the run's ``run_settings``. Raises :class:`CourseNotFound` or
    :class:`CourseNotPublished`.
    """
    run = _read_run(str(course_key), mode)
    if run is None:
        raise CourseNotFound(f"No course run {course_key}")
    pin = run.pin if mode == "published" else None
    root_version = run.root_version
    if pin is not None:
        # Published versions never change, so the pin alone names the snapshot.
        snapshot = f"{run.learning_package_id}:pin:{pin.uuid}:{run.root_id}"
    else:
        if root_version is None:
            if mode == "published":
                raise CourseNotPublished(f"{course_key} has not been published")
            raise CourseNotFound(f"{course_key} has no draft outline")
        snapshot = f"{run.learning_package_id}:{run.snapshot}:{root_version.id}"
    cache_key = f"lc_runtime.tree:{mode}:{course_key}:{snapshot}"
    tree = cached_tree(cache_key)
    if tree is None:
        if pin is not None:
            tree = _build_pinned_tree(run, pin, snapshot)
        else:
            tree = _build_snapshot_tree(run, root_version, _branch(mode), mode, snapshot)
        keep_tree(cache_key, tree)
    snapshot_at = pin.published_at if pin is not None else run.snapshot_at
    return replace(tree, run_settings=dict(run.run_settings or {}), snapshot_at=snapshot_at)


@dataclass(frozen=True, slots=True)
class _RootVersion:
    """The course root's version a tree starts from."""

    id: int
    uuid: str
    version_num: int
    title: str
    entity_list_id: int


@dataclass(frozen=True, slots=True)
class _Pin:
    id: int
    uuid: str
    published_at: datetime


@dataclass(frozen=True, slots=True)
class _RunRow:
    """What the one query of every tree load reads: the run, its pin, its root's version, the snapshot."""

    course_key: str
    learning_package_id: int
    root_id: int
    run_settings: dict | None
    pin: _Pin | None
    root_version: _RootVersion | None
    snapshot: str | None
    snapshot_log_id: int | None
    snapshot_at: datetime | None


# Every request reads its run with this one query. Building it with the ORM (annotations, subqueries,
# joins) and compiling it costs more than running it, so it is compiled once per thread, database and
# mode, and run again with the course key as its one changing parameter (Django's own converters read
# the row, as a queryset would).
_KEY_PLACEHOLDER = "\x00lc-runtime-course-key\x00"
_compiled_run_queries = threading.local()


def _run_query(mode: Mode):
    branch = _branch(mode)
    log_model = PublishLog if mode == "published" else DraftChangeLog
    latest_log = log_model.objects.filter(learning_package_id=OuterRef("learning_package_id")).order_by("-id")
    version = f"root__{branch}__version"
    return (
        CourseRun.objects.annotate(
            snapshot=Subquery(latest_log.values("uuid")[:1]),
            snapshot_log_id=Subquery(latest_log.values("id")[:1]),
            snapshot_at=Subquery(latest_log.values(_LOG_TIME[mode])[:1]),
        )
        .filter(course_key=_KEY_PLACEHOLDER)
        .values_list(
            "course_key", "learning_package_id", "root_id", "run_settings",
            "pinned_publish_log_id", "pinned_publish_log__uuid", "pinned_publish_log__published_at",
            f"{version}_id", f"{version}__uuid", f"{version}__version_num", f"{version}__title",
            f"{version}__containerversion__entity_list_id",
            "snapshot", "snapshot_log_id", "snapshot_at",
        )[:1]
    )


def _read_run(course_key: str, mode: Mode) -> _RunRow | None:
    alias = router.db_for_read(CourseRun)
    compiled = getattr(_compiled_run_queries, "by_key", None)
    if compiled is None:
        compiled = _compiled_run_queries.by_key = {}
    entry = compiled.get((alias, mode))
    if entry is None:
        query = _run_query(mode).query
        compiler = query.get_compiler(alias)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
        # The row's columns in SELECT order, as Django's values_list reads them.
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        entry = compiled[(alias, mode)] = (compiler, sql, list(params), params.index(_KEY_PLACEHOLDER), converters,
                                           names)
    compiler, sql, params, key_index, converters, names = entry
    params = list(params)
    params[key_index] = course_key
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        row = next(iter(compiler.apply_converters([row], converters)))
    values = dict(zip(names, row, strict=True))
    version = f"root__{_branch(mode)}__version"
    pin = None
    if values["pinned_publish_log_id"] is not None:
        pin = _Pin(values["pinned_publish_log_id"], values["pinned_publish_log__uuid"],
                   values["pinned_publish_log__published_at"])
    root_version = None
    if values[f"{version}_id"] is not None:
        root_version = _RootVersion(values[f"{version}_id"], str(values[f"{version}__uuid"]),
                                    values[f"{version}__version_num"], values[f"{version}__title"],
                                    values[f"{version}__containerversion__entity_list_id"])
    return _RunRow(values["course_key"], values["learning_package_id"], values["root_id"], values["run_settings"],
                   pin, root_version, values["snapshot"], values["snapshot_log_id"], values["snapshot_at"])


def _build_snapshot_tree(
    run: _RunRow, root_version: _RootVersion, branch: str, mode: Mode, snapshot: str
) -> CourseTree:
    """
    The tree of ``run`` exactly as of the log the first query read (``run.snapshot_log_id``).

    The usual path reads the current pointers level by level (no query more). If a pointer turns out to
    have been set by a later log, a publish committed meanwhile: read the tree again with every entity's
    version as of the snapshot's log (one query more, then the same levels), so that the tree is never a
    mix of two snapshots and is cached under the snapshot it really is.
    """
    token = _snapshot_log_id.set(run.snapshot_log_id)
    try:
        return _build_tree(run, root_version, branch, mode, snapshot)
    except _SnapshotMoved:
        pass
    finally:
        _snapshot_log_id.reset(token)
    as_of = published_versions_as_of if mode == "published" else draft_versions_as_of
    versions = as_of(run.learning_package_id, run.snapshot_log_id)
    token = _pinned_versions.set(versions)
    try:
        return _build_tree(run, root_version, branch, mode, snapshot)
    finally:
        _pinned_versions.reset(token)


def _build_pinned_tree(run: _RunRow, pin: _Pin, snapshot: str) -> CourseTree:
    """The published tree of ``run`` as of the PublishLog ``pin``: one query more than the latest one."""
    versions = published_versions_as_of(run.learning_package_id, pin.id)
    pinned_root = versions.get(run.root_id)
    if pinned_root is None:
        raise CourseNotPublished(f"{run.course_key} had not been published as of its pinned snapshot {pin.uuid}")
    root_version = _RootVersion(pinned_root.id, str(pinned_root.uuid), pinned_root.version_num, pinned_root.title,
                                pinned_root.containerversion.entity_list_id)
    token = _pinned_versions.set(versions)
    try:
        return _build_tree(run, root_version, "published", "published", snapshot)
    finally:
        _pinned_versions.reset(token)


def _record_for_entity(entity, version: PublishableEntityVersion) -> BlockRecord | None:
    """A BlockRecord (without OLX or children yet) for an entity at a version, or None if it is no block."""
    if hasattr(version, "containerversion"):
        tag, block_id = parse_container_code(entity.container.container_code)
        return BlockRecord(
            tag, block_id, entity.id, version.id, str(version.uuid), version.version_num, version.title, True
        )
    if hasattr(version, "componentversion"):
        component = entity.component
        return BlockRecord(
            component.component_type.name,
            block_id_from_code(component.component_code),
            entity.id,
            version.id,
            str(version.uuid),
            version.version_num,
            version.title,
            False,
        )
    return None


def _build_tree(run: _RunRow, root_version: _RootVersion, branch: str, mode: Mode, snapshot: str) -> CourseTree:
    # Every run's root is block-v1:...+type@course+block@course, as in edx-platform.
    root = BlockRecord("course", COURSE_ROOT_BLOCK_ID, run.root_id, root_version.id, root_version.uuid,
                       root_version.version_num, root_version.title, True)
    blocks: dict[BlockRef, BlockRecord] = {root.ref: root}
    containers: dict[int, BlockRecord] = {root_version.id: root}

    # Containers level by level; then their components' OLX, leaf children and selector pools; the
    # pools hold Units and Components again, so walk on until nothing new is found.
    frontier: dict[int, list[BlockRecord]] = {root_version.entity_list_id: [root]}
    while frontier:
        pending = _walk_containers(frontier, blocks, containers, branch)
        frontier = defaultdict(list)
        while pending:
            _attach_olx(pending)
            for entity_list_id, proxies in _attach_selector_pools(pending, branch).items():
                frontier[entity_list_id].extend(proxies)
            pending = _attach_leaf_children(pending, blocks, branch)

    for settings in ContainerSettings.objects.filter(container_version_id__in=list(containers)):
        record = containers[settings.container_version_id]
        record.fields = settings.fields
        record.extra_attributes = settings.extra_attributes

    refs_by_entity = {record.entity_id: ref for ref, record in blocks.items()}
    return CourseTree(
        to_course_key(run.course_key), run.learning_package_id, mode, snapshot, root.ref, blocks, refs_by_entity
    )


def _walk_containers(
    frontier: dict[int, list[BlockRecord]],
    blocks: dict[BlockRef, BlockRecord],
    containers: dict[int, BlockRecord],
    branch: str,
) -> dict[int, BlockRecord]:
    """Read the entity lists in ``frontier`` and every container below them; return the components found."""
    components: dict[int, BlockRecord] = {}
    while frontier:
        rows = (
            EntityListRow.objects.filter(entity_list_id__in=list(frontier))
            .select_related(
                "entity_version__containerversion",
                "entity_version__componentversion",
                f"entity__{branch}__version__containerversion",
                f"entity__{branch}__version__componentversion",
                *_pointer_related("entity", branch),
                "entity__container",
                "entity__component__component_type",
            )
            .order_by("entity_list_id", "order_num")
        )
        next_frontier: dict[int, list[BlockRecord]] = defaultdict(list)
        for row in rows:
            version = row.entity_version or _branch_version(row.entity, branch)
            if version is None:  # deleted, or never published
                continue
            record = _record_for_entity(row.entity, version)
            if record is None:
                continue
            for parent in frontier[row.entity_list_id]:
                parent.children.append(record.ref)
            if record.ref in blocks:  # shared by two parents: the first one is its parent
                continue
            record.parent = frontier[row.entity_list_id][0].ref
            blocks[record.ref] = record
            if record.is_container:
                containers[version.id] = record
                next_frontier[version.containerversion.entity_list_id].append(record)
            else:
                components[version.id] = record
        frontier = next_frontier
    return components


def _attach_selector_pools(components: dict[int, BlockRecord], branch: str) -> dict[int, list[BlockRecord]]:
    """
    Mark the selector proxies among ``components``; return their pools' entity lists to walk.

    A proxy is a component whose version depends on a container (its pool): no other component does.
    """
    dependencies = (
        PublishableEntityVersionDependency.objects.filter(
            referring_version_id__in=list(components), referenced_entity__container__isnull=False
        )
        .select_related(
            f"referenced_entity__{branch}__version__containerversion", *_pointer_related("referenced_entity", branch)
        )
    )
    pools: dict[int, list[BlockRecord]] = defaultdict(list)
    for dependency in dependencies:
        pool_version = _branch_version(dependency.referenced_entity, branch)
        if pool_version is None:
            continue
        proxy = components[dependency.referring_version_id]
        proxy.pool_entity_id = dependency.referenced_entity_id
        proxy.pool_version_id = pool_version.id
        pools[pool_version.containerversion.entity_list_id].append(proxy)
    return pools


def _attach_olx(components: dict[int, BlockRecord]) -> None:
    media_rows = ComponentVersionMedia.objects.filter(
        component_version_id__in=list(components), path=OLX_PATH
    ).select_related("media")
    for row in media_rows:
        components[row.component_version_id].olx = row.media.text


def _attach_leaf_children(
    parents: dict[int, BlockRecord], blocks: dict[BlockRef, BlockRecord], branch: str
) -> dict[int, BlockRecord]:
    """Attach the children of leaf XBlocks that have some; return the newly found components."""
    links = (
        BlockChild.objects.filter(parent_version_id__in=list(parents))
        .select_related(
            f"child__{branch}__version__componentversion",
            *_pointer_related("child", branch),
            "child__component__component_type",
        )
        .order_by("parent_version_id", "order_num")
    )
    found: dict[int, BlockRecord] = {}
    for link in links:
        version = _branch_version(link.child, branch)
        if version is None or not hasattr(version, "componentversion"):
            continue
        record = _record_for_entity(link.child, version)
        parent = parents[link.parent_version_id]
        parent.children.append(record.ref)
        if record.ref in blocks:
            continue
        record.parent = parent.ref
        blocks[record.ref] = record
        found[version.id] = record
    return found
