"""
The learner-state stores: learners' state in the database, authors' preview state in the cache.

The database store reads and writes any number of keys in a fixed number of queries (SQLite once
failed past about 1,000 keys: "Expression tree is too large"). Draft (Studio) runtimes keep an
author's state in the preview store, with the same keys as a learner's: it never reaches the
learner-state table, and a unit of work that rolls back writes nothing there either.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from webob import Request

from lc_runtime import api
from lc_runtime.content.learners.api import (
    DELETED,
    CacheLearnerStateStore,
    DjangoLearnerStateStore,
    StateKey,
    get_learner_state_store,
    get_preview_state_store,
)
from lc_runtime.models import LearnerState
from tests.conftest import UOW_KEY, usage

COUNTER_A = usage(UOW_KEY, "lc_test_counter", "counter-a")
COUNTER_B = usage(UOW_KEY, "lc_test_counter", "counter-b")
OTHER_COURSE = "course-v1:LcX+Other+2026"


class OtherPreviewStore(CacheLearnerStateStore):
    """A configured preview store (see ``test_the_preview_store_is_a_setting``)."""

    key_prefix = "lc-runtime-tests:preview:"


@pytest.fixture
def author(make_user):
    return make_user("sam", is_staff=True)


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


# ---- the database store: thousands of keys, a fixed number of queries
def test_the_database_store_reads_and_writes_thousands_of_keys(db):
    store = DjangoLearnerStateStore()
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
    assert statements.count("SELECT") == 1
    if connection.features.max_query_params is None:  # SQLite splits the upsert and the update in batches
        assert statements == ["INSERT", "SELECT", "UPDATE"]

    with CaptureQueriesContext(connection) as queries:
        loaded = store.load(keys)
    assert len(queries.captured_queries) == 1
    assert loaded == {key: {"n": i, "gone": "soon"} for i, key in enumerate(keys)}

    store.save({key: {"gone": DELETED, "again": i} for i, key in enumerate(keys)})
    assert store.load(keys) == {key: {"n": i, "again": i} for i, key in enumerate(keys)}
    assert store.load(decoys) == {key: {"decoy": True} for key in decoys}
    assert store.load([StateKey("one.usage", 7, UOW_KEY, "nothing stored")]) == {}
    assert LearnerState.objects.count() == len(keys) + len(decoys)


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
