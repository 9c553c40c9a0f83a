"""
Bulk writes next to openedx-core's own (ADR 0020): :class:`BulkCourseWriter` and :func:`publish_drafts`
must leave the rows that openedx-core's per-entity API leaves for the same writes.

Two packages get the same course through the two paths, round after round (created, then changed and
extended, each round published); after each step every row of the packages that the two paths write —
entities, versions, media, children, dependencies, settings, drafts, change logs, their records, side
effects and the branch pointers — is compared, named by entity refs and version numbers (ids differ),
as are the events sent. Dependency hashes are checked against openedx-core's own recomputation.
"""

from __future__ import annotations

import pytest
from openedx_content import api as content_api
from openedx_content.applets.publishing.api import update_dependencies_hash_digests_for_log
from openedx_content.models_api import (
    Component,
    ComponentVersionMedia,
    Container,
    Draft,
    DraftChangeLog,
    DraftChangeLogRecord,
    DraftSideEffect,
    EntityListRow,
    PublishableEntity,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
    Published,
    PublishLog,
    PublishLogRecord,
    PublishSideEffect,
)

from lc_runtime.content.courses.api import (
    BulkCourseWriter,
    CourseWriter,
    get_or_create_package,
    pending_drafts,
    publish_drafts,
)
from lc_runtime.content.pools.api import write_selector
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID
from lc_runtime.models import BlockChild, ContainerSettings

pytestmark = pytest.mark.django_db


def _write_course(writer: CourseWriter, *, round_: int) -> int:
    """A course with a Unit of leaves, a leaf with children, a selector and its pool; round 2 changes it."""
    with writer.changes():
        first = writer.write_component("html", "first", f"<html>round {round_}</html>", f"First {round_}")
        kids = [writer.write_component("html", f"kid{i}", f"<html>kid {i}</html>", f"Kid {i}") for i in range(2)]
        parent = writer.write_component("acid_parent", "parent", "<acid_parent/>", "Parent", kids)
        member = writer.write_component("problem", "member", "<problem/>", "Member")
        proxy = write_selector(writer, "split_test", "test", "<split_test/>", "Test", [member])
        children = [first, parent, proxy]
        if round_ > 1:
            children = [writer.write_component("html", "added", "<html>added</html>", "Added"), first, parent, proxy]
        unit = writer.write_container("vertical", "unit", "Unit", children, {"display_name": "Unit"})
        other = writer.write_container("vertical", "other", "Other", [], {})
        sequence = writer.write_container("sequential", "seq", "Seq", [unit, other], {"format": "Homework"})
        chapter = writer.write_container("chapter", "chap", "Chap", [sequence], {})
        root = writer.write_container("course", COURSE_ROOT_BLOCK_ID, "Course", [chapter], {"start": f"{round_}"})
    if isinstance(writer, BulkCourseWriter):
        writer.flush()
        root = writer.entity_id(root)
    return root


def _rows(package_id: int) -> dict[str, set]:
    """Every row the writers and publishes make in the package, named by refs and version numbers."""
    refs = dict(PublishableEntity.objects.filter(learning_package_id=package_id).values_list("id", "entity_ref"))
    versions = {
        pk: (refs[entity], number)
        for pk, entity, number in PublishableEntityVersion.objects.filter(entity_id__in=refs).values_list(
            "pk", "entity_id", "version_num")
    }
    versions[None] = None
    in_package = {"entity_id__in": list(refs)}
    draft_logs = {pk: i for i, pk in enumerate(
        DraftChangeLog.objects.filter(learning_package_id=package_id).order_by("pk").values_list("pk", flat=True))}
    publish_logs = {pk: i for i, pk in enumerate(
        PublishLog.objects.filter(learning_package_id=package_id).order_by("pk").values_list("pk", flat=True))}
    draft_records = {
        pk: (draft_logs[log], refs[entity])
        for pk, log, entity in DraftChangeLogRecord.objects.filter(**in_package).values_list(
            "pk", "draft_change_log_id", "entity_id")
    }
    publish_records = {
        pk: (publish_logs[log], refs[entity])
        for pk, log, entity in PublishLogRecord.objects.filter(**in_package).values_list(
            "pk", "publish_log_id", "entity_id")
    }
    return {
        "entities": set(PublishableEntity.objects.filter(id__in=refs).values_list("entity_ref", "can_stand_alone")),
        "components": set(Component.objects.filter(learning_package_id=package_id).values_list(
            "component_type__namespace", "component_type__name", "component_code")),
        "containers": set(Container.objects.filter(learning_package_id=package_id).values_list(
            "container_code", "container_type__type_code")),
        "versions": {(versions[pk], title) for pk, title in PublishableEntityVersion.objects.filter(
            **in_package).values_list("pk", "title")},
        "media": {(versions[v], path, text, media_type) for v, path, text, media_type in
                  ComponentVersionMedia.objects.filter(component_version__component__learning_package_id=package_id)
                  .values_list("component_version_id", "path", "media__text", "media__media_type__type")},
        "entity lists": {(versions[v], n, refs[e], pinned) for v, n, e, pinned in EntityListRow.objects.filter(
            entity_list__container_versions__container__learning_package_id=package_id).values_list(
            "entity_list__container_versions", "order_num", "entity_id", "entity_version_id")},
        "leaf children": {(versions[v], n, refs[c]) for v, n, c in BlockChild.objects.filter(
            child_id__in=refs).values_list("parent_version_id", "order_num", "child_id")},
        "dependencies": {(versions[v], refs[e]) for v, e in PublishableEntityVersionDependency.objects.filter(
            referenced_entity_id__in=refs).values_list("referring_version_id", "referenced_entity_id")},
        "settings": {(versions[v], str(f), str(x)) for v, f, x in ContainerSettings.objects.filter(
            container_version_id__in=[v for v in versions if v is not None]).values_list(
            "container_version_id", "fields", "extra_attributes")},
        "drafts": {(refs[e], versions[v], draft_records.get(r)) for e, v, r in Draft.objects.filter(
            **in_package).values_list("entity_id", "version_id", "draft_log_record_id")},
        "published": {(refs[e], versions[v], publish_records.get(r)) for e, v, r in Published.objects.filter(
            **in_package).values_list("entity_id", "version_id", "publish_log_record_id")},
        "draft records": {(draft_records[pk], versions[old], versions[new], bool(digest))
                          for pk, old, new, digest in DraftChangeLogRecord.objects.filter(**in_package).values_list(
                              "pk", "old_version_id", "new_version_id", "dependencies_hash_digest")},
        "publish records": {(publish_records[pk], versions[old], versions[new], direct, bool(digest))
                            for pk, old, new, direct, digest in PublishLogRecord.objects.filter(
                                **in_package).values_list("pk", "old_version_id", "new_version_id", "direct",
                                                          "dependencies_hash_digest")},
        "draft side effects": {(draft_records[c], draft_records[e]) for c, e in DraftSideEffect.objects.filter(
            cause__entity_id__in=refs).values_list("cause_id", "effect_id")},
        "publish side effects": {(publish_records[c], publish_records[e]) for c, e in PublishSideEffect.objects.filter(
            cause__entity_id__in=refs).values_list("cause_id", "effect_id")},
    }


def _hashes_are_openedx_cores(package_id: int) -> None:
    """
    The dependency hashes of the latest logs are what openedx-core computes from scratch. (They hash
    version ids, so the two packages' differ; an older log's are of a state that has moved on since.)
    """
    for log_model, record_model, field in ((DraftChangeLog, DraftChangeLogRecord, "draft_change_log"),
                                           (PublishLog, PublishLogRecord, "publish_log")):
        for log in log_model.objects.filter(learning_package_id=package_id).order_by("-pk")[:1]:
            before = dict(record_model.objects.filter(**{field: log}).values_list("pk", "dependencies_hash_digest"))
            update_dependencies_hash_digests_for_log(log, backfill=True)
            after = dict(record_model.objects.filter(**{field: log}).values_list("pk", "dependencies_hash_digest"))
            assert after == before


@pytest.fixture
def events():
    """The changes each openedx-core event announced, by package title, entity ref and version number."""
    sent: list[tuple] = []

    def receive(signal, **kwargs):
        refs = dict(PublishableEntity.objects.values_list("id", "entity_ref"))
        changes = kwargs["change_log"].changes
        sent.append((signal.event_type, kwargs["learning_package"].title, sorted(
            (refs[c.entity_id], c.old_version, c.new_version, c.direct, c.restored) for c in changes)))

    signals = (content_api.signals.ENTITIES_DRAFT_CHANGED, content_api.signals.ENTITIES_PUBLISHED)
    handlers = [lambda sender=None, signal=s, **kwargs: receive(signal, **kwargs) for s in signals]
    for signal, handler in zip(signals, handlers, strict=True):
        signal.connect(handler)
    yield sent
    for signal, handler in zip(signals, handlers, strict=True):
        signal.disconnect(handler)


def test_bulk_writes_leave_the_rows_openedx_core_leaves(django_capture_on_commit_callbacks, events):
    by_api = get_or_create_package("lc-unit:by-api", "Same")
    in_bulk = get_or_create_package("lc-unit:in-bulk", "Same")
    for round_ in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):
            _write_course(CourseWriter(by_api), round_=round_)
        with django_capture_on_commit_callbacks(execute=True):
            _write_course(BulkCourseWriter(in_bulk), round_=round_)
        assert _rows(in_bulk) == _rows(by_api)
        with django_capture_on_commit_callbacks(execute=True):
            content_api.publish_all_drafts(by_api)
        with django_capture_on_commit_callbacks(execute=True):
            publish_drafts(in_bulk, pending_drafts(in_bulk))
        assert _rows(in_bulk) == _rows(by_api)
    # An edit below a published Unit: its ancestors are changed by side effect only, in both logs.
    for package, publish in ((by_api, lambda p: content_api.publish_all_drafts(p)),
                             (in_bulk, lambda p: publish_drafts(p, pending_drafts(p)))):
        with django_capture_on_commit_callbacks(execute=True):
            writer = CourseWriter(package)
            writer.write_component("problem", "member", "<problem max_attempts='1'/>", "Member")
            publish(package)
    assert _rows(in_bulk) == _rows(by_api)
    _hashes_are_openedx_cores(by_api)
    _hashes_are_openedx_cores(in_bulk)
    assert len(events) == 2 * (2 * 2 + 2)
    # The events of both packages announce the same changes, step by step.
    sent = [(kind, changes) for kind, _title, changes in events]
    assert sent[0:8:2] == sent[1:8:2]
    assert sent[8:10] == sent[10:12]  # the edit: a draft change, then a publish, in each package


def test_rewriting_the_same_course_in_bulk_writes_nothing(django_assert_num_queries):
    package = get_or_create_package("lc-unit:again", "Again")
    _write_course(BulkCourseWriter(package), round_=1)
    publish_drafts(package, pending_drafts(package))
    before = _rows(package)
    writer = BulkCourseWriter(package)
    # What the package holds, read once: its components, containers, entities with their versions, each
    # kind of version detail (titles, OLX, leaf children, entity lists, dependencies, settings), and the
    # media types of OLX.
    with django_assert_num_queries(10):
        _write_course(writer, round_=1)
    assert writer.counts.created == writer.counts.updated == 0
    assert _rows(package) == before


def test_a_bulk_publish_costs_the_same_whatever_the_course_size(django_assert_max_num_queries):
    small = get_or_create_package("lc-unit:small", "Small")
    _write_course(BulkCourseWriter(small), round_=1)
    large = get_or_create_package("lc-unit:large", "Large")
    writer = BulkCourseWriter(large)
    with writer.changes():
        leaves = [writer.write_component("html", f"h{i}", f"<html>{i}</html>", f"H{i}") for i in range(120)]
        units = [writer.write_container("vertical", f"u{i}", f"U{i}", leaves[i::12], {}) for i in range(12)]
        sequence = writer.write_container("sequential", "seq", "Seq", units, {})
        chapter = writer.write_container("chapter", "chap", "Chap", [sequence], {})
        writer.write_container("course", COURSE_ROOT_BLOCK_ID, "Course", [chapter], {})
    writer.flush()
    with django_assert_max_num_queries(20) as small_publish:
        publish_drafts(small, pending_drafts(small))
    with django_assert_max_num_queries(20) as large_publish:
        publish_drafts(large, pending_drafts(large))
    assert len(large_publish.captured_queries) == len(small_publish.captured_queries)


def test_a_real_course_imports_in_a_small_constant_of_queries_per_block(db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lc_runtime import api
    from tests.conftest import shared_olx

    export = shared_olx("harvardx-studio-advanced")

    def statements(captured) -> int:  # savepoints and their releases are not queries
        return sum(1 for q in captured.captured_queries if not q["sql"].lstrip().upper().startswith(
            ("SAVEPOINT", "RELEASE")))

    with CaptureQueriesContext(connection) as first:
        result = api.import_olx(export)
    blocks = sum(result.blocks_by_type.values())
    assert statements(first) <= 12 * blocks  # issue 14's goal; 6 per block measured (make bench)
    with CaptureQueriesContext(connection) as again:
        assert api.import_olx(export).created == 0
    assert statements(again) <= blocks  # the package read once, a few queries per static file
