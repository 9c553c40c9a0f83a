"""
The learner-state stores: learners' state in the database, authors' preview state in the cache.

The database stores (ours, and edx-platform's StudentModule table with every other scope in ours) keep
one contract, tested here against both (the ``store`` fixture): they read and write any number of keys
in a fixed number of queries per table (SQLite once failed past about 1,000 keys: "Expression tree is
too large"), merge changes, and lock a learner's state. Draft (Studio) runtimes keep an author's state
in the preview store, with the same keys as a learner's: it never reaches the learner-state table, and
a unit of work that rolls back writes nothing there either.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from webob import Request

from lc_runtime import api
from lc_runtime.content.learners.api import (
    ALL_LEARNERS,
    DELETED,
    CacheLearnerStateStore,
    DjangoLearnerStateStore,
    StateKey,
    StudentModuleStateStore,
    get_learner_state_store,
    get_preview_state_store,
)
from lc_runtime.models import LearnerState
from tests.conftest import UOW_KEY, usage
from tests.edx_tables import student_module_rows

COUNTER_A = usage(UOW_KEY, "lc_test_counter", "counter-a")
COUNTER_B = usage(UOW_KEY, "lc_test_counter", "counter-b")
OTHER_COURSE = "course-v1:LcX+Other+2026"


class OtherPreviewStore(CacheLearnerStateStore):
    """A configured preview store (see ``test_the_preview_store_is_a_setting``)."""

    key_prefix = "lc-runtime-tests:preview:"


@pytest.fixture
def author(make_user):
    return make_user("sam", is_staff=True)


STORES = {
    "learnerstate": "lc_runtime.content.learners.api:DjangoLearnerStateStore",
    "studentmodule": "lc_runtime.content.learners.api:StudentModuleStateStore",
}


@pytest.fixture(params=sorted(STORES))
def store(request, edx_tables, db, settings):
    """The configured learner-state store, once ours and once edx-platform's StudentModule table (with ours)."""
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "LEARNER_STATE_STORE": STORES[request.param]}
    return get_learner_state_store()


def tables_of(store) -> int:
    """How many tables a store's load or save of every scope reaches."""
    return 2 if isinstance(store, StudentModuleStateStore) else 1


def stored_count(store) -> int:
    """Every stored object of the store: rows of our table, and of the StudentModule table with state."""
    rows = LearnerState.objects.count()
    if isinstance(store, StudentModuleStateStore):
        rows += sum(1 for row in student_module_rows(store.table) if row["state"] is not None)
    return rows


def click(runtime, key: str = COUNTER_A) -> dict:
    request = Request.blank("/", method="POST", body=b"{}")
    return json.loads(runtime.handle(runtime.get_block(key), "click", request).body)


def many_keys(user_id: int, course_key: str, count: int) -> list[StateKey]:
    """``count`` keys in several (scope, learner, course run) groups, as a large course's render reads."""
    keys = [StateKey("one.usage", user_id, course_key, usage(course_key, "problem", f"p{i}")) for i in range(count)]
    keys += [StateKey("all.usage", 0, course_key, usage(course_key, "problem", f"p{i}")) for i in range(count // 2)]
    keys += [StateKey("one.type", user_id, "", f"type{i}") for i in range(20)]
    keys.append(StateKey("one.all", user_id, "", ""))
    return keys


# ---- the database stores: thousands of keys, a fixed number of queries
def test_the_database_store_reads_and_writes_thousands_of_keys(store):
    keys = many_keys(7, UOW_KEY, 1_500)
    assert len(keys) > 2_000
    # Rows next to the ones asked for: another learner, another course run, a block key not asked for.
    decoys = [
        *(key._replace(user_id=8) for key in keys[:10]),
        *(key._replace(course_key=OTHER_COURSE) for key in keys[:10]),
        StateKey("all.usage", 0, OTHER_COURSE, keys[0].block_key),
        StateKey("one.type", 8, "", "type0"),
        StateKey("one.all", 8, "", ""),
        StateKey("one.usage", 7, UOW_KEY, "not asked for"),
    ]
    store.save({key: {"decoy": True} for key in decoys})

    with CaptureQueriesContext(connection) as queries:
        store.save({key: {"n": i, "gone": "soon"} for i, key in enumerate(keys)})
    statements = [q["sql"].split(None, 1)[0].upper() for q in queries.captured_queries]
    assert statements.count("SELECT") == tables_of(store)
    if connection.features.max_query_params is None:  # SQLite splits the upsert and the update in batches
        assert statements == ["INSERT", "SELECT", "UPDATE"] * tables_of(store)

    with CaptureQueriesContext(connection) as queries:
        loaded = store.load(keys)
    assert len(queries.captured_queries) == tables_of(store)
    assert loaded == {key: {"n": i, "gone": "soon"} for i, key in enumerate(keys)}

    store.save({key: {"gone": DELETED, "again": i} for i, key in enumerate(keys)})
    assert store.load(keys) == {key: {"n": i, "again": i} for i, key in enumerate(keys)}
    assert store.load(decoys) == {key: {"decoy": True} for key in decoys}
    assert store.load([StateKey("one.usage", 7, UOW_KEY, "nothing stored")]) == {}
    assert stored_count(store) == len(keys) + len(decoys)


P1 = StateKey("one.usage", 7, UOW_KEY, usage(UOW_KEY, "problem", "p1"))
P2 = StateKey("one.usage", 7, UOW_KEY, usage(UOW_KEY, "problem", "p2"))
# Keys a render reads: the learner's own state per block, all learners' per block, the learner's per
# block type and across courses (empty course key), an aside's, and state of several runs and learners.
KEYS_OF_SEVERAL_SCOPES = [
    P1,
    P2,
    StateKey("all.usage", ALL_LEARNERS, UOW_KEY, P1.block_key),
    StateKey("one.type", 7, "", "problem"),
    StateKey("one.all", 7, "", ""),
    StateKey("one.usage", 7, UOW_KEY, f"aside-usage-v2:{P1.block_key}::lc_test_aside"),
    StateKey("one.usage", 8, UOW_KEY, P1.block_key),
    StateKey("one.usage", 7, OTHER_COURSE, usage(OTHER_COURSE, "problem", "p1")),
]


def test_a_store_merges_changes_and_deleted_removes_a_field(store):
    store.save({P1: {"attempts": 1, "score": 0.5, "answers": {"q": ["é", None]}}})
    store.save({P1: {"attempts": 2, "score": DELETED, "never": DELETED}, P2: {"seen": True}})
    assert store.load([P1, P2, P1]) == {P1: {"attempts": 2, "answers": {"q": ["é", None]}}, P2: {"seen": True}}
    assert store.load([StateKey("one.usage", 9, UOW_KEY, P1.block_key)]) == {}


def test_keys_of_several_scopes_learners_and_runs_are_kept_apart(store):
    store.save({key: {"i": i} for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES)})
    assert store.load(KEYS_OF_SEVERAL_SCOPES) == {key: {"i": i} for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES)}
    for i, key in enumerate(KEYS_OF_SEVERAL_SCOPES):
        assert store.load([key]) == {key: {"i": i}}
    assert stored_count(store) == len(KEYS_OF_SEVERAL_SCOPES)


def test_nothing_to_load_save_or_lock_costs_no_query(store, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert store.load([]) == {}
        store.save({})
        assert store.lock([]) == {}
        store.drop_empty([])


def test_lock_returns_the_stored_state_and_creates_a_missing_row_empty(store, django_assert_num_queries):
    store.save({P1: {"attempts": 2}})
    with django_assert_num_queries(1):  # SELECT ... FOR UPDATE (plain on SQLite)
        assert store.lock([P1]) == {P1: {"attempts": 2}}
    with django_assert_num_queries(3):  # the locking read, the upsert creating the row, the locking read again
        assert store.lock([P2, P2]) == {P2: {}}
    store.save({P2: {"seen": True}})
    assert store.load([P1, P2]) == {P1: {"attempts": 2}, P2: {"seen": True}}


def test_drop_empty_deletes_only_what_lock_left_empty(store, django_assert_num_queries):
    summary = StateKey("all.usage", ALL_LEARNERS, UOW_KEY, P1.block_key)
    store.lock([P1, P2, summary])
    store.save({P2: {"seen": True}})
    with django_assert_num_queries(tables_of(store)):
        store.drop_empty([P1, P2, summary])
    assert store.load([P1, P2, summary]) == {P2: {"seen": True}}
    assert stored_count(store) == 1


def test_a_learners_clicks_are_stored_and_read_back_through_the_configured_store(store, uow_course, author):
    with api.unit_of_work():
        runtime = api.get_runtime(author, course_key=UOW_KEY)
        assert type(runtime.learner.store) is type(store)
        assert click(runtime) == {"clicks": 1, "total": 1}
    with api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY)) == {"clicks": 2, "total": 2}
    block = api.get_runtime(author, course_key=UOW_KEY).get_block(COUNTER_A)
    assert (block.clicks, block.total_clicks) == (2, 2)
    own, summary = StateKey("one.usage", author.id, UOW_KEY, COUNTER_A), StateKey("all.usage", 0, UOW_KEY, COUNTER_A)
    assert store.load([own, summary]) == {own: {"clicks": 2}, summary: {"total_clicks": 2}}
    assert stored_count(store) == 2


def test_stores_of_one_kind_share_a_units_buffer():
    assert DjangoLearnerStateStore() == get_learner_state_store()
    assert CacheLearnerStateStore() == get_preview_state_store()
    assert len({DjangoLearnerStateStore(), DjangoLearnerStateStore(), CacheLearnerStateStore()}) == 2
    assert OtherPreviewStore() != CacheLearnerStateStore()


# ---- the preview store
def test_the_cache_store_merges_into_the_cached_objects():
    store = CacheLearnerStateStore()
    long_key = StateKey("one.usage", 7, UOW_KEY, usage(UOW_KEY, "problem", "x" * 300))
    key = StateKey("one.usage", 7, UOW_KEY, COUNTER_A)
    assert store.load([key, long_key]) == {}
    store.save({key: {"a": 1, "b": 2}, long_key: {"c": [1, 2]}})
    store.save({key: {"a": DELETED, "d": {"e": None}}})
    assert store.load([key, long_key, StateKey("one.usage", 8, UOW_KEY, COUNTER_A)]) == {
        key: {"b": 2, "d": {"e": None}},
        long_key: {"c": [1, 2]},
    }
    assert store.timeout == 2 * 24 * 60 * 60


def test_draft_runtimes_use_the_preview_store_with_the_learners_keys(uow_course, author):
    draft = api.get_runtime(author, course_key=UOW_KEY, mode="draft")
    published = api.get_runtime(author, course_key=UOW_KEY)
    assert isinstance(draft.learner.store, CacheLearnerStateStore)
    assert isinstance(published.learner.store, DjangoLearnerStateStore)
    for runtime in (draft, published):
        block = runtime.get_block(COUNTER_A)
        assert runtime.learner.key_for(block, "clicks") == StateKey("one.usage", author.id, UOW_KEY, COUNTER_A)
        assert runtime.learner.key_for(block, "total_clicks") == StateKey("all.usage", 0, UOW_KEY, COUNTER_A)


def test_preview_state_persists_across_draft_runtimes_and_stays_out_of_the_table(uow_course, author, make_user):
    with api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY, mode="draft")) == {"clicks": 1, "total": 1}
    with api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY, mode="draft")) == {"clicks": 2, "total": 2}

    again = api.get_runtime(author, course_key=UOW_KEY, mode="draft").get_block(COUNTER_A)
    assert (again.clicks, again.total_clicks) == (2, 2)
    assert LearnerState.objects.count() == 0
    # Neither the author as a learner nor a learner sees the preview.
    for user in (author, make_user("ada")):
        block = api.get_runtime(user, course_key=UOW_KEY).get_block(COUNTER_A)
        assert (block.clicks, block.total_clicks) == (0, 0)
    # Another author previewing shares the summary, not the state.
    theirs = api.get_runtime(make_user("kim", is_staff=True), course_key=UOW_KEY, mode="draft").get_block(COUNTER_A)
    assert (theirs.clicks, theirs.total_clicks) == (0, 2)


def test_a_rolled_back_unit_writes_nothing_to_the_cache(uow_course, author):
    with pytest.raises(ZeroDivisionError), api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY, mode="draft")) == {"clicks": 1, "total": 1}
        1 / 0  # noqa: B018
    with api.unit_of_work() as unit:
        click(api.get_runtime(author, course_key=UOW_KEY, mode="draft"), COUNTER_B)
        unit.set_rollback()

    keys = [StateKey(scope, user, UOW_KEY, counter) for scope, user in [("one.usage", author.id), ("all.usage", 0)]
            for counter in (COUNTER_A, COUNTER_B)]
    assert CacheLearnerStateStore().load(keys) == {}
    block = api.get_runtime(author, course_key=UOW_KEY, mode="draft").get_block(COUNTER_A)
    assert (block.clicks, block.total_clicks) == (0, 0)


def test_one_unit_writes_to_both_stores(uow_course, author):
    """The author clicks as a learner and in a preview, in one request: each store gets its own writes."""
    with api.unit_of_work():
        published = api.get_runtime(author, course_key=UOW_KEY)
        draft = api.get_runtime(author, course_key=UOW_KEY, mode="draft")
        assert click(published) == {"clicks": 1, "total": 1}
        assert click(draft) == {"clicks": 1, "total": 1}
        assert click(published) == {"clicks": 2, "total": 2}
        # Another runtime of the same unit reads each store's buffered writes.
        assert api.get_runtime(author, course_key=UOW_KEY).get_block(COUNTER_A).clicks == 2
        assert api.get_runtime(author, course_key=UOW_KEY, mode="draft").get_block(COUNTER_A).clicks == 1

    rows = {(row.scope, row.block_key): row.state for row in LearnerState.objects.all()}
    assert rows == {("one.usage", COUNTER_A): {"clicks": 2}, ("all.usage", COUNTER_A): {"total_clicks": 2}}
    preview = CacheLearnerStateStore().load(
        [StateKey("one.usage", author.id, UOW_KEY, COUNTER_A), StateKey("all.usage", 0, UOW_KEY, COUNTER_A)]
    )
    assert preview == {
        StateKey("one.usage", author.id, UOW_KEY, COUNTER_A): {"clicks": 1},
        StateKey("all.usage", 0, UOW_KEY, COUNTER_A): {"total_clicks": 1},
    }


def test_the_preview_store_is_a_setting(uow_course, author, settings):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "PREVIEW_STATE_STORE": f"{__name__}:OtherPreviewStore"}
    with api.unit_of_work():
        runtime = api.get_runtime(author, course_key=UOW_KEY, mode="draft")
        assert type(runtime.learner.store) is OtherPreviewStore
        click(runtime)
    key = StateKey("one.usage", author.id, UOW_KEY, COUNTER_A)
    assert OtherPreviewStore().load([key]) == {key: {"clicks": 1}}
    assert CacheLearnerStateStore().load([key]) == {}
