"""
Learner data as stores and rows (lc_runtime.content.learners): the learner-state stores, merging
changes, and the Variant and partition-group rows.

tests/test_learner_state.py covers the stores from a runtime (preview state in draft runtimes, units of
work, thousands of keys); here each function is called directly.
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from django.core.cache import caches
from openedx_content.models_api import PublishableEntityVersion

from lc_runtime.content.courses.api import CourseWriter, bulk_changes, get_or_create_package
from lc_runtime.content.learners.api import (
    ALL_LEARNERS,
    DELETED,
    CacheLearnerStateStore,
    DjangoLearnerStateStore,
    NewPartitionGroup,
    NewVariant,
    StateKey,
    StoredVariant,
    StudentModuleStateStore,
    create_partition_groups,
    create_variants,
    learner_partition_groups,
    learner_variants,
    learners_by_partition,
    learners_by_partition_group,
    merged_state,
    new_writer_token,
    reassign_partition_group,
    remove_partition_group,
    replace_variant,
    reread_variant,
    set_partition_group,
    variants_of_selector,
)
from lc_runtime.models import LearnerState, LearnerVariant, PartitionGroup
from tests.edx_tables import student_module_rows

COURSE = "course-v1:LcX+State+2026"
OTHER_COURSE = "course-v1:LcX+State+2027"


def block(block_id: str, course: str = COURSE) -> str:
    return f"block-v1:{course.removeprefix('course-v1:')}+type@problem+block@{block_id}"


P1 = StateKey("one.usage", 7, COURSE, block("p1"))
P2 = StateKey("one.usage", 7, COURSE, block("p2"))


# ---- merged_state
def test_merged_state_sets_values_and_removes_deleted_fields_without_touching_its_arguments():
    state = {"a": 1, "b": [1, 2], "c": "kept"}
    changes = {"a": 2, "b": DELETED, "d": {"new": None}, "missing": DELETED}
    before = (copy.deepcopy(state), dict(changes))

    assert merged_state(state, changes) == {"a": 2, "c": "kept", "d": {"new": None}}
    assert (state, changes) == before


def test_merged_state_of_nothing_is_a_new_dict():
    state = {"a": 1}
    merged = merged_state(state, {})
    assert merged == state and merged is not state


def test_deleted_is_one_marker_that_copies_survive():
    assert copy.deepcopy(DELETED) is DELETED
    assert copy.deepcopy({"field": DELETED})["field"] is DELETED
    assert repr(DELETED) == "DELETED"
    # A value that merely looks like the marker is a value.
    assert merged_state({"a": 1}, {"a": "DELETED"}) == {"a": "DELETED"}


# ---- the database stores: lc-runtime's table, and edx-platform's StudentModule table for user_state
@pytest.fixture(params=["lc-runtime", "studentmodule"])
def store(request, edx_tables, db):
    """Each database store, for the behaviour both promise (the StudentModule store's own: its test module)."""
    if request.param == "lc-runtime":
        return DjangoLearnerStateStore()
    return StudentModuleStateStore()


def stored_rows(store) -> dict[str, tuple[dict, object]]:
    """The rows ``store`` wrote, by block key: (state, modified), from whichever table it writes."""
    if isinstance(store, StudentModuleStateStore):
        return {row["module_id"]: (json.loads(row["state"]), row["modified"]) for row in student_module_rows()}
    return {row.block_key: (row.state, row.modified) for row in LearnerState.objects.all()}


@pytest.fixture
def django_store(db) -> DjangoLearnerStateStore:
    """lc-runtime's own table: its query counts and rows."""
    return DjangoLearnerStateStore()


def test_the_database_store_loads_what_it_saved_and_nothing_for_keys_without_state(store):
    store.save({P1: {"attempts": 1, "answers": {"q": ["é", None]}}})
    assert store.load([P1, P2]) == {P1: {"attempts": 1, "answers": {"q": ["é", None]}}}
    assert [state for state, _modified in stored_rows(store).values()] == [
        {"attempts": 1, "answers": {"q": ["é", None]}}
    ]


def test_saving_merges_into_the_stored_object_and_deleted_removes_a_field(store):
    store.save({P1: {"attempts": 1, "score": 0.5, "seed": 3}})
    store.save({P1: {"attempts": 2, "score": DELETED, "done": True}})
    assert store.load([P1]) == {P1: {"attempts": 2, "seed": 3, "done": True}}
    assert len(stored_rows(store)) == 1


def test_deleting_a_field_that_was_never_stored_is_harmless(store):
    store.save({P1: {"gone": DELETED, "kept": 1}})
    assert store.load([P1]) == {P1: {"kept": 1}}


def test_a_save_touches_only_the_keys_it_names(store):
    store.save({P1: {"n": 1}, P2: {"n": 2}})
    modified = stored_rows(store)[P2.block_key][1]
    store.save({P1: {"n": 10}})
    assert store.load([P1, P2]) == {P1: {"n": 10}, P2: {"n": 2}}
    assert stored_rows(store)[P2.block_key][1] == modified


def test_nothing_to_load_or_save_costs_no_query(store, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert store.load([]) == {}
        assert store.load(iter([])) == {}
        store.save({})


# Keys a render reads: the learner's own state per block, all learners' per block, the learner's per
# block type and across courses (empty course key), and state of several course runs and learners.
KEYS_OF_SEVERAL_SCOPES = [
    P1,
    P2,
    StateKey("all.usage", ALL_LEARNERS, COURSE, block("p1")),
    StateKey("one.type", 7, "", "problem"),
    StateKey("one.all", 7, "", ""),
    StateKey("one.usage", 8, COURSE, block("p1")),
    StateKey("one.usage", 7, OTHER_COURSE, block("p1", OTHER_COURSE)),
]


def test_keys_of_several_scopes_learners_and_runs_are_kept_apart(store):
    store.save({key: {"i": i} for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES)})
    assert store.load(KEYS_OF_SEVERAL_SCOPES) == {key: {"i": i} for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES)}
    for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES):
        assert store.load([key]) == {key: {"i": i}}


def test_a_load_returns_exactly_the_keys_asked_for_even_when_neighbours_are_stored(store):
    neighbours = [
        P1._replace(user_id=8),
        P1._replace(course_key=OTHER_COURSE),
        P1._replace(scope="all.usage"),
        P1._replace(block_key=block("P1")),  # another case: another block
        P1._replace(block_key=P1.block_key + " "),  # MySQL's PAD SPACE collations compare this equal to P1's
        StateKey("one.type", 7, "", "Problem"),
    ]
    store.save({key: {"neighbour": True} for key in neighbours})
    asked = [P1, P2, StateKey("one.type", 7, "", "problem")]
    assert store.load(asked) == {}
    assert store.load([*asked, neighbours[0]]) == {neighbours[0]: {"neighbour": True}}


def test_the_same_key_asked_twice_is_loaded_once(store):
    store.save({P1: {"n": 1}})
    assert store.load([P1, P1, P2, P1]) == {P1: {"n": 1}}


# Six (scope, learner, run) groups: a load has one ``block_key IN (...)`` per group.
GROUPS = [
    ("one.usage", 7, COURSE), ("one.usage", 8, COURSE), ("all.usage", ALL_LEARNERS, COURSE),
    ("one.usage", 7, OTHER_COURSE), ("one.type", 7, COURSE), ("one.usage", 9, OTHER_COURSE),
]


@pytest.mark.parametrize("per_group", [1, 25])
def test_a_load_is_one_query_and_a_save_three_whatever_the_keys(django_store, per_group, django_assert_num_queries):
    store = django_store
    # Up to 150 keys: below SQLite's 999 parameters, past which Django splits a save into batches
    # (tests/test_learner_state.py covers thousands of keys).
    keys = [StateKey(scope, user, course, block(f"b{i}", course)) for scope, user, course in GROUPS
            for i in range(per_group)]
    with django_assert_num_queries(3):  # the upsert, the re-read, the update
        store.save({key: {"v": i} for i, key in enumerate(keys)})
    with django_assert_num_queries(1):
        loaded = store.load(keys)
    assert loaded == {key: {"v": i} for i, key in enumerate(keys)}
    with django_assert_num_queries(3):  # the rows exist now: the same three
        store.save({key: {"w": True} for key in keys})
    assert store.load(keys[:1]) == {keys[0]: {"v": 0, "w": True}}


def test_lock_returns_the_stored_state_in_one_query(django_store, django_assert_num_queries):
    store = django_store
    store.save({P1: {"attempts": 2}})
    with django_assert_num_queries(1):  # SELECT ... FOR UPDATE (plain on SQLite)
        assert store.lock([P1]) == {P1: {"attempts": 2}}


def test_lock_creates_a_missing_row_empty(django_store, django_assert_num_queries):
    """Three queries the first time: the locking read, the upsert that creates the row, the locking read again."""
    store = django_store
    with django_assert_num_queries(3):
        assert store.lock([P1, P1]) == {P1: {}}
    assert LearnerState.objects.get(block_key=P1.block_key).state == {}
    assert store.load([P1]) == {P1: {}}
    with django_assert_num_queries(0):
        assert store.lock([]) == {}


def test_a_locked_row_keeps_its_state_and_takes_a_save(store):
    store.save({P1: {"attempts": 1}})
    assert store.lock([P1, P2]) == {P1: {"attempts": 1}, P2: {}}
    store.save({P1: {"attempts": 2}, P2: {"seen": True}})
    assert store.load([P1, P2]) == {P1: {"attempts": 2}, P2: {"seen": True}}


def test_drop_empty_deletes_only_rows_that_hold_nothing(store):
    store.lock([P1, P2])
    store.save({P2: {"seen": True}})
    store.drop_empty([P1, P2])
    assert store.load([P1, P2]) == {P2: {"seen": True}}
    assert store.lock([P1]) == {P1: {}}  # P1's row went: locking creates it again, empty


def test_drop_empty_is_one_query_on_lc_runtimes_table(django_store, django_assert_num_queries):
    store = django_store
    store.lock([P1, P2])
    store.save({P2: {"seen": True}})
    with django_assert_num_queries(1):
        store.drop_empty([P1, P2])
    assert LearnerState.objects.count() == 1


def test_database_stores_are_equal_so_a_unit_of_work_shares_their_buffer():
    assert DjangoLearnerStateStore() == DjangoLearnerStateStore()
    assert hash(DjangoLearnerStateStore()) == hash(DjangoLearnerStateStore())
    assert DjangoLearnerStateStore() != CacheLearnerStateStore()
    assert DjangoLearnerStateStore() != object()


# ---- the cache store (authors' preview state)
def cache_key_of(store: CacheLearnerStateStore, key: StateKey) -> str:
    """Where the preview store keeps ``key``: its prefix and the SHA-256 of the key as JSON."""
    return store.key_prefix + hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()


def test_the_cache_store_keeps_each_key_under_a_short_hashed_cache_key():
    store = CacheLearnerStateStore()
    long_key = StateKey("one.usage", 7, COURSE, block("x" * 400) + " with spaces")
    store.save({long_key: {"n": 1}, P1: {"n": 2}})

    for key, state in [(long_key, {"n": 1}), (P1, {"n": 2})]:
        cache_key = cache_key_of(store, key)
        assert len(cache_key) < 250 and " " not in cache_key  # what memcached accepts
        assert caches["default"].get(cache_key) == state
    assert store.load([long_key, P1, P2]) == {long_key: {"n": 1}, P1: {"n": 2}}


def test_the_cache_store_merges_and_deletes_fields():
    store = CacheLearnerStateStore()
    store.save({P1: {"a": 1, "b": 2}})
    store.save({P1: {"a": DELETED, "c": 3}, P2: {"d": DELETED}})
    assert store.load([P1, P2]) == {P1: {"b": 2, "c": 3}, P2: {}}


class ExpiringPreviewStore(CacheLearnerStateStore):
    timeout = 0  # Django's cache: expire at once


def test_the_cache_store_writes_with_its_timeout():
    assert CacheLearnerStateStore.timeout == 2 * 24 * 60 * 60
    store = ExpiringPreviewStore()
    store.save({P1: {"a": 1}})
    assert store.load([P1]) == {}
    assert caches["default"].get(cache_key_of(store, P1)) is None


def test_the_cache_store_writes_to_its_own_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "previews": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "lc-unit-previews"},
    }
    store = CacheLearnerStateStore()
    store.cache_alias = "previews"
    store.save({P1: {"a": 1}})
    assert caches["previews"].get(cache_key_of(store, P1)) == {"a": 1}
    assert CacheLearnerStateStore().load([P1]) == {}
    assert store.load([P1]) == {P1: {"a": 1}}


def test_cache_stores_are_equal_when_they_use_the_same_cache():
    first, second, elsewhere = CacheLearnerStateStore(), CacheLearnerStateStore(), CacheLearnerStateStore()
    elsewhere.cache_alias = "previews"
    assert first == second and hash(first) == hash(second)
    assert first != elsewhere and hash(first) != hash(elsewhere)
    assert ExpiringPreviewStore() != first  # another class: another store
    assert len({first, second, elsewhere, DjangoLearnerStateStore()}) == 3


def test_the_cache_store_does_nothing_for_no_keys():
    store = CacheLearnerStateStore()
    assert store.load([]) == {}
    store.save({})
    assert store.load([P1]) == {}


# ---- Variants and partition groups: rows that point at content entities
@pytest.fixture
def entities(db) -> list[int]:
    """Six entities of a package: stand-ins for selectors' pools and pool members."""
    package = get_or_create_package("lc-unit:learners", "Learner rows")
    writer = CourseWriter(package)
    with bulk_changes(package):
        return [writer.write_component("html", f"e{i}", f"<html>{i}</html>", "") for i in range(6)]


def new_variant(selector: int, members: list[int], **kwargs) -> NewVariant:
    return NewVariant(
        selector_entity_id=selector, entities=[[m, "html", f"e{m}"] for m in members],
        selector_version_id=None, rules_version_id=None, **kwargs,
    )


def test_create_variants_stores_new_rows_and_returns_them(entities, django_assert_num_queries):
    pool_a, pool_b, m1, m2, m3, _ = entities
    token = new_writer_token()
    # Two statements, whatever the number of rows, and a savepoint around them (as the test's
    # transaction encloses the call, like a request's unit of work).
    with django_assert_num_queries(4):
        stored = create_variants(7, COURSE, [new_variant(pool_a, [m1, m2]), new_variant(pool_b, [m3], group_id=1)],
                                 token)
    assert stored == {
        pool_a: StoredVariant(pool_a, 7, ([m1, "html", f"e{m1}"], [m2, "html", f"e{m2}"]), None, None, None, 0, token),
        pool_b: StoredVariant(pool_b, 7, ([m3, "html", f"e{m3}"],), None, None, 1, 0, token),
    }
    assert learner_variants(7, COURSE) == stored
    assert len(token) == 32 and token != new_writer_token()


def test_variants_and_partition_groups_are_inserted_in_one_order(entities):
    """By selector and by partition, whatever order they come in: two requests lock the same rows in the same order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pool_a, pool_b, m1, _, _, _ = entities
    with CaptureQueriesContext(connection) as queries:
        create_variants(7, COURSE, [new_variant(pool_b, [m1]), new_variant(pool_a, [m1])], new_writer_token())
        create_partition_groups(7, COURSE, [NewPartitionGroup(50, 1), NewPartitionGroup(40, 0)], new_writer_token())
    variant_insert, group_insert = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert variant_insert.index(f"({pool_a}, 7, ") < variant_insert.index(f"({pool_b}, 7, ")
    assert group_insert.index(f"'{COURSE}', 40, 0") < group_insert.index(f"'{COURSE}', 50, 1")


def test_create_variants_of_nothing_stores_nothing(entities, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert create_variants(7, COURSE, [], new_writer_token()) == {}


def test_a_second_writer_keeps_the_first_writers_row_and_adds_its_own(entities):
    pool_a, pool_b, m1, m2, m3, _ = entities
    first, second = new_writer_token(), new_writer_token()
    create_variants(7, COURSE, [new_variant(pool_a, [m1])], first)

    stored = create_variants(7, COURSE, [new_variant(pool_a, [m2]), new_variant(pool_b, [m3])], second)

    assert stored[pool_a].writer_token == first
    assert stored[pool_a].entities == ([m1, "html", f"e{m1}"],)
    assert stored[pool_b].writer_token == second
    assert LearnerVariant.objects.count() == 2


def test_variants_are_per_learner_and_per_run(entities):
    pool_a, _pool_b, m1, m2, m3, _ = entities
    token = new_writer_token()
    create_variants(7, COURSE, [new_variant(pool_a, [m1])], token)
    create_variants(8, COURSE, [new_variant(pool_a, [m2])], token)
    create_variants(7, OTHER_COURSE, [new_variant(pool_a, [m3])], token)

    assert learner_variants(7, COURSE)[pool_a].entities == ([m1, "html", f"e{m1}"],)
    assert learner_variants(8, COURSE)[pool_a].entities == ([m2, "html", f"e{m2}"],)
    assert learner_variants(7, OTHER_COURSE)[pool_a].entities == ([m3, "html", f"e{m3}"],)
    assert learner_variants(9, COURSE) == {}
    assert [v.user_id for v in variants_of_selector(COURSE, pool_a)] == [7, 8]
    assert variants_of_selector(COURSE, m1) == []


def test_a_variant_keeps_the_versions_it_was_made_from(entities):
    pool_a, m1 = entities[0], entities[2]
    pool_version = PublishableEntityVersion.objects.get(entity_id=pool_a).pk
    rules_version = PublishableEntityVersion.objects.get(entity_id=m1).pk
    new = NewVariant(pool_a, [[m1, "html", "e"]], pool_version, rules_version, group_id=3, generation=2)
    stored = create_variants(7, COURSE, [new], "t")[pool_a]
    assert (stored.selector_version_id, stored.rules_version_id, stored.group_id, stored.generation) == (
        pool_version, rules_version, 3, 2
    )


def test_replace_variant_replaces_the_row_it_read(entities, django_assert_num_queries):
    pool_a, _pool_b, m1, m2, _m3, _ = entities
    before = create_variants(7, COURSE, [new_variant(pool_a, [m1])], "first")[pool_a]

    with django_assert_num_queries(1):
        now = replace_variant(7, COURSE, new_variant(pool_a, [m2], generation=1), "second", replacing=before)

    assert now == StoredVariant(pool_a, 7, ([m2, "html", f"e{m2}"],), None, None, None, 1, "second")
    assert reread_variant(7, COURSE, pool_a) == now


@pytest.mark.parametrize("stale", ["writer_token", "generation"])
def test_replace_variant_writes_nothing_over_a_row_another_request_changed(entities, stale):
    pool_a, _pool_b, m1, m2, m3, _ = entities
    read = create_variants(7, COURSE, [new_variant(pool_a, [m1])], "first")[pool_a]
    # Another request replaced it meanwhile (a new token; or the same token, one generation on).
    other = replace_variant(
        7, COURSE, new_variant(pool_a, [m2], generation=1 if stale == "generation" else 0),
        "other" if stale == "writer_token" else "first", replacing=read,
    )
    assert other is not None

    assert replace_variant(7, COURSE, new_variant(pool_a, [m3], generation=1), "late", replacing=read) is None
    assert reread_variant(7, COURSE, pool_a) == other


def test_replace_variant_of_another_learner_or_run_writes_nothing(entities):
    pool_a, _pool_b, m1, m2, _m3, _ = entities
    read = create_variants(7, COURSE, [new_variant(pool_a, [m1])], "first")[pool_a]
    assert replace_variant(8, COURSE, new_variant(pool_a, [m2]), "x", replacing=read) is None
    assert replace_variant(7, OTHER_COURSE, new_variant(pool_a, [m2]), "x", replacing=read) is None
    assert reread_variant(7, COURSE, pool_a) == read


def test_reread_variant_of_a_selector_without_a_row_is_none(entities):
    assert reread_variant(7, COURSE, entities[0]) is None


def test_a_learners_partition_groups_are_created_once(db, django_assert_num_queries):
    with django_assert_num_queries(4):  # INSERT, re-read, and a savepoint around them
        created = create_partition_groups(7, COURSE, [NewPartitionGroup(100, 0), NewPartitionGroup(200, 1)], "first")
    assert created == {100: (0, True), 200: (1, True)}

    again = create_partition_groups(7, COURSE, [NewPartitionGroup(100, 1), NewPartitionGroup(300, 2)], "second")

    assert again == {100: (0, False), 300: (2, True)}, "the first writer's group stands"
    assert learner_partition_groups(7, COURSE) == {100: 0, 200: 1, 300: 2}
    assert learner_partition_groups(7, OTHER_COURSE) == {}
    assert learner_partition_groups(8, COURSE) == {}
    assert create_partition_groups(7, COURSE, [], "third") == {}


def test_reassign_partition_group_moves_a_learner_whose_group_is_the_one_replaced(db):
    create_partition_groups(7, COURSE, [NewPartitionGroup(100, 0)], "first")
    assert reassign_partition_group(7, COURSE, 100, 2, "second", replacing=0) == (2, True)
    row = PartitionGroup.objects.get()
    assert (row.group_id, row.writer_token) == (2, "second")


def test_reassign_partition_group_after_another_request_moved_the_learner_keeps_its_choice(db):
    create_partition_groups(7, COURSE, [NewPartitionGroup(100, 0)], "first")
    assert reassign_partition_group(7, COURSE, 100, 1, "second", replacing=0) == (1, True)

    assert reassign_partition_group(7, COURSE, 100, 2, "late", replacing=0) == (1, False)
    assert learner_partition_groups(7, COURSE) == {100: 1}


def test_reassign_partition_group_without_a_row_writes_nothing(db):
    assert reassign_partition_group(7, COURSE, 100, 2, "t", replacing=0) == (2, False)
    assert not PartitionGroup.objects.exists()


def test_learners_by_partition_group_lists_each_groups_learners_in_order(db):
    for user_id, group_id in [(9, 1), (7, 0), (8, 1), (3, 0)]:
        create_partition_groups(user_id, COURSE, [NewPartitionGroup(100, group_id)], "t")
    create_partition_groups(5, COURSE, [NewPartitionGroup(200, 0)], "t")  # another partition
    create_partition_groups(6, OTHER_COURSE, [NewPartitionGroup(100, 0)], "t")  # another run

    assert learners_by_partition_group(COURSE, 100) == {0: [3, 7], 1: [8, 9]}
    assert learners_by_partition_group(COURSE, 200) == {0: [5]}
    assert learners_by_partition_group(COURSE, 300) == {}
    assert learners_by_partition(COURSE) == {100: {0: [3, 7], 1: [8, 9]}, 200: {0: [5]}}
    assert learners_by_partition(OTHER_COURSE) == {100: {0: [6]}}


def test_a_group_set_by_hand_replaces_a_drawn_one_and_says_which_it_was(db):
    create_partition_groups(7, COURSE, [NewPartitionGroup(100, 0)], "drawn")
    assert set_partition_group(7, COURSE, 100, 1) == 0
    assert set_partition_group(7, COURSE, 100, 1) == 1  # nothing to change: the row is not written
    assert set_partition_group(7, COURSE, 200, 3) is None
    assert set_partition_group(7, OTHER_COURSE, 100, 0) is None
    assert learner_partition_groups(7, COURSE) == {100: 1, 200: 3}
    row = PartitionGroup.objects.get(course_key=COURSE, partition_id=100)
    assert row.writer_token not in ("", "drawn")  # a later draw does not take it for its own
    assert create_partition_groups(7, COURSE, [NewPartitionGroup(100, 0)], "late") == {100: (1, False)}


def test_remove_partition_group_deletes_one_row(db):
    set_partition_group(7, COURSE, 100, 1)
    set_partition_group(7, COURSE, 200, 1)
    set_partition_group(8, COURSE, 100, 1)
    assert remove_partition_group(7, COURSE, 100) is True
    assert remove_partition_group(7, COURSE, 100) is False
    assert learner_partition_groups(7, COURSE) == {200: 1}
    assert learners_by_partition_group(COURSE, 100) == {1: [8]}
