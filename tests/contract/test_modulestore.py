"""
The modulestore-shaped door (lc_runtime.modulestore): edx-platform's read and write calls, answered
with blocks that look like the split modulestore's, on the demo course, the selector course and, where
../shared is present, harvardx-studio-advanced.
"""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied
from opaque_keys.edx.keys import CourseKey, UsageKey

from lc_runtime import api
from lc_runtime.keys import to_usage_key
from lc_runtime.modulestore import DRAFT_PREFERRED, PUBLISHED_ONLY, ItemNotFoundError, LearningCoreModuleStore
from lc_runtime.signals import course_published
from tests.conftest import DEMO_COURSE, DEMO_KEY, SELECTOR_COURSE, SELECTOR_KEY, shared_olx, usage

pytestmark = pytest.mark.django_db

COURSE = usage(DEMO_KEY, "course", "course")
PRACTICE = usage(DEMO_KEY, "sequential", "practice")
FIRST_QUESTION = usage(DEMO_KEY, "vertical", "first-question")
ORBIT = usage(DEMO_KEY, "problem", "orbit-question")
WELCOME_UNIT = usage(DEMO_KEY, "vertical", "welcome-unit")


@pytest.fixture
def store(db, django_capture_on_commit_callbacks) -> LearningCoreModuleStore:
    with django_capture_on_commit_callbacks(execute=True):  # its announcements sent, as a real commit would
        api.import_olx(DEMO_COURSE)
    return LearningCoreModuleStore()


def test_blocks_look_like_the_split_modulestore_s(store):
    course = store.get_course(CourseKey.from_string(DEMO_KEY), depth=2)
    assert course.location == to_usage_key(COURSE) and course.category == "course"
    chapter = course.get_children()[1]
    assert all(isinstance(child, UsageKey) for child in chapter.children)
    sequence = store.get_item(to_usage_key(PRACTICE))
    assert sequence.get_parent().location == chapter.location
    assert sequence.url_name == "practice" and sequence.course_id == CourseKey.from_string(DEMO_KEY)
    problem = store.get_item(ORBIT)
    assert problem.graded is True  # inherited from its sequence (graded="true")
    assert store.get_parent_location(ORBIT) == to_usage_key(FIRST_QUESTION)
    assert store.get_parent_location(COURSE) is None


def test_missing_things_and_unsupported_calls(store):
    with pytest.raises(ItemNotFoundError):
        store.get_item(usage(DEMO_KEY, "html", "nowhere"))
    with pytest.raises(ItemNotFoundError):
        store.get_item("not a key")
    assert store.get_course("course-v1:No+Such+Run") is None
    assert not store.has_item(usage(DEMO_KEY, "html", "nowhere")) and store.has_item(ORBIT)
    assert store.has_course(DEMO_KEY) == CourseKey.from_string(DEMO_KEY)
    assert store.has_course(DEMO_KEY.upper(), ignore_case=True) == CourseKey.from_string(DEMO_KEY)
    assert store.has_course("course-v1:No+Such+Run") is None
    with pytest.raises(NotImplementedError, match="create_item"):
        store.create_item(None, DEMO_KEY, "about", "overview")
    with pytest.raises(NotImplementedError, match="clone_course"):
        store.clone_course(DEMO_KEY, "course-v1:LcX+Demo+Copy", None)
    assert store.get_modulestore_type(DEMO_KEY) == "split"


def test_get_items_matches_categories_names_fields_and_operators(store):
    key = CourseKey.from_string(DEMO_KEY)
    assert [b.url_name for b in store.get_items(key, qualifiers={"category": "problem"})] == ["orbit-question"]
    assert len(store.get_items(key, qualifiers={"category": "vertical"})) == 3
    assert {b.url_name for b in store.get_items(key, qualifiers={"category": {"$in": ["chapter", "course"]}})} == {
        "course", "getting-started", "going-further"}
    assert [b.url_name for b in store.get_items(key, qualifiers={"name": re.compile("^first")})] == ["first-question"]
    assert [b.url_name for b in store.get_items(key, settings={"format": "Homework"})] == ["practice"]
    graded = store.get_items(key, qualifiers={"category": "sequential", "graded": {"$exists": True}})
    assert [b.url_name for b in graded] == ["practice"]
    assert [b.url_name for b in store.get_items(key, category="html", name=lambda n: n.startswith("after"))] == [
        "after-the-question"]
    with pytest.raises(ItemNotFoundError):
        store.get_items("course-v1:No+Such+Run")


def test_branches_read_the_published_course_or_the_draft(store):
    created = api.create_block(None, WELCOME_UNIT, "html", block_id="fresh", olx="<html>new</html>")
    assert not store.has_item(created)  # published-only: the LMS default
    with store.branch_setting(DRAFT_PREFERRED):
        assert store.get_branch_setting() == DRAFT_PREFERRED
        assert store.has_item(created)
        assert store.has_changes(store.get_item(WELCOME_UNIT))
        with store.branch_setting(PUBLISHED_ONLY):
            assert not store.has_item(created)
    assert store.get_branch_setting() == PUBLISHED_ONLY
    with store.branch_setting(DRAFT_PREFERRED):  # edx-platform's revision options win over the branch
        assert not store.has_item(created, revision="rev-opt-published-only")
        assert len(store.get_items(DEMO_KEY, revision="rev-opt-published-only", qualifiers={"category": "html"})) == 3
    assert store.has_item(created, revision="rev-opt-draft-only")


def test_writes_are_made_as_a_known_author(store, make_user):
    learner = make_user("lena")
    with store.branch_setting(DRAFT_PREFERRED):
        with pytest.raises(PermissionDenied):
            store.create_child(learner.id, to_usage_key(WELCOME_UNIT), "html")
        with pytest.raises(PermissionDenied):
            store.create_child(987654, to_usage_key(WELCOME_UNIT), "html")  # no such user: not a system task
        block = store.get_item(ORBIT)
        block.display_name = "Renamed by a learner"
        with pytest.raises(PermissionDenied):
            store.update_item(block, learner.id)
        author = make_user("ana")
        api.grant_role(DEMO_KEY, author, "instructor")
        first = store.create_child(author.id, to_usage_key(WELCOME_UNIT), "html", position=0)
        assert store.get_item(WELCOME_UNIT).children[0] == first.location


def test_sections_and_subsections_publish_at_once_as_in_edx_platform(store):
    with store.branch_setting(DRAFT_PREFERRED):
        unit = store.create_child(None, to_usage_key(PRACTICE), "vertical", block_id="week-2")
        section = store.get_item(usage(DEMO_KEY, "chapter", "going-further"))
        section.display_name = "Going much further"
        store.update_item(section, None)
    assert store.get_item(usage(DEMO_KEY, "chapter", "going-further")).display_name == "Going much further"
    assert unit.location not in store.get_item(PRACTICE).children  # listed, but a draft: not for learners yet
    store.publish(unit.location, None)
    assert unit.location in store.get_item(PRACTICE).children


def test_studio_s_writes(store):
    with store.branch_setting(DRAFT_PREFERRED):
        child = store.create_child(None, to_usage_key(WELCOME_UNIT), "html", block_id="made",
                                   fields={"display_name": "Made here"})
        assert child.location == to_usage_key(usage(DEMO_KEY, "html", "made"))
        child.display_name = "Renamed here"
        store.update_item(child, None)
        assert store.get_item(child.location).display_name == "Renamed here"
        published = store.publish(to_usage_key(WELCOME_UNIT), None)
        assert child.location in published.children
        store.delete_item(to_usage_key(ORBIT), None)
        assert not store.has_item(ORBIT)
        store.revert_to_published(to_usage_key(COURSE), None)
        assert store.has_item(ORBIT)
        assert not store.has_changes(store.get_course(CourseKey.from_string(DEMO_KEY)))
    assert store.get_item(child.location).display_name == "Renamed here"  # published


def test_a_bulk_operation_is_one_course_published(store, django_capture_on_commit_callbacks):
    sent = []

    def receive(sender, course_key, **kwargs):
        sent.append(str(course_key))

    course_published.connect(receive)
    try:
        with django_capture_on_commit_callbacks(execute=True), store.bulk_operations(CourseKey.from_string(DEMO_KEY)):
            for number in range(3):
                api.create_block(None, WELCOME_UNIT, "html", olx=f"<html>{number}</html>")
                store.publish(to_usage_key(WELCOME_UNIT), None)
        assert sent == [DEMO_KEY]
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True), store.bulk_operations(DEMO_KEY, emit_signals=False):
            api.create_block(None, WELCOME_UNIT, "html", olx="<html>quiet</html>")
            store.publish(to_usage_key(WELCOME_UNIT), None)
        assert sent == []
    finally:
        course_published.disconnect(receive)


def test_course_lists_and_summaries(store):
    api.import_olx(SELECTOR_COURSE, publish=False)
    keys = store.get_course_keys()
    assert CourseKey.from_string(DEMO_KEY) in keys and CourseKey.from_string(SELECTOR_KEY) in keys
    assert [c.location.course_key for c in store.get_courses()] == [CourseKey.from_string(DEMO_KEY)]
    with store.branch_setting(DRAFT_PREFERRED):
        assert len(store.get_courses()) == 2
    (summary,) = store.get_course_summaries()
    assert (summary.id, summary.display_name, summary.display_org_with_default) == (
        CourseKey.from_string(DEMO_KEY), "lc-runtime Demo Course", "LcX")
    assert store.get_orphans(DEMO_KEY) == []


def test_selector_members_are_items_of_their_course(db):
    api.import_olx(SELECTOR_COURSE)
    store = LearningCoreModuleStore()
    key = CourseKey.from_string(SELECTOR_KEY)
    split_tests = store.get_items(key, qualifiers={"category": "split_test"})
    assert sorted(b.url_name for b in split_tests) == ["ab", "ab2", "ab_seq"]
    member = split_tests[0].children[0]
    assert store.get_parent_location(member) == split_tests[0].location


def test_harvardx_problems_and_depth(db):
    result = api.import_olx(shared_olx("harvardx-studio-advanced"))
    store = LearningCoreModuleStore()
    key = CourseKey.from_string(result.course_key)
    problems = store.get_items(key, qualifiers={"category": "problem"})
    assert len(problems) == result.blocks_by_type["problem"]
    for category in ("chapter", "sequential", "vertical", "html", "video"):
        assert len(store.get_items(key, qualifiers={"category": category})) == result.blocks_by_type.get(category, 0)
    course = store.get_course(key, depth=3)
    unit = course.get_children()[0].get_children()[0].get_children()[0]
    assert unit.category == "vertical"
    assert store.get_parent_location(unit.location) == unit.get_parent().location


class OtherStore:
    """A stand-in for the platform's own modulestore: one course of its own, every call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.key = CourseKey.from_string("course-v1:Old+Mongo+2020")

    def get_item(self, usage_key, depth=0, **kwargs):
        self.calls.append(("get_item", str(usage_key)))
        return "an item of the other store"

    def get_course(self, course_key, depth=0, **kwargs):
        self.calls.append(("get_course", str(course_key)))
        return None

    def get_course_keys(self):
        return [self.key, CourseKey.from_string(DEMO_KEY)]  # it still has the old copy of the moved course

    def get_courses(self, **kwargs):
        return []

    def get_course_summaries(self, **kwargs):
        return []

    def fill_in_run(self, course_key):
        self.calls.append(("fill_in_run", str(course_key)))
        return course_key


def test_the_router_sends_each_course_to_its_store(store):
    from lc_runtime.modulestore import CourseRouter

    other = OtherStore()
    router = CourseRouter(other)
    assert router.get_item(to_usage_key(ORBIT)).category == "problem"  # in Learning Core: read there
    assert router.get_item("block-v1:Old+Mongo+2020+type@problem+block@p1") == "an item of the other store"
    assert router.get_course(other.key) is None and router.get_course(DEMO_KEY).category == "course"
    assert router.get_course_keys() == [CourseKey.from_string(DEMO_KEY), other.key]
    router.fill_in_run(other.key)  # anything else: the other store's
    assert other.calls == [
        ("get_item", "block-v1:Old+Mongo+2020+type@problem+block@p1"),
        ("get_course", "course-v1:Old+Mongo+2020"),
        ("fill_in_run", "course-v1:Old+Mongo+2020"),
    ]
    # A host's own route: the demo course stays in the other store until the operator moves it.
    held_back = CourseRouter(other, route=lambda key: False)
    assert held_back.get_item(to_usage_key(ORBIT)) == "an item of the other store"
