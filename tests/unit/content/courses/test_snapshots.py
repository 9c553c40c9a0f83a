"""
How course trees are kept between requests (lc_runtime.content.courses.snapshots, ADR 0019): the stored
form in Django's cache (compressed, in parts no larger than ``CACHE_ITEM_BYTES``), and the trees one
process keeps loaded in front of it. The paths are told apart by query counts and by what the shared
cache is asked, never by timings.
"""

from __future__ import annotations

import pickle
import uuid

import pytest
from django.core.cache import caches
from django.test.utils import override_settings

from lc_runtime import api
from lc_runtime.content.courses.api import (
    StoredFormError,
    dump_tree,
    forget_loaded_trees,
    load_course_tree,
    load_tree,
    loaded_trees_usage,
)
from lc_runtime.keys import to_course_key
from tests.conftest import DEMO_COURSE, DEMO_KEY, ROOT, forget_cached_courses, redis_answers

pytestmark = pytest.mark.django_db

DATES_COURSE = ROOT / "tests" / "fixtures" / "dates-course"
REDIS_URL = "redis://127.0.0.1:6379/3"
# The queries of a cold tree load of the demo course (run, levels, OLX, pools, leaf children, settings).
DEMO_COLD_TREE = 9


@pytest.fixture
def demo():
    api.import_olx(DEMO_COURSE)  # its publish loads (and keeps) the tree: start from nothing
    forget_cached_courses()
    return to_course_key(DEMO_KEY)


def _stored_items() -> dict:
    """Every tree entry and part the shared (local-memory) cache holds, by key."""
    cache = caches["default"]
    return {key: cache.get(key.split(":", 2)[2], version=int(key.split(":")[1]))
            for key in list(cache._cache) if "lc_runtime.tree" in key}


def test_the_stored_form_gives_back_the_same_tree(demo):
    tree = load_course_tree(demo, mode="published")
    loaded, memory = load_tree(dump_tree(tree))
    assert loaded.blocks == tree.blocks
    assert (loaded.course_key, loaded.mode, loaded.snapshot) == (demo, "published", tree.snapshot)
    assert loaded.root == tree.root
    assert loaded.refs_by_entity == tree.refs_by_entity
    assert memory > 0
    # Compact: well under half the size of the tree pickled as it is.
    assert len(dump_tree(tree)) < len(pickle.dumps(tree)) / 2


@pytest.mark.parametrize("stored", [b"", b"lc-runtime-tree/3\n...", b"lc-runtime-tree/4\nnot zlib", "text"])
def test_bytes_that_are_no_stored_tree_are_refused(stored):
    with pytest.raises(StoredFormError):
        load_tree(stored)


def test_a_warm_load_reads_neither_the_shared_cache_nor_more_than_the_run(demo, django_assert_num_queries):
    with django_assert_num_queries(DEMO_COLD_TREE):
        first = load_course_tree(demo, mode="published")
    assert loaded_trees_usage()[0] == 1
    caches["default"].clear()  # what this process keeps loaded is enough
    with django_assert_num_queries(1):
        again = load_course_tree(demo, mode="published")
    assert again.blocks is first.blocks  # the very records: nothing deserialized


def test_another_process_loads_the_stored_form_from_the_shared_cache(demo, django_assert_num_queries):
    first = load_course_tree(demo, mode="published")
    forget_loaded_trees()  # as a process that never loaded it
    with django_assert_num_queries(1):
        again = load_course_tree(demo, mode="published")
    assert again.blocks == first.blocks and again.blocks is not first.blocks
    assert loaded_trees_usage()[0] == 1


def test_a_damaged_stored_form_is_read_again_from_the_database(demo, django_assert_num_queries):
    first = load_course_tree(demo, mode="published")
    forget_loaded_trees()
    for key, value in _stored_items().items():
        caches["default"].set(key.split(":", 2)[2], value[:-10], version=int(key.split(":")[1]))
    with django_assert_num_queries(DEMO_COLD_TREE):
        tree = load_course_tree(demo, mode="published")
    assert tree.blocks == first.blocks


@override_settings(LC_RUNTIME={"CACHE_ITEM_BYTES": 1024})
def test_a_large_stored_form_is_written_in_parts_each_within_the_item_limit(demo, django_assert_num_queries):
    tree = load_course_tree(demo, mode="published")
    items = _stored_items()
    parts = [value for value in items.values() if isinstance(value, bytes)]
    assert len(parts) > 1 and all(len(part) <= 1024 for part in parts)
    forget_loaded_trees()
    with django_assert_num_queries(1):
        assert load_course_tree(demo, mode="published").blocks == tree.blocks
    # One part evicted on its own: the whole entry is a miss, read again from the database.
    part = next(key for key in caches["default"]._cache if "lc_runtime.tree-part:" in key)
    caches["default"].delete(part.split(":", 2)[2], version=4)
    forget_loaded_trees()
    with django_assert_num_queries(DEMO_COLD_TREE):
        assert load_course_tree(demo, mode="published").blocks == tree.blocks


def test_loaded_trees_stay_within_their_byte_budget(demo, settings):
    api.create_run(DEMO_KEY, "course-v1:LcX+Demo+Second")
    forget_loaded_trees()
    load_course_tree(demo, mode="published")
    _, one_tree = loaded_trees_usage()
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "LOADED_TREES_BYTES": one_tree + one_tree // 2}
    load_course_tree(to_course_key("course-v1:LcX+Demo+Second"), mode="published")
    kept, memory = loaded_trees_usage()
    assert kept == 1 and memory <= one_tree + one_tree // 2  # the older one went out
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "LOADED_TREES_BYTES": 0}
    forget_loaded_trees()
    load_course_tree(demo, mode="published")
    assert loaded_trees_usage() == (0, 0)  # no budget: nothing kept, every load reads the shared cache


@pytest.mark.skipif(not redis_answers(REDIS_URL), reason="no Redis server answers on 127.0.0.1:6379")
def test_trees_round_trip_through_a_real_redis(demo, settings, django_assert_num_queries):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"lc-runtime-test-{uuid.uuid4().hex}",
        }
    }
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "CACHE_ITEM_BYTES": 2048}  # in parts, too
    try:
        with django_assert_num_queries(DEMO_COLD_TREE):
            tree = load_course_tree(demo, mode="published")
        forget_loaded_trees()
        with django_assert_num_queries(1):
            assert load_course_tree(demo, mode="published").blocks == tree.blocks
    finally:
        caches["default"].clear()


def test_a_publish_leaves_the_tree_and_the_outline_in_the_shared_cache(django_assert_num_queries):
    api.import_olx(DEMO_COURSE)  # imported and published
    tree_keys = [key for key in caches["default"]._cache if "lc_runtime.tree:published:" in key]
    outline_keys = [key for key in caches["default"]._cache if "lc_runtime.outline:published:" in key]
    snapshot = load_course_tree(to_course_key(DEMO_KEY), mode="published").snapshot
    assert any(key.endswith(snapshot) for key in tree_keys)
    assert any(snapshot in key for key in outline_keys)
    # So a process that saw none of it reads the tree with the run's one query.
    forget_loaded_trees()
    with django_assert_num_queries(1):
        load_course_tree(to_course_key(DEMO_KEY), mode="published")


def test_after_a_publish_a_learners_first_request_finds_the_runs_dates_cached(
    django_user_model, django_assert_num_queries, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # as when the import's transaction commits
        course_key = api.import_olx(DATES_COURSE).course_key
    forget_loaded_trees()
    learner = django_user_model.objects.create_user("first-after-publish")
    # The run (1), the learner's course roles (1) and personal dates (1): not the run's content dates.
    with django_assert_num_queries(3):
        runtime = api.get_runtime(learner, course_key=course_key)
        runtime.get_block(runtime.root_usage_key)
        cached = runtime.learner_dates()
    forget_cached_courses()
    assert cached and api.get_runtime(learner, course_key=course_key).learner_dates() == cached
