"""
CourseWriter and its companions (lc_runtime.content.courses.writer), on a fresh LearningPackage.

Every write creates a version only when something changed: these tests write single blocks and read
openedx-core's rows back (the suite may; lc_runtime may only through ``lc_runtime.content``).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from openedx_content import api as content_api
from openedx_content.models_api import (
    Component,
    Container,
    DraftChangeLog,
    PublishableEntityVersion,
    PublishableEntityVersionDependency,
    Unit,
)

from lc_runtime.content.courses.api import (
    ChangeCounts,
    CourseWriter,
    bulk_changes,
    get_or_create_package,
    publish_course,
    update_component,
    update_container,
)
from lc_runtime.keys import InvalidKey, block_id_from_code
from lc_runtime.models import BlockChild, ContainerSettings

ON_MARIADB = settings.DATABASES["default"]["ENGINE"].endswith("mysql")

# Queries of a write that changes nothing, inside an open draft change (the import's case), the same
# on SQLite and MariaDB. A component: itself with its draft (1), its OLX media (the media type, then a
# get-or-create in a savepoint: 4), the draft's media and children compared (2); its dependencies, one
# more. A container: its children's entities and itself (2), its draft version (2), the draft's entity
# list, its rows and its settings compared (3).
UNCHANGED_COMPONENT = 7
UNCHANGED_COMPONENT_WITH_DEPENDENCIES = 8
UNCHANGED_CONTAINER = 7


@pytest.fixture
def package(db) -> int:
    return get_or_create_package("lc-unit:writer", "Writer tests")


@pytest.fixture
def writer(package) -> CourseWriter:
    return CourseWriter(package)


# ---- reading back what was written
def versions(entity_id: int) -> list[int]:
    rows = PublishableEntityVersion.objects.filter(entity_id=entity_id).order_by("version_num")
    return list(rows.values_list("version_num", flat=True))


def draft(entity_id: int):
    return content_api.get_draft_version(entity_id)


def published(entity_id: int):
    return content_api.get_published_version(entity_id)


def olx_of(version) -> str:
    return version.componentversion.media.get(componentversionmedia__path="block.xml").text


def children_of_component(version) -> list[int]:
    rows = BlockChild.objects.filter(parent_version_id=version.pk).order_by("order_num")
    return list(rows.values_list("child_id", flat=True))


def children_of_container(version) -> list[int]:
    rows = version.containerversion.entity_list.entitylistrow_set.order_by("order_num")
    return list(rows.values_list("entity_id", flat=True))


def dependencies_of(version) -> list[int]:
    rows = PublishableEntityVersionDependency.objects.filter(referring_version_id=version.pk)
    return sorted(rows.values_list("referenced_entity_id", flat=True))


def settings_of(version) -> tuple[dict, dict]:
    row = ContainerSettings.objects.get(container_version_id=version.pk)
    return row.fields, row.extra_attributes


def change_logs(package_id: int) -> int:
    return DraftChangeLog.objects.filter(learning_package_id=package_id).count()


def unpublished(package_id: int) -> set[int]:
    return set(content_api.get_entities_with_unpublished_changes(package_id).values_list("id", flat=True))


def leaf(writer: CourseWriter, block_id: str, text: str | None = None, **kwargs) -> int:
    return writer.write_component("html", block_id, f"<html>{text or block_id}</html>", block_id.upper(), **kwargs)


# ---- components
def test_a_new_component_is_one_version_with_its_olx_and_is_counted_created(package, writer):
    with bulk_changes(package):
        entity_id = writer.write_component("problem", "p1", "<problem>2+2?</problem>", "Sum")

    component = Component.objects.get(pk=entity_id)
    assert (component.component_type.namespace, component.component_type.name) == ("xblock.v1", "problem")
    assert component.component_code == "p1"
    assert versions(entity_id) == [1]
    assert draft(entity_id).title == "Sum"
    assert olx_of(draft(entity_id)) == "<problem>2+2?</problem>"
    assert published(entity_id) is None
    counts = writer.counts
    assert (counts.created, counts.updated, counts.unchanged) == (1, 0, 0)
    assert counts.created_blocks == ["problem/p1"]
    assert counts.by_type == {"problem": 1}


def test_a_block_id_that_is_not_a_code_is_stored_encoded(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a:b~c")
    assert Component.objects.get(pk=entity_id).component_code == "_lcx_" + b"a:b~c".hex()
    assert writer.counts.created_blocks == ["html/a:b~c"]


def test_a_block_id_of_unicode_letters_is_stored_and_read_back(package, writer):
    with bulk_changes(package):
        component = writer.write_component("html", "été", "<html/>", "")
        unit = writer.write_container("vertical", "問題", "", [component], {})
    assert block_id_from_code(Component.objects.get(pk=component).component_code) == "été"
    assert Container.objects.get(pk=unit).container_code.startswith("vertical.")
    assert writer.counts.created_blocks == ["html/été", "vertical/問題"]


def test_a_block_id_too_long_for_a_code_is_refused_before_anything_is_written(package, writer):
    with pytest.raises(InvalidKey):  # refused before a query: no draft change is even opened
        writer.write_component("html", "x" * 300, "<html/>", "")
    assert not Component.objects.filter(learning_package_id=package).exists()


def test_components_of_two_types_may_share_an_id(package, writer):
    with bulk_changes(package):
        first = writer.write_component("html", "same", "<html/>", "")
        second = writer.write_component("problem", "same", "<problem/>", "")
    assert first != second
    assert writer.counts.by_type == {"html": 1, "problem": 1}


def test_writing_a_component_again_unchanged_creates_nothing(package, writer, django_assert_num_queries):
    with bulk_changes(package):
        entity_id = leaf(writer, "a")
    logs = change_logs(package)

    with bulk_changes(package), django_assert_num_queries(UNCHANGED_COMPONENT):
        assert leaf(writer, "a") == entity_id

    assert versions(entity_id) == [1]
    assert change_logs(package) == logs  # an empty change is not kept
    assert (writer.counts.created, writer.counts.unchanged) == (1, 1)
    assert writer.counts.created_blocks == ["html/a"] and writer.counts.updated_blocks == []
    assert writer.counts.by_type == {"html": 2}


@pytest.mark.parametrize(
    "change",
    [
        {"olx": "<html>changed</html>"},
        {"title": "Another title"},
        {"children": "more"},
        {"children": "reordered"},
        {"children": "none"},
    ],
    ids=lambda change: "-".join(f"{k}={v}" for k, v in change.items()),
)
def test_a_changed_component_gets_one_new_version_and_is_counted_updated(package, writer, change):
    with bulk_changes(package):
        x, y, z = leaf(writer, "x"), leaf(writer, "y"), leaf(writer, "z")
        entity_id = writer.write_component("acid_parent", "parent", "<acid_parent/>", "Parent", [x, y])
    children = {"more": [x, y, z], "reordered": [y, x], "none": []}.get(change.get("children"), [x, y])

    with bulk_changes(package):
        again = writer.write_component(
            "acid_parent", "parent", change.get("olx", "<acid_parent/>"), change.get("title", "Parent"), children
        )

    assert again == entity_id
    assert versions(entity_id) == [1, 2]
    now = draft(entity_id)
    assert now.version_num == 2
    assert olx_of(now) == change.get("olx", "<acid_parent/>")
    assert now.title == change.get("title", "Parent")
    assert children_of_component(now) == children
    first = PublishableEntityVersion.objects.get(entity_id=entity_id, version_num=1)
    assert children_of_component(first) == [x, y], "a version's children never change"
    assert writer.counts.updated == 1
    assert writer.counts.updated_blocks == ["acid_parent/parent"]


def test_a_component_with_children_written_again_with_the_same_children_is_unchanged(package, writer):
    with bulk_changes(package):
        x, y = leaf(writer, "x"), leaf(writer, "y")
        entity_id = writer.write_component("acid_parent", "parent", "<acid_parent/>", "Parent", [x, y])
        writer.write_component("acid_parent", "parent", "<acid_parent/>", "Parent", [x, y])
    assert versions(entity_id) == [1]
    assert writer.counts.unchanged == 1


def test_two_components_with_the_same_olx_share_one_media_row(package, writer):
    with bulk_changes(package):
        first = writer.write_component("html", "one", "<html>same</html>", "")
        second = writer.write_component("html", "two", "<html>same</html>", "")
    media = {draft(entity).componentversion.media.get().pk for entity in (first, second)}
    assert len(media) == 1


# ---- dependencies
def test_depends_on_declares_the_dependencies_in_the_same_draft_change(package, writer):
    with bulk_changes(package):
        pool = writer.write_entity_list(Unit, "pool.p", "Pool", [leaf(writer, "m")])
    logs = change_logs(package)

    with bulk_changes(package):
        proxy = writer.write_component("itembank", "p", "<itembank/>", "Bank", depends_on=[pool])
        unit = writer.write_container("vertical", "u", "Unit", [proxy], {})

    assert change_logs(package) == logs + 1
    assert dependencies_of(draft(proxy)) == [pool]
    publish_course(package)
    # Declared after its change closed, a dependency leaves a stale hash: the unit would show changes now.
    assert not content_api.contains_unpublished_changes(unit)
    # The unit sees a pool member's new draft through proxy -> pool -> member.
    with bulk_changes(package):
        leaf(writer, "m", "edited")
    assert content_api.contains_unpublished_changes(unit)
    assert unpublished(package) == {Component.objects.get(component_code="m").pk}


def test_the_same_dependencies_again_are_unchanged_in_any_order(package, writer, django_assert_num_queries):
    with bulk_changes(package):
        a, b = leaf(writer, "a"), leaf(writer, "b")
        proxy = writer.write_component("itembank", "p", "<itembank/>", "", depends_on=[a, b])

    with bulk_changes(package), django_assert_num_queries(UNCHANGED_COMPONENT_WITH_DEPENDENCIES):
        writer.write_component("itembank", "p", "<itembank/>", "", depends_on=[b, a])

    assert versions(proxy) == [1]
    assert writer.counts.unchanged == 1


def test_other_dependencies_make_a_new_version_that_declares_them(package, writer):
    with bulk_changes(package):
        a, b = leaf(writer, "a"), leaf(writer, "b")
        proxy = writer.write_component("itembank", "p", "<itembank/>", "", depends_on=[a])
    with bulk_changes(package):
        writer.write_component("itembank", "p", "<itembank/>", "", depends_on=[a, b])

    assert versions(proxy) == [1, 2]
    assert dependencies_of(draft(proxy)) == [a, b]
    first = PublishableEntityVersion.objects.get(entity_id=proxy, version_num=1)
    assert dependencies_of(first) == [a]
    assert writer.counts.updated_blocks == ["itembank/p"]


def test_a_write_without_depends_on_does_not_compare_dependencies(package, writer):
    # ``depends_on`` is given by the one caller whose components have dependencies (a selector's
    # proxy, always with its pool); a write without it costs no dependency read and keeps the draft.
    with bulk_changes(package):
        a = leaf(writer, "a")
        proxy = writer.write_component("itembank", "p", "<itembank/>", "", depends_on=[a])
        writer.write_component("itembank", "p", "<itembank/>", "")
    assert versions(proxy) == [1]
    assert dependencies_of(draft(proxy)) == [a]


# ---- containers
def test_a_new_container_is_one_version_with_its_children_and_settings(package, writer):
    with bulk_changes(package):
        a, b = leaf(writer, "a"), leaf(writer, "b")
        unit = writer.write_container("vertical", "u1", "Unit one", [a, b], {"graded": True}, {"data-x": "1"})

    container = Container.objects.get(pk=unit)
    assert container.container_code == "vertical.u1"
    assert container.container_type.type_code == "unit"
    assert versions(unit) == [1]
    assert draft(unit).title == "Unit one"
    assert children_of_container(draft(unit)) == [a, b]
    assert settings_of(draft(unit)) == ({"graded": True}, {"data-x": "1"})
    assert writer.counts.created_blocks == ["html/a", "html/b", "vertical/u1"]
    assert writer.counts.by_type == {"html": 2, "vertical": 1}


@pytest.mark.parametrize(
    ("tag", "type_code"), [("course", "lc_course"), ("chapter", "section"), ("sequential", "subsection")]
)
def test_each_outline_tag_is_its_container_type(package, writer, tag, type_code):
    with bulk_changes(package):
        entity_id = writer.write_container(tag, "c1", "", [], {})
    container = Container.objects.get(pk=entity_id)
    assert container.container_type.type_code == type_code
    assert container.container_code == ("course.course" if tag == "course" else f"{tag}.c1")


def test_writing_a_container_again_unchanged_creates_nothing(package, writer, django_assert_num_queries):
    with bulk_changes(package):
        a = leaf(writer, "a")
        unit = writer.write_container("vertical", "u1", "Unit", [a], {"graded": True}, {"data-x": "1"})

    with bulk_changes(package), django_assert_num_queries(UNCHANGED_CONTAINER):
        assert writer.write_container("vertical", "u1", "Unit", [a], {"graded": True}, {"data-x": "1"}) == unit

    assert versions(unit) == [1]
    assert ContainerSettings.objects.count() == 1
    assert writer.counts.unchanged == 1
    assert writer.counts.by_type == {"html": 1, "vertical": 2}


def test_no_extra_attributes_and_empty_extra_attributes_are_the_same(package, writer):
    with bulk_changes(package):
        unit = writer.write_container("vertical", "u1", "Unit", [], {"graded": True})
        writer.write_container("vertical", "u1", "Unit", [], {"graded": True}, {})
    assert versions(unit) == [1]
    assert settings_of(draft(unit)) == ({"graded": True}, {})


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Renamed"},
        {"children": "reordered"},
        {"children": "fewer"},
        {"fields": {"graded": False}},
        {"fields": {"graded": True, "due": "2026-01-01T00:00:00+00:00"}},
        {"extra": {"data-x": "2"}},
        {"extra": {}},
    ],
    ids=lambda change: "-".join(f"{k}={v}" for k, v in change.items()),
)
def test_a_changed_container_gets_one_new_version_with_its_own_settings(package, writer, change):
    with bulk_changes(package):
        a, b = leaf(writer, "a"), leaf(writer, "b")
        unit = writer.write_container("vertical", "u1", "Unit", [a, b], {"graded": True}, {"data-x": "1"})
    children = {"reordered": [b, a], "fewer": [a]}.get(change.get("children"), [a, b])
    fields, extra = change.get("fields", {"graded": True}), change.get("extra", {"data-x": "1"})

    with bulk_changes(package):
        writer.write_container("vertical", "u1", change.get("title", "Unit"), children, fields, extra)

    assert versions(unit) == [1, 2]
    now = draft(unit)
    assert (now.title, children_of_container(now), settings_of(now)) == (
        change.get("title", "Unit"), children, (fields, extra)
    )
    first = PublishableEntityVersion.objects.get(entity_id=unit, version_num=1)
    assert settings_of(first) == ({"graded": True}, {"data-x": "1"}), "each version keeps its own settings row"
    assert children_of_container(first) == [a, b]
    assert writer.counts.updated_blocks == ["vertical/u1"]


def test_a_container_without_settings_or_label_has_no_settings_row_and_is_not_counted(package, writer):
    # What a selector's pool is: counted once, as its proxy.
    with bulk_changes(package):
        member = leaf(writer, "m")
        pool = writer.write_entity_list(Unit, "pool.p", "Pool", [member])
        writer.write_entity_list(Unit, "pool.p", "Pool", [member])
    assert versions(pool) == [1]
    assert not ContainerSettings.objects.filter(container_version_id=draft(pool).pk).exists()
    assert writer.counts.by_type == {"html": 1}
    assert (writer.counts.created, writer.counts.unchanged) == (1, 0)


# ---- pointing the draft back at an existing version (ADR 0014)
def test_writing_the_published_content_over_a_changed_draft_points_the_draft_back(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a", "published")
    publish_course(package)
    with bulk_changes(package):
        leaf(writer, "a", "draft edit")
    assert draft(entity_id).version_num == 2

    with bulk_changes(package):
        leaf(writer, "a", "published")

    assert versions(entity_id) == [1, 2], "no third version"
    assert draft(entity_id).version_num == 1
    assert draft(entity_id) == published(entity_id)
    assert unpublished(package) == set()
    assert (writer.counts.created, writer.counts.updated, writer.counts.unchanged) == (1, 1, 1)


def test_writing_the_latest_content_again_points_the_draft_at_the_latest_version(package, writer):
    # An export with drafts/, imported again: published content first, then the draft on top.
    with bulk_changes(package):
        entity_id = leaf(writer, "a", "published")
    publish_course(package)
    with bulk_changes(package):
        leaf(writer, "a", "the draft")
    with bulk_changes(package):
        leaf(writer, "a", "published")
    assert draft(entity_id).version_num == 1

    with bulk_changes(package):
        leaf(writer, "a", "the draft")

    assert versions(entity_id) == [1, 2]
    assert draft(entity_id).version_num == 2
    assert published(entity_id).version_num == 1


def test_content_that_no_kept_version_has_is_a_new_version(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a", "one")
    publish_course(package)
    with bulk_changes(package):
        leaf(writer, "a", "two")
        leaf(writer, "a", "three")
    assert versions(entity_id) == [1, 2, 3]
    # Version 2 is neither published nor the latest: its content again is a fourth version.
    with bulk_changes(package):
        leaf(writer, "a", "two")
    assert versions(entity_id) == [1, 2, 3, 4]


def test_a_deleted_component_written_again_gets_its_published_version_back(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a")
    publish_course(package)
    content_api.soft_delete_draft(entity_id)
    assert draft(entity_id) is None

    with bulk_changes(package):
        leaf(writer, "a")

    assert versions(entity_id) == [1]
    assert draft(entity_id).version_num == 1
    assert writer.counts.unchanged == 1


def test_a_container_draft_is_pointed_back_at_its_published_version_too(package, writer):
    with bulk_changes(package):
        a = leaf(writer, "a")
        unit = writer.write_container("vertical", "u1", "Unit", [a], {"graded": True})
    publish_course(package)
    with bulk_changes(package):
        writer.write_container("vertical", "u1", "Unit", [a], {"graded": False})

    with bulk_changes(package):
        writer.write_container("vertical", "u1", "Unit", [a], {"graded": True})

    assert versions(unit) == [1, 2]
    assert draft(unit).version_num == 1
    assert ContainerSettings.objects.filter(container_version__entity_id=unit).count() == 2
    assert writer.counts.unchanged == 1


# ---- placing a child in a container's draft
@pytest.fixture
def unit_of_three(package, writer):
    """A published unit listing a, b, c, and a fourth component n that it does not list."""
    with bulk_changes(package):
        a, b, c, n = (leaf(writer, name) for name in "abcn")
        unit = writer.write_container("vertical", "u1", "Unit", [a, b, c], {"graded": True}, {"data-x": "1"})
    publish_course(package)
    return unit, [a, b, c], n


@pytest.mark.parametrize(("index", "position"), [(0, 0), (1, 1), (3, 3), (99, 3), (-5, 0), (None, 3)])
def test_a_new_child_is_placed_at_its_index_clamped_to_the_list(package, writer, unit_of_three, index, position):
    unit, children, new = unit_of_three
    with bulk_changes(package):
        assert writer.place_in_draft_container("vertical", "u1", new, index) is True

    expected = list(children)
    expected.insert(position, new)
    now = draft(unit)
    assert (now.version_num, children_of_container(now)) == (2, expected)
    assert now.title == "Unit"
    assert settings_of(now) == ({"graded": True}, {"data-x": "1"})
    assert children_of_container(published(unit)) == children, "the published container is untouched"


def test_a_child_already_listed_stays_where_it_is(package, writer, unit_of_three):
    unit, children, _new = unit_of_three
    with bulk_changes(package):
        assert writer.place_in_draft_container("vertical", "u1", children[2], 0) is True
    assert versions(unit) == [1]
    assert children_of_container(draft(unit)) == children


def test_placing_in_a_container_without_a_draft_does_nothing(package, writer, unit_of_three):
    unit, _children, new = unit_of_three
    with bulk_changes(package):
        assert writer.place_in_draft_container("vertical", "missing", new, 0) is False
        assert writer.place_in_draft_container("chapter", "u1", new, 0) is False  # the tag is part of the code
    content_api.soft_delete_draft(unit)
    with bulk_changes(package):
        assert writer.place_in_draft_container("vertical", "u1", new, 0) is False
    assert versions(unit) == [1]


# ---- a block's own save: update_component, update_container
def test_update_component_keeps_the_drafts_children_and_dependencies(package, writer):
    with bulk_changes(package):
        x, y, pool = leaf(writer, "x"), leaf(writer, "y"), leaf(writer, "pool")
        entity_id = writer.write_component(
            "acid_parent", "parent", "<acid_parent/>", "Parent", [x, y], depends_on=[pool]
        )
        unit = writer.write_container("vertical", "u", "Unit", [entity_id], {})
    publish_course(package)

    assert update_component(package, "acid_parent", "parent", '<acid_parent name="v2"/>', "Parent") is True

    now = draft(entity_id)
    assert now.version_num == 2
    assert olx_of(now) == '<acid_parent name="v2"/>'
    assert children_of_component(now) == [x, y]
    assert dependencies_of(now) == [pool]
    assert published(entity_id).version_num == 1
    publish_course(package)
    assert not content_api.contains_unpublished_changes(unit), "declared inside the draft change"


def test_update_component_with_the_drafts_content_does_nothing(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a")
    logs = change_logs(package)
    assert update_component(package, "html", "a", "<html>a</html>", "A") is False
    assert versions(entity_id) == [1]
    assert change_logs(package) == logs


def test_update_component_with_a_new_title_only_is_a_new_version(package, writer):
    with bulk_changes(package):
        entity_id = leaf(writer, "a:b")  # found by its block id, whatever its code
    assert update_component(package, "html", "a:b", "<html>a:b</html>", "New title") is True
    assert (draft(entity_id).version_num, draft(entity_id).title) == (2, "New title")


def test_update_container_gives_new_settings_and_keeps_children_and_extra_attributes(package, writer):
    with bulk_changes(package):
        a, b = leaf(writer, "a"), leaf(writer, "b")
        unit = writer.write_container("vertical", "u1", "Unit", [a, b], {"graded": True}, {"data-x": "1"})

    assert update_container(package, "vertical", "u1", "Unit", {"graded": False}) is True

    now = draft(unit)
    assert now.version_num == 2
    assert children_of_container(now) == [a, b]
    assert settings_of(now) == ({"graded": False}, {"data-x": "1"})


def test_update_container_with_the_same_settings_does_nothing_and_a_new_title_is_a_version(package, writer):
    with bulk_changes(package):
        unit = writer.write_container("vertical", "u1", "Unit", [], {"graded": True})
    assert update_container(package, "vertical", "u1", "Unit", {"graded": True}) is False
    assert versions(unit) == [1]
    assert update_container(package, "vertical", "u1", "Renamed", {"graded": True}) is True
    assert (draft(unit).title, settings_of(draft(unit))) == ("Renamed", ({"graded": True}, {}))


def test_update_container_finds_the_course_root_by_its_one_code(package, writer):
    with bulk_changes(package):
        root = writer.write_container("course", "2026", "Course", [], {"org": "LcX"})
    assert update_container(package, "course", "course", "Course", {"org": "LcX", "course": "Unit"}) is True
    assert settings_of(draft(root)) == ({"org": "LcX", "course": "Unit"}, {})


# ---- ChangeCounts
def test_change_counts_count_every_outcome_and_list_the_blocks_that_changed():
    counts = ChangeCounts()
    counts.count("html", "created", "a")
    counts.count("html", "unchanged", "b")
    counts.count("problem", "updated", "p")
    counts.count("vertical", "deleted", "u")
    counts.count("html", "created")  # no id: counted, not listed
    assert (counts.created, counts.updated, counts.unchanged, counts.deleted) == (2, 1, 1, 1)
    assert counts.by_type == {"html": 3, "problem": 1, "vertical": 1}
    assert counts.created_blocks == ["html/a"]
    assert counts.updated_blocks == ["problem/p"]
    assert counts.deleted_blocks == ["vertical/u"]


def test_change_counts_start_empty_and_do_not_share_their_lists():
    first, second = ChangeCounts(), ChangeCounts()
    first.count("html", "created", "a")
    assert second == ChangeCounts()
    assert (second.by_type, second.created_blocks) == ({}, [])


def test_a_course_write_that_rolls_back_forgets_the_container_types_it_created(package):
    from openedx_content.applets.containers.models import ContainerType

    from lc_runtime.content.courses.api import write_transaction

    # The rows a database starts with are gone (as after a test suite's flush): the write creates them.
    ContainerType.objects.all().delete()
    Container.reset_cache()
    with pytest.raises(RuntimeError), write_transaction(), bulk_changes(package):
        CourseWriter(package).write_container("vertical", "u1", "Unit", [], {})
        raise RuntimeError("refused")
    assert not ContainerType.objects.exists()

    # The same process writes again: the rolled-back row is not reused from the cache.
    with write_transaction(), bulk_changes(package):
        CourseWriter(package).write_container("vertical", "u1", "Unit", [], {})
    assert ContainerType.objects.filter(type_code=Unit.type_code).exists()
