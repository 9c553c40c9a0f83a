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

from django.core.exceptions import PermissionDenied
from django.db import transaction
from opaque_keys.edx.keys import CourseKey, UsageKey

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
from lc_runtime.content.learners.api import get_learner_state_store, get_preview_state_store, variants_of_selector
from lc_runtime.fielddata.unit_of_work import unit_of_work
from lc_runtime.keys import InvalidKey, to_course_key, to_usage_key, usage_key_for
from lc_runtime.olx.exporter import ExportError, ExportResult, export_course
from lc_runtime.olx.importer import ImportProblem, ImportResult, StrictImportError, import_course
from lc_runtime.olx.parsing import OlxError
from lc_runtime.olx.sources import OlxSource
from lc_runtime.runtime.date_extraction import content_dates_of
from lc_runtime.runtime.events import XBlockEvent, xblock_event
from lc_runtime.runtime.learning_core_runtime import LearningCoreRuntime, NotASelector
from lc_runtime.runtime.static_urls import asset_url as static_asset_url
from lc_runtime.selectors.block import selector_block_classes

__all__ = [
    "AssetError",
    "AssetTooLarge",
    "CourseNotFound",
    "CourseNotPublished",
    "CourseRunError",
    "CourseRunExists",
    "CourseRunInfo",
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
    "SnapshotNotFound",
    "StoredAsset",
    "SelectorVariant",
    "StrictImportError",
    "VariantLearners",
    "XBlockEvent",
    "asset_url",
    "create_run",
    "delete_asset",
    "find_asset",
    "export_olx",
    "get_runtime",
    "get_variant",
    "import_olx",
    "list_assets",
    "learners_by_variant",
    "list_runs",
    "list_snapshots",
    "pin_run",
    "publish",
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
    with write_transaction():
        result = import_course(
            source, course_key=course_key, created_by=created_by, publish=publish, strict=strict, progress=progress,
            selectors=selector_block_classes(), check_loadable=_blocks_that_cannot_load,
        )
        if result.published is not None and result.published.publish_log_id is not None:
            _write_dates_of_following_runs(result.course_key)
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
    ``dest`` (``course.xml`` at its top), or to ``dest`` ending in ``.tar.gz`` (holding ``course/``).

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
        summary = publish_course(package_id, published_by=published_by)
        if summary.publish_log_id is not None:
            _write_dates_of_following_runs(key)
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
    return date_store.write_content_dates(course_key, content_dates_of(runtime))


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
        _write_run_dates(to_course_key(info.course_key))
    return info


def pin_run(course_key: str | CourseKey, snapshot: str | uuid.UUID = CURRENT_SNAPSHOT) -> CourseRunInfo:
    """
    Pin a run to one published snapshot of its package: ``"current"`` (the latest publish) or a uuid.

    From then on its learners see the content, and its dates, as published then; later publishes do not
    reach them. Raises :class:`CourseNotFound` or :class:`SnapshotNotFound`; then nothing is written.
    """
    with write_transaction():
        info = _pin_run(course_key, snapshot)
        _write_run_dates(to_course_key(info.course_key))
    return info


def unpin_run(course_key: str | CourseKey) -> CourseRunInfo:
    """Let a run follow the package's latest publish again, its dates too. Raises :class:`CourseNotFound`."""
    with write_transaction():
        info = _unpin_run(course_key)
        _write_run_dates(to_course_key(info.course_key))
    return info


def update_run_settings(course_key: str | CourseKey, changes: Mapping[str, object]) -> CourseRunInfo:
    """
    Change a run's own settings: each name in ``changes`` is set to its date, or removed if None.

    A removed setting falls back to the course root's value; the run's start and end in edx-when follow.
    Raises :class:`CourseNotFound` or :class:`InvalidRunSettings`; then nothing is written.
    """
    with write_transaction():
        info = _update_run_settings(course_key, changes)
        _write_run_dates(to_course_key(info.course_key))
    return info


def get_runtime(user, *, course_key: str | CourseKey, mode: Mode = "published") -> LearningCoreRuntime:
    """
    A runtime for ``user`` in a course run: ``published`` (what learners see, LMS) or ``draft`` (Studio).

    ``user`` is a Django user, an ``AnonymousUser`` or None (a system task). Draft runtimes are for
    staff (or None) only: learners never see drafts. Loading the tree costs one query when cached.
    Learner-scoped state goes to ``LC_RUNTIME["LEARNER_STATE_STORE"]``; in a draft runtime, the
    author's preview state goes to ``LC_RUNTIME["PREVIEW_STATE_STORE"]`` instead (by default
    ephemeral, in Django's cache), so it never reaches learners.

    >>> runtime = get_runtime(request.user, course_key="course-v1:LcX+Demo+2026")
    >>> html = runtime.render(runtime.get_block(unit_key), "student_view").content
    """
    check_mode(mode)
    if mode == "draft" and user is not None and not getattr(user, "is_staff", False):
        raise PermissionDenied("Only staff may use a draft (authoring) runtime")
    key = to_course_key(course_key)
    tree = load_course_tree(key, mode=mode)
    store = get_preview_state_store() if mode == "draft" else get_learner_state_store()
    return LearningCoreRuntime(user, key, mode=mode, tree=tree, learner_store=store)


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
    The URL ``lc_runtime.web`` serves a static file of a course at (drafts: staff only). No query.

    >>> asset_url("course-v1:LcX+Demo+2026", "Why use CSS.png")
    '/lc-runtime/assets/course-v1:LcX+Demo+2026/Why%20use%20CSS.png'
    """
    return static_asset_url(str(to_course_key(course_key)), path, mode)
