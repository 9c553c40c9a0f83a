"""
The public Python API of lc-runtime: what edx-platform (and anyone else) calls.

Every ``course_key`` argument takes a string or a ``CourseKey``.

>>> from lc_runtime import api
>>> result = api.import_olx("examples/demo-course")            # import and publish
>>> with api.unit_of_work():                                   # one transaction per request
...     runtime = api.get_runtime(user, course_key=result.course_key)
...     unit = runtime.get_block("block-v1:LcX+Demo+2026+type@vertical+block@welcome-unit")
...     html = runtime.render(unit, "student_view").content
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from opaque_keys.edx.keys import CourseKey, UsageKey

from lc_runtime import authoring
from lc_runtime.announcements import (
    announce_following_runs,
    announce_import,
    announce_new_run,
    announce_published,
    catalog_info,
    catalogs_of_following_runs,
    shown_state,
)
from lc_runtime.authoring import (
    StructureError,
    announce_block_updated,
    create_block,
    delete_block,
    discard_changes,
    duplicate_block,
    has_unpublished_changes,
    move_block,
    orphans_of,
    reorder_children,
)
from lc_runtime.conf import get_setting
from lc_runtime.content.assets import api as asset_store
from lc_runtime.content.assets.api import AssetError, AssetTooLarge, InvalidAssetPath, InvalidContentType, StoredAsset
from lc_runtime.content.courses.api import (
    CURRENT_SNAPSHOT,
    CourseNotFound,
    CourseNotPublished,
    CourseRunError,
    CourseRunExists,
    CourseRunInfo,
    InvalidRunSettings,
    Mode,
    PublishedSnapshot,
    PublishSummary,
    SnapshotNotFound,
    check_mode,
    list_runs,
    list_snapshots,
    load_course_tree,
    package_for_run,
    publish_course,
    write_transaction,
)
from lc_runtime.content.courses.api import create_run as _create_run
from lc_runtime.content.courses.api import pin_run as _pin_run
from lc_runtime.content.courses.api import unpin_run as _unpin_run
from lc_runtime.content.courses.api import update_run_settings as _update_run_settings
from lc_runtime.content.dates import api as date_store
from lc_runtime.content.learners.api import (
    SELECTED_STATE_TYPES,
    CutoverError,
    CutoverPlan,
    CutoverResult,
    CutoverSelector,
    DatabaseSource,
    JsonLinesSource,
    StudentModuleStateStore,
    cutover_learner_data,
    get_learner_state_store,
    get_preview_state_store,
    learners_by_partition,
    learners_by_partition_group,
    remove_partition_group,
    set_partition_group,
    variants_of_selector,
)
from lc_runtime.content.roles import api as role_store
from lc_runtime.content.roles.api import (
    AUTHOR_ROLES,
    COURSE_ROLES,
    STAFF_ROLES,
    UnknownRole,
    course_roles,
    has_author_access,
    has_staff_access,
)
from lc_runtime.fielddata.unit_of_work import unit_of_work
from lc_runtime.keys import InvalidKey, to_course_key, to_usage_key, usage_key_for
from lc_runtime.olx.exporter import ExportError, ExportResult, export_course
from lc_runtime.olx.importer import ImportProblem, ImportResult, StrictImportError, import_course
from lc_runtime.olx.parsing import OlxError
from lc_runtime.olx.sources import OlxSource
from lc_runtime.outlines.api import (
    BrokenOutlineProcessors,
    CourseOutlineData,
    UserCourseOutline,
    block_dates,
    user_course_outline,
)
from lc_runtime.runtime.date_extraction import content_dates_of
from lc_runtime.runtime.events import XBlockEvent, xblock_event
from lc_runtime.runtime.learning_core_runtime import BlockNotAccessible, LearningCoreRuntime, NotASelector
from lc_runtime.runtime.static_urls import asset_url as static_asset_url
from lc_runtime.selectors.block import selector_block_classes
from lc_runtime.summaries import CourseSummary, course_summary

__all__ = [
    "AUTHOR_ROLES",
    "COURSE_ROLES",
    "STAFF_ROLES",
    "AssetError",
    "AssetTooLarge",
    "BlockNotAccessible",
    "BrokenOutlineProcessors",
    "CourseNotFound",
    "CourseNotPublished",
    "CourseOutlineData",
    "CourseRunError",
    "CourseRunExists",
    "CourseRunInfo",
    "CourseSummary",
    "CutoverError",
    "CutoverResult",
    "ExportError",
    "ExportResult",
    "ImportProblem",
    "ImportResult",
    "InvalidAssetPath",
    "InvalidContentType",
    "InvalidKey",
    "InvalidRunSettings",
    "LearningCoreRuntime",
    "NotASelector",
    "OlxError",
    "PublishSummary",
    "PublishedSnapshot",
    "SelectorVariant",
    "SnapshotNotFound",
    "StoredAsset",
    "StrictImportError",
    "StructureError",
    "UnknownGroup",
    "UnknownRole",
    "UserCourseOutline",
    "VariantLearners",
    "ViewAsGroup",
    "XBlockEvent",
    "announce_block_updated",
    "asset_url",
    "assign_group",
    "course_roles",
    "create_block",
    "create_run",
    "cutover_learner_state",
    "delete_asset",
    "delete_block",
    "discard_changes",
    "duplicate_block",
    "export_olx",
    "find_asset",
    "get_course_outline_data",
    "get_course_summary",
    "get_runtime",
    "get_user_outline",
    "get_variant",
    "grant_role",
    "has_author_access",
    "has_staff_access",
    "has_unpublished_changes",
    "import_olx",
    "learners_by_variant",
    "list_assets",
    "list_groups",
    "list_roles",
    "list_runs",
    "list_snapshots",
    "move_block",
    "orphans_of",
    "outline_for_runtime",
    "pin_run",
    "publish",
    "publish_block",
    "remove_group",
    "reorder_children",
    "revoke_role",
    "run_exists",
    "save_asset",
    "unit_of_work",
    "unpin_run",
    "update_run_settings",
    "write_course_dates",
    "xblock_event",
]


def import_olx(
    source: OlxSource,
    *,
    course_key: str | CourseKey | None = None,
    publish: bool = True,
    strict: bool = False,
    created_by: int | None = None,
    progress=None,
) -> ImportResult:
    """
    Import a course export and (by default) publish it.

    ``source`` is the folder holding ``course.xml``, a parent folder holding ``course/`` (as Studio's
    export unpacks), a ``.tar.gz``, a ``.zip``, or an ``fs`` filesystem. ``course_key`` defaults to
    the run ``course.xml`` names. Importing again updates only what changed. The import is one
    transaction: on error nothing is written. Blocks that cannot be read are kept as error
    placeholders (they render a notice, and export writes them back as they were) and reported in
    ``result.problems`` with file, line and block; with ``strict=True`` any problem refuses the import.
    Warnings (unknown attributes, block types no installed XBlock reads) are in ``result.warnings``.
    The export's ``drafts/`` are imported after the publish, as draft versions (``result.draft_units``).
    A publish writes the content dates of the runs that follow it to edx-when, in the same transaction.

    >>> result = import_olx("examples/demo-course")
    >>> result.course_key, result.blocks_by_type["problem"], result.problems
    ('course-v1:LcX+Demo+2026', 1, [])
    """
    # The workflow is lc_runtime.olx's; what it needs from the layers above (selector plugins, a runtime
    # to load every block with) is passed in. The dates of what it published are written in its transaction.
    before: dict[CourseKey, Any] = {}
    existing: set[CourseKey] = set()

    def note_the_run(key: CourseKey) -> None:
        before.update(catalogs_of_following_runs(key))
        if package_for_run(str(key)) is not None:
            existing.add(key)

    with write_transaction():
        result = import_course(
            source, course_key=course_key, created_by=created_by, publish=publish, strict=strict, progress=progress,
            selectors=selector_block_classes(), check_loadable=_blocks_that_cannot_load, on_course_key=note_the_run,
        )
        key = to_course_key(result.course_key)
        if result.published is not None and result.published.publish_log_id is not None:
            _write_dates_of_following_runs(key)
            announce_following_runs(key, before)
        if key not in existing:
            announce_new_run(key)
        announce_import(key)
    return result


def _blocks_that_cannot_load(course_key: CourseKey) -> dict[tuple[str, str], str]:
    """The blocks of a course's draft whose XBlock class cannot load their OLX, with the error: a draft runtime's."""
    checker = LearningCoreRuntime(
        None,
        course_key,
        mode="draft",
        tree=load_course_tree(course_key, mode="draft"),
        learner_store=get_preview_state_store(),
    )
    return checker.load_failures()


def export_olx(
    course_key: str | CourseKey, dest, *, mode: Mode = "published", overwrite: bool = False
) -> ExportResult:
    """
    Export a course run as OLX that edx-platform (and :func:`import_olx`) imports: to the folder
    ``dest`` (``course.xml`` at its top), or to ``dest`` ending in ``.tar.gz`` or ``.zip`` (holding ``course/``).

    ``mode="published"`` writes the published course, and its Units with unpublished changes under
    ``drafts/``, as edx-platform exports; ``mode="draft"`` writes the draft course. The export is
    written beside ``dest`` and moved into place when complete. ``dest`` must not exist yet (or be an
    empty folder) unless ``overwrite`` replaces an earlier export. What OLX cannot represent (draft
    changes outside Units, say) is listed in ``result.warnings``.

    >>> import tempfile
    >>> dest = f"{tempfile.mkdtemp()}/demo.tar.gz"
    >>> result = export_olx(import_olx("examples/demo-course").course_key, dest)
    >>> result.block_count, result.warnings, import_olx(dest, course_key="course-v1:LcX+Demo+Copy").problems
    (14, [], [])
    """
    return export_course(course_key, dest, mode=mode, overwrite=overwrite)


def publish(course_key: str | CourseKey, *, published_by: int | None = None) -> PublishSummary:
    """
    Publish every draft change of a course run, so learners see it.

    The summary counts the entities published; with nothing left to publish, nothing is written and
    the summary is ``PublishSummary(publish_log_id=None, entities_published=0)``. The content dates of
    every run that follows the publish (not the pinned ones) are written to edx-when with it.

    >>> result = import_olx("examples/demo-course", publish=False)    # a draft: learners see nothing yet
    >>> publish(result.course_key).entities_published                 # all 14 blocks of the demo course
    14
    >>> publish(result.course_key).entities_published                 # nothing changed since
    0
    """
    key = str(to_course_key(course_key))
    package_id = package_for_run(key)
    if package_id is None:
        raise CourseNotFound(f"No course run {key}")
    with write_transaction():
        before = catalogs_of_following_runs(to_course_key(key))
        summary = publish_course(package_id, published_by=published_by)
        if summary.publish_log_id is not None:
            _write_dates_of_following_runs(key)
            announce_following_runs(to_course_key(key), before)
    return summary


def run_exists(course_key: str | CourseKey) -> bool:
    """Whether a course run of this key exists in Learning Core (published or not). One query."""
    return package_for_run(str(to_course_key(course_key))) is not None


def get_course_summary(course_key: str | CourseKey) -> CourseSummary:
    """
    A course run as edx-platform's CourseOverview knows it (name, number, org, dates, pacing, certificate
    and catalog settings, image URL, language), from what it shows learners. No query when the run's
    tree is loaded; raises :class:`CourseNotFound` or :class:`CourseNotPublished`.
    """
    return course_summary(course_key)


def publish_block(user, usage_key: str | UsageKey, *, with_descendants: bool = True) -> PublishSummary:
    """
    Publish the draft changes of one block and everything below it (a Unit, a Subsection) and its
    ancestors' own versions, nothing else (``with_descendants=False``: the block's own version only); the
    dates of the runs that follow the package are written with it. See :func:`lc_runtime.authoring.publish_block`.
    """
    with write_transaction():
        summary = authoring.publish_block(user, usage_key, with_descendants=with_descendants)
        if summary.publish_log_id is not None:
            _write_dates_of_following_runs(to_usage_key(usage_key).course_key)
    return summary


# ---- course runs: every change of what a run shows (a publish, a pin, its own dates) rewrites its dates in
# edx-when, in the same transaction: learners never see new content with the old dates, or the reverse. A
# failure to write them fails the change (edx-platform logs it and publishes anyway, dates left stale).


def _write_run_dates(course_key: CourseKey) -> int:
    """Write to edx-when the dates of what the run shows (its pin, or the latest publish); 0 if never published."""
    try:
        runtime = get_runtime(None, course_key=course_key)
    except CourseNotPublished:
        return 0
    written = date_store.write_content_dates(
        course_key, content_dates_of(runtime),
        published_version=runtime.dates_version,
    )
    # Built now, once, and put in the shared cache: learners' first requests after the publish find it there.
    runtime.course_outline()
    return written


def _write_dates_of_following_runs(course_key: str | CourseKey) -> None:
    """After a publish of a run's package: the dates of every run that follows it (a pinned run shows its pin)."""
    for run in list_runs(sharing_with=course_key):
        if run.pinned_snapshot is None:
            _write_run_dates(to_course_key(run.course_key))


def write_course_dates(course_key: str | CourseKey) -> int:
    """
    Write the dates a course run's published content sets to edx-when again; return how many it holds.

    Publishing, importing, pinning and a run's own dates do this already; call it for a run published
    before lc-runtime wrote dates. Raises :class:`InvalidKey` or :class:`CourseNotFound`.
    """
    key = to_course_key(course_key)
    if package_for_run(str(key)) is None:
        raise CourseNotFound(f"No course run {key}")
    with write_transaction():
        return _write_run_dates(key)


def create_run(
    from_run_key: str | CourseKey,
    new_run_key: str | CourseKey,
    *,
    run_settings: Mapping[str, object] | None = None,
    pin: str | uuid.UUID | None = None,
) -> CourseRunInfo:
    """
    Create run ``new_run_key`` showing the same LearningPackage as ``from_run_key``; copy no content.

    The new run starts with ``run_settings`` only (the source run's dates are not carried over: a new
    run has its own). ``pin`` is None (follow every publish), ``"current"`` (the package's latest
    publish now) or the uuid of one of the package's publishes. The run's content dates are written to
    edx-when. Raises :class:`InvalidKey`, :class:`CourseNotFound`, :class:`CourseRunExists`,
    :class:`InvalidRunSettings` or :class:`SnapshotNotFound`; then nothing is written.
    """
    with write_transaction():
        info = _create_run(from_run_key, new_run_key, run_settings=run_settings, pin=pin)
        key = to_course_key(info.course_key)
        _write_run_dates(key)
        announce_new_run(key)
        if shown_state(key) is not None:
            announce_published(key, None)
    return info


def _announcing_a_run_change(course_key: str | CourseKey, change):
    """Make ``change`` to one run; announce it if what the run shows moved (its snapshot or its own dates)."""
    key = to_course_key(course_key)
    state, catalog = shown_state(key), catalog_info(key)
    info = change()
    if shown_state(key) != state:
        announce_published(key, catalog)
    return info


def pin_run(course_key: str | CourseKey, snapshot: str | uuid.UUID = CURRENT_SNAPSHOT) -> CourseRunInfo:
    """
    Pin a run to one published snapshot of its package: ``"current"`` (the latest publish) or a uuid.

    From then on its learners see the content, and its dates, as published then; later publishes do not
    reach them. Raises :class:`CourseNotFound` or :class:`SnapshotNotFound`; then nothing is written.
    """
    with write_transaction():
        info = _announcing_a_run_change(course_key, lambda: _pin_run(course_key, snapshot))
        _write_run_dates(to_course_key(info.course_key))
    return info


def unpin_run(course_key: str | CourseKey) -> CourseRunInfo:
    """Let a run follow the package's latest publish again, its dates too. Raises :class:`CourseNotFound`."""
    with write_transaction():
        info = _announcing_a_run_change(course_key, lambda: _unpin_run(course_key))
        _write_run_dates(to_course_key(info.course_key))
    return info


def update_run_settings(course_key: str | CourseKey, changes: Mapping[str, object]) -> CourseRunInfo:
    """
    Change a run's own settings: each name in ``changes`` is set to its date, or removed if None.

    A removed setting falls back to the course root's value; the run's start and end in edx-when follow.
    Raises :class:`CourseNotFound` or :class:`InvalidRunSettings`; then nothing is written.
    """
    with write_transaction():
        info = _announcing_a_run_change(course_key, lambda: _update_run_settings(course_key, changes))
        _write_run_dates(to_course_key(info.course_key))
    return info


@dataclass(frozen=True)
class ViewAsGroup:
    """For ``view_as``: a learner in group ``group_id`` of the partition ``partition_id``, and in no other."""

    partition_id: int
    group_id: int


def get_runtime(
    user, *, course_key: str | CourseKey, mode: Mode = "published", view_as=None
) -> LearningCoreRuntime:
    """
    A runtime for ``user`` in a course run: ``published`` (what learners see, LMS) or ``draft`` (Studio).

    ``user`` is a Django user, an ``AnonymousUser`` or None (a system task, which sees everything).
    Draft runtimes are for the course's authors (or None) only: users whose roles in the run
    (``LC_RUNTIME["ROLES"]``; by default Django staff, and holders of ``staff`` or ``instructor`` in
    lc-runtime's table) pass :func:`has_author_access`; anyone else gets PermissionDenied, as learners
    never see drafts. In a published runtime a learner reaches only what the outline processors leave
    them (``get_block`` raises :class:`BlockNotAccessible` for the rest, ``get_children`` leaves it
    out); course staff (:func:`has_staff_access`) reach everything. ``runtime.course_roles`` and
    ``runtime.user_is_staff`` say what the user is in the run. Loading the tree costs one query when
    cached; the roles one more, asked when first needed (at once for a draft runtime).
    Learner-scoped state goes to ``LC_RUNTIME["LEARNER_STATE_STORE"]``; in a draft runtime, the
    author's preview state goes to ``LC_RUNTIME["PREVIEW_STATE_STORE"]`` instead (by default
    ephemeral, in Django's cache), so it never reaches learners.

    ``view_as`` (course staff only, published mode): a learner (a user or a user id) or a
    :class:`ViewAsGroup`. The runtime then shows what that learner (or a member of that group) gets,
    their state and Variants read, and nothing of theirs written: what blocks write stays in the runtime.

    >>> runtime = get_runtime(request.user, course_key="course-v1:LcX+Demo+2026")
    >>> html = runtime.render(runtime.get_block(unit_key), "student_view").content
    """
    check_mode(mode)
    key = to_course_key(course_key)
    roles = None
    if mode == "draft" and user is not None:
        roles = course_roles(user, key)  # handed to the runtime, which would otherwise ask again
        if not has_author_access(roles):
            raise PermissionDenied(f"Only the course's staff and instructors may use a draft runtime of {key}")
    viewer = None
    overrides = None
    if view_as is not None:
        if mode != "published":
            raise ValueError("view_as is for published runtimes: authors see drafts as themselves")
        if user is None or not has_staff_access(roles := course_roles(user, key)):
            raise PermissionDenied("Only course staff may view a course as someone else")
        roles = None  # the runtime's user is the one viewed, whose roles it asks for itself
        viewer = user
        if isinstance(view_as, ViewAsGroup):
            user, overrides = AnonymousUser(), {view_as.partition_id: view_as.group_id}
        else:
            user = _learner(view_as)
    tree = load_course_tree(key, mode=mode)
    store = get_preview_state_store() if mode == "draft" else get_learner_state_store()
    return LearningCoreRuntime(
        user, key, mode=mode, tree=tree, learner_store=store, course_roles=roles, viewer=viewer,
        partition_overrides=overrides,
    )


def _learner(user_or_id):
    if isinstance(user_or_id, int):
        learner = get_user_model().objects.filter(id=user_or_id).first()
        if learner is None:
            raise LookupError(f"No user with id {user_or_id}")
        return learner
    return user_or_id


# ---- outlines: who may reach what


def get_user_outline(
    course_key: str | CourseKey, user, *, at: datetime | None = None, view_as=None
) -> UserCourseOutline:
    """
    What ``user`` gets of a course run's published outline at ``at`` (default: now).

    Sections, subsections and units, each with its usage key, display name, the learner's own start
    and due (edx-when's dates, personal ones applied), graded and format (subsections), and whether
    it is accessible, or else which processor closed it and why; ``outline.hidden`` says what the
    processors removed, and why. Course staff get everything. ``view_as`` as for :func:`get_runtime`.
    The learner-independent outline is cached per snapshot; a learner's outline costs a fixed number
    of queries whatever the course's size. Choosing the learner's Variants of the course's selectors
    may store them, so call it inside a unit of work (a request is one).

    >>> outline = get_user_outline("course-v1:LcX+Demo+2026", request.user)
    >>> [(s.display_name, s.accessible) for s in outline.sections[0].sequences]
    """
    return outline_for_runtime(get_runtime(user, course_key=course_key, view_as=view_as), at=at)


def outline_for_runtime(runtime: LearningCoreRuntime, *, at: datetime | None = None) -> UserCourseOutline:
    """
    What a published runtime's user (or the learner it views the course as) gets of the outline at
    ``at``: :func:`get_user_outline` for a page that renders with that runtime too. The processors
    decide the outline afresh, from what the runtime has read of the learner (roles, dates, groups,
    Variants), which is not read again: a fixed number of queries, none of those the runtime has
    made. A runtime kept from an earlier request answers with what it read then.
    """
    if runtime.mode != "published":
        raise ValueError("Outlines are of the published course: a draft runtime has none")
    at_time = at or timezone.now()
    outline = runtime.course_outline()
    with unit_of_work():
        decision = runtime.outline_decision(at_time)
        schedule = block_dates(outline, runtime.learner_dates())
    return user_course_outline(
        outline, decision, schedule, user_id=runtime.learner_id, at_time=at_time, is_staff=not runtime.enforces_access
    )


def get_course_outline_data(course_key: str | CourseKey) -> CourseOutlineData:
    """
    The learner-independent outline of a course run's published content, with the field names of
    learning_sequences' ``CourseOutlineData`` (so edx-platform can feed ``replace_course_outline``
    from it), plus every block's access settings in ``blocks``. One query when cached.
    """
    return get_runtime(None, course_key=course_key).course_outline()


# ---- selectors and Variants


@dataclass(frozen=True)
class SelectorVariant:
    """What one learner sees of one selector (see :func:`get_variant`)."""

    usage_key: str
    selector_type: str
    user_id: int | None
    members: list[UsageKey]
    group_id: int | None
    generation: int


@dataclass(frozen=True)
class VariantLearners:
    """One distinct Variant of a selector and the learners who have it (see :func:`learners_by_variant`)."""

    members: list[UsageKey]
    group_id: int | None
    user_ids: list[int]


def _usage_key_in(course_key: CourseKey, usage_key: str | UsageKey) -> UsageKey:
    key = to_usage_key(usage_key)
    if key.course_key != course_key:
        raise InvalidKey(f"{key} is not in {course_key}")
    return key


def get_variant(runtime: LearningCoreRuntime, usage_key: str | UsageKey) -> SelectorVariant:
    """
    The Variant of the selector ``usage_key`` for the runtime's learner, created if it has none yet.

    Call it inside a unit of work (as a request is), so that a new Variant commits with the rest of
    the request. In a draft runtime, or a system one (``user=None``), the answer is the whole pool.
    """
    key = _usage_key_in(runtime.course_key, usage_key)
    stored = runtime.variant_of(key)
    block = runtime.get_block(key)
    members = [child.scope_ids.usage_id for child in block.get_children()]
    return SelectorVariant(
        usage_key=str(key),
        selector_type=block.selector.type_name,
        user_id=runtime.learner_id,
        members=members,
        group_id=stored.group_id if stored else None,
        generation=stored.generation if stored else 0,
    )


def learners_by_variant(course_key: str | CourseKey, usage_key: str | UsageKey) -> list[VariantLearners]:
    """
    Every distinct Variant learners have of one selector in a course run, with their learner ids.

    For analytics and support: which learners saw which content. Reads the published tree (one
    query when cached) and the selector's Variants (one query).
    """
    course = to_course_key(course_key)
    key = _usage_key_in(course, usage_key)
    record = get_runtime(None, course_key=course).selector_record(key)
    grouped: dict[tuple, VariantLearners] = {}
    for stored in variants_of_selector(course, record.pool_entity_id):
        refs = tuple((block_type, block_id) for _entity_id, block_type, block_id in stored.entities)
        entry = grouped.get((refs, stored.group_id))
        if entry is None:
            members = [usage_key_for(course, block_type, block_id) for block_type, block_id in refs]
            entry = grouped[(refs, stored.group_id)] = VariantLearners(members, stored.group_id, [])
        entry.user_ids.append(stored.user_id)
    return sorted(grouped.values(), key=lambda entry: (entry.group_id is None, entry.group_id, -len(entry.user_ids)))


# ---- course roles and partition groups: who is staff in a run, which group a learner is in


class UnknownGroup(ValueError):
    """A group id that the partition, as the course declares it (``user_partitions``), does not have."""


def _existing_run(course_key: str | CourseKey) -> CourseKey:
    """``course_key`` as a key, if the run exists: InvalidKey or CourseNotFound otherwise (one query)."""
    key = to_course_key(course_key)
    if package_for_run(str(key)) is None:
        raise CourseNotFound(f"No course run {key}")
    return key


def _user_id(user) -> int:
    """The id of ``user``: a Django user or a user id (anonymous users hold no role nor group)."""
    user_id = user if isinstance(user, int) else getattr(user, "id", None)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise ValueError(f"{user!r} is neither a user nor a user id")
    return user_id


def grant_role(course_key: str | CourseKey, user, role: str) -> bool:
    """
    Give ``user`` (a Django user or a user id) ``role`` in a course run, in lc-runtime's role table.

    ``role`` is one of :data:`COURSE_ROLES`: ``staff``, ``instructor``, ``limited_staff``,
    ``beta_tester``. Returns False if the user held it already (nothing written). The default
    ``LC_RUNTIME["ROLES"]`` reads this table; a host's own provider may not. Raises
    :class:`InvalidKey`, :class:`CourseNotFound` or :class:`UnknownRole`, writing nothing.

    >>> grant_role("course-v1:LcX+Demo+2026", author, "staff")
    True
    >>> get_runtime(author, course_key="course-v1:LcX+Demo+2026", mode="draft").user_is_staff
    True
    """
    key = _existing_run(course_key)
    return role_store.grant_role(_user_id(user), key, role)


def revoke_role(course_key: str | CourseKey, user, role: str) -> bool:
    """
    Take ``role`` in a course run from ``user`` (a Django user or a user id); False if they did not hold it.

    Django staff stay staff everywhere by the default provider: that is their ``is_staff``, not a row.
    Raises :class:`InvalidKey`, :class:`CourseNotFound` or :class:`UnknownRole`, writing nothing.
    """
    key = _existing_run(course_key)
    return role_store.revoke_role(_user_id(user), key, role)


def list_roles(course_key: str | CourseKey) -> dict[str, list[int]]:
    """
    The roles granted in a course run by lc-runtime's table, each with the ids of its holders, sorted.

    Not listed: Django staff (staff everywhere by the default provider) and roles a host's provider
    finds elsewhere. Raises :class:`InvalidKey` or :class:`CourseNotFound`.
    """
    return role_store.role_holders(_existing_run(course_key))


def _course_partition(course_key: CourseKey, partition_id: int) -> Mapping[str, Any] | None:
    """The partition ``partition_id`` as the course declares it in ``user_partitions``, or None."""
    try:
        runtime = get_runtime(None, course_key=course_key)
    except CourseNotPublished:  # learners see nothing yet: the partitions are those being authored
        runtime = get_runtime(None, course_key=course_key, mode="draft")
    partitions = getattr(runtime.get_block(runtime.root_usage_key), "user_partitions", None) or []
    return next((p for p in partitions if isinstance(p, Mapping) and p.get("id") == partition_id), None)


def assign_group(course_key: str | CourseKey, user, partition_id: int, group_id: int) -> int | None:
    """
    Put a learner (a Django user or a user id) in ``group_id`` of a partition of a course run.

    For groups that nothing in lc-runtime assigns on its own (cohorts, enrollment tracks) and to put
    someone in one arm of an experiment: the learner's split tests on the partition read this group.
    Returns the group the learner was in before, or None. A partition the course declares
    (``user_partitions``, as published, or as drafted before a first publish) must have the group;
    others (edx-platform's enrollment-track partition, say) are taken as given. Raises
    :class:`InvalidKey`, :class:`CourseNotFound` or :class:`UnknownGroup`, writing nothing.

    >>> assign_group("course-v1:LcX+Demo+2026", learner, partition_id=50, group_id=2)   # in no group before
    >>> assign_group("course-v1:LcX+Demo+2026", learner, partition_id=50, group_id=1)   # moved from group 2
    2
    """
    key = _existing_run(course_key)
    user_id = _user_id(user)
    partition = _course_partition(key, partition_id)
    if partition is not None:
        groups = {group.get("id"): group.get("name", "") for group in partition.get("groups", [])}
        if group_id not in groups:
            named = ", ".join(f"{gid} ({name})" for gid, name in groups.items())
            raise UnknownGroup(
                f"partition {partition_id} ({partition.get('name', '')}) of {key} has no group {group_id}; "
                f"its groups: {named or 'none'}"
            )
    return set_partition_group(user_id, key, partition_id, group_id)


def remove_group(course_key: str | CourseKey, user, partition_id: int) -> bool:
    """
    Take a learner (a Django user or a user id) out of its group in a partition; False if it had none.

    In a random partition, the learner's next visit to a split test on it draws a group again.
    Raises :class:`InvalidKey` or :class:`CourseNotFound`.
    """
    key = _existing_run(course_key)
    return remove_partition_group(_user_id(user), key, partition_id)


def list_groups(course_key: str | CourseKey, partition_id: int | None = None) -> dict[int, dict[int, list[int]]]:
    """
    ``{partition: {group: [learner ids]}}``: the learners in each group of a course run, assigned by hand or
    drawn (random partitions), for every partition that has any or for ``partition_id`` only.

    Raises :class:`InvalidKey` or :class:`CourseNotFound`.
    """
    key = _existing_run(course_key)
    if partition_id is None:
        return learners_by_partition(key)
    by_group = learners_by_partition_group(key, partition_id)
    return {partition_id: by_group} if by_group else {}


# ---- cutover from edx-platform: learners keep their Variants, their groups and their state


def cutover_learner_state(
    course_key: str | CourseKey,
    *,
    from_jsonl: str | None = None,
    copy_state: bool = False,
    batch_size: int = 500,
    progress=None,
) -> CutoverResult:
    """
    Bring edx-platform's learner data of a course run, already imported and published here, into lc-runtime.

    Reads edx-platform's tables (``LC_RUNTIME["STUDENT_MODULE_TABLE"]`` and ``user_api_usercoursetag``),
    or the JSON-lines export ``from_jsonl`` (its line shapes: :mod:`lc_runtime.content.learners.cutover`),
    and stores, for each learner: the ``selected`` list of each ``library_content`` / ``itembank`` block as
    their Variant of that selector (the selected members in its pool, in order); each
    ``xblock.partition_service.partition_{id}`` course tag as their group in that partition (a partition and
    group the course declares); with ``copy_state``, each StudentModule row's state as their ``user_state``
    of the block, in the configured learner-state store (pointless, and refused, when that store is
    :class:`StudentModuleStateStore`, which reads the table itself). What a learner already has is never
    replaced, so a second run changes nothing; the result counts what was created, found already present,
    and skipped (with the reason). One transaction per ``batch_size`` source rows. ``result.warnings`` says
    what the settings leave behind: answers not copied while the learner-state store is lc-runtime's own, and
    anonymous ids that are not edx-platform's (``LC_RUNTIME["ANONYMOUS_USER_ID"]`` unset).

    Raises :class:`InvalidKey`, :class:`CourseNotFound`, :class:`CourseNotPublished` or
    :class:`CutoverError` (a missing table, a malformed export line) before writing anything.
    ``progress`` is called with ``"studentmodule"`` or ``"usercoursetag"`` for each row read.

    >>> result = cutover_learner_state("course-v1:LcX+Sel+2026")   # 1,000 learners, two item banks, one experiment
    >>> (result.variants.created, result.partition_groups.created)
    (2000, 1000)
    >>> cutover_learner_state("course-v1:LcX+Sel+2026").variants.present   # again: nothing changes
    2000
    """
    key = _existing_run(course_key)
    if batch_size < 1:
        raise CutoverError(f"batch size {batch_size} is not a positive number")
    store = None
    if copy_state:
        store = get_learner_state_store()
        if isinstance(store, StudentModuleStateStore):
            raise CutoverError(
                f"learner state is read from {store.table} already (LC_RUNTIME['LEARNER_STATE_STORE']): "
                "there is no state to copy; nothing was written"
            )
    source = JsonLinesSource(from_jsonl) if from_jsonl is not None else DatabaseSource()
    plan = _cutover_plan(get_runtime(None, course_key=key))
    result = cutover_learner_data(plan, source, copy_state_into=store, batch_size=batch_size, progress=progress)
    result.warnings.extend(_cutover_warnings(copy_state))
    return result


def _cutover_warnings(copy_state: bool) -> list[str]:
    """What the settings leave behind at a cutover: learners' answers, or what blocks stored by anonymous id."""
    warnings = []
    if not copy_state and not isinstance(get_learner_state_store(), StudentModuleStateStore):
        warnings.append(
            "learners' answers (StudentModule state) were not copied, and LC_RUNTIME['LEARNER_STATE_STORE'] is not "
            "StudentModuleStateStore: learners would start their blocks afresh; run again with --copy-state "
            "(copy_state=True), or set the store to StudentModuleStateStore"
        )
    if not get_setting("ANONYMOUS_USER_ID"):
        warnings.append(
            "LC_RUNTIME['ANONYMOUS_USER_ID'] is not set: blocks that keep learners' work under their anonymous id "
            "(ORA2's submissions, LTI results) will not find what edx-platform stored; set it to edx-platform's "
            "common.djangoapps.student.models:anonymous_id_for_user"
        )
    return warnings


def _cutover_plan(runtime: LearningCoreRuntime) -> CutoverPlan:
    """What the published course declares that the cutover needs: its item banks' pools, partitions, block keys."""
    selectors: dict[str, CutoverSelector] = {}
    blocks = set()
    for record in runtime.iter_records():
        usage_key = runtime.usage_key_of(record.ref)
        blocks.add(str(usage_key))
        if record.pool_entity_id is None or record.block_type not in SELECTED_STATE_TYPES:
            continue
        members = {}
        for ref in record.children:
            member_key = runtime.usage_key_of(ref)
            member = runtime.record_of(member_key)
            members[(member_key.block_type, member_key.block_id)] = (member.entity_id, *member.ref)
        selectors[str(usage_key)] = CutoverSelector(record.pool_entity_id, record.pool_version_id,
                                                    record.version_id, members)
    partitions = getattr(runtime.get_block(runtime.root_usage_key), "user_partitions", None) or []
    declared = {
        partition["id"]: frozenset(group.get("id") for group in partition.get("groups", []))
        for partition in partitions
        if isinstance(partition, Mapping) and isinstance(partition.get("id"), int)
    }
    return CutoverPlan(str(runtime.course_key), selectors, declared, frozenset(blocks))


# ---- Static files: a contentstore-like API over Learning Core media (docs/decisions/0010-static-assets.md)


def _asset_package(course_key: str | CourseKey) -> tuple[str, int]:
    key = str(to_course_key(course_key))
    package_id = package_for_run(key)
    if package_id is None:
        raise CourseNotFound(f"No course run {key}")
    return key, package_id


def save_asset(
    course_key: str | CourseKey,
    path: str,
    data: bytes,
    content_type: str | None = None,
    *,
    locked: bool = False,
    publish: bool = False,
    created_by: int | None = None,
) -> StoredAsset:
    """
    Store ``data`` as the static file ``path`` of a course: what ``/static/<path>`` in its content means.

    The file becomes part of the course's draft, versioned like its blocks: saving the same bytes
    again writes nothing, changed bytes make one new version. Learners get it once the course is
    published, or at once with ``publish=True`` (which publishes this file only). ``content_type``
    defaults to a guess from the extension; ``locked`` files are served to logged-in users only.
    Returns the stored file (its draft, or its published version with ``publish``). Raises
    :class:`InvalidKey`, :class:`CourseNotFound`, :class:`InvalidAssetPath` (``../x``, ``/x``, ``a\\b``),
    :class:`AssetTooLarge` or :class:`InvalidContentType`, writing nothing.

    >>> asset = save_asset("course-v1:LcX+Demo+2026", "images/orbit.png", png_bytes, publish=True)
    >>> asset.content_type, asset_url("course-v1:LcX+Demo+2026", asset.path)
    ('image/png', '/lc-runtime/assets/course-v1:LcX+Demo+2026/images/orbit.png')
    """
    _key, package_id = _asset_package(course_key)
    with transaction.atomic():
        writer = asset_store.AssetWriter(package_id, created_by=created_by)
        writer.save(path, data, content_type=content_type, locked=locked)
        if publish:
            asset_store.publish_assets(package_id, [path], published_by=created_by)
        return asset_store.find_asset(package_id, path, mode="published" if publish else "draft")


def find_asset(course_key: str | CourseKey, path: str, *, mode: Mode = "published") -> StoredAsset | None:
    """
    The static file of a course that ``path`` names (published, or its draft), or None: two queries.

    ``path`` may be spelled as edx-platform names assets: ``Why_use_CSS.png`` finds ``Why use CSS.png``.
    ``asset.read()`` gives the bytes, ``asset.open()`` a file to stream. Raises :class:`InvalidKey`,
    :class:`CourseNotFound` or :class:`InvalidAssetPath`.
    """
    _key, package_id = _asset_package(course_key)
    return asset_store.find_asset(package_id, path, mode=mode)


def delete_asset(
    course_key: str | CourseKey, path: str, *, publish: bool = False, deleted_by: int | None = None
) -> bool:
    """
    Remove the static file ``path`` from a course's draft; return False if the draft has no such file.

    Learners keep the published file until the course is published, or at once with ``publish=True``.
    Earlier versions stay in the history. Raises :class:`InvalidKey`, :class:`CourseNotFound` or
    :class:`InvalidAssetPath`.
    """
    _key, package_id = _asset_package(course_key)
    with transaction.atomic():
        deleted = asset_store.AssetWriter(package_id, created_by=deleted_by).delete(path)
        if deleted and publish:
            asset_store.publish_assets(package_id, [path], published_by=deleted_by)
    return deleted


def list_assets(course_key: str | CourseKey, *, mode: Mode = "published") -> list[StoredAsset]:
    """Every static file of a course (published, or as drafted), by path: two queries, bytes not read."""
    _key, package_id = _asset_package(course_key)
    return asset_store.list_assets(package_id, mode=mode)


def asset_url(course_key: str | CourseKey, path: str, *, mode: Mode = "published") -> str:
    """
    The URL ``lc_runtime.web`` serves a static file of a course at (drafts: to its staff and instructors
    only). No query.

    >>> asset_url("course-v1:LcX+Demo+2026", "Why use CSS.png")
    '/lc-runtime/assets/course-v1:LcX+Demo+2026/Why%20use%20CSS.png'
    """
    return static_asset_url(str(to_course_key(course_key)), path, mode)
