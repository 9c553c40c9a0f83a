"""
Studio's structure edits (lc_runtime.authoring, through lc_runtime.api): each changes the draft only;
learners see it after a publish of the block, or of the course; an export shows it; bad edits are
refused and write nothing; the platform hears of each after the commit.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from openedx_events.content_authoring.data import DuplicatedXBlockData, XBlockData
from openedx_events.content_authoring.signals import XBLOCK_CREATED, XBLOCK_DELETED, XBLOCK_DUPLICATED, XBLOCK_PUBLISHED

from lc_runtime import api
from lc_runtime.keys import to_usage_key
from tests.conftest import DEMO_COURSE, DEMO_KEY, usage

pytestmark = pytest.mark.django_db

COURSE = usage(DEMO_KEY, "course", "course")
WELCOME_UNIT = usage(DEMO_KEY, "vertical", "welcome-unit")
PRACTICE = usage(DEMO_KEY, "sequential", "practice")
FIRST_QUESTION = usage(DEMO_KEY, "vertical", "first-question")
SOMETHING_NEW = usage(DEMO_KEY, "vertical", "something-new")
AFTER_THE_QUESTION = usage(DEMO_KEY, "html", "after-the-question")
ORBIT = usage(DEMO_KEY, "problem", "orbit-question")
NEW_HTML = '<html display_name="Fresh"><p>Written in Studio.</p></html>'


@pytest.fixture
def demo(db):
    api.import_olx(DEMO_COURSE)


def children(key: str, mode: str = "draft") -> list[str]:
    runtime = api.get_runtime(None, course_key=DEMO_KEY, mode=mode)
    return [str(child) for child in runtime.get_block(to_usage_key(key)).children]


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models() if model._meta.app_label in ("lc_runtime", "openedx_content")
    }


def test_a_created_leaf_is_a_draft_until_its_unit_is_published(demo, tmp_path):
    created = api.create_block(None, WELCOME_UNIT, "html", block_id="fresh", position=0, olx=NEW_HTML)

    assert str(created) == usage(DEMO_KEY, "html", "fresh")
    assert children(WELCOME_UNIT)[0] == str(created)
    assert str(created) not in children(WELCOME_UNIT, "published")  # learners: nothing yet
    assert api.has_unpublished_changes(WELCOME_UNIT) and api.has_unpublished_changes(COURSE)
    assert not api.has_unpublished_changes(PRACTICE)

    summary = api.publish_block(None, WELCOME_UNIT)

    assert summary.entities_published >= 2  # the Unit and the new block
    assert children(WELCOME_UNIT, "published")[0] == str(created)
    assert not api.has_unpublished_changes(COURSE)
    runtime = api.get_runtime(None, course_key=DEMO_KEY)
    assert "Written in Studio." in runtime.get_block(created).data
    api.export_olx(DEMO_KEY, tmp_path / "export")
    assert "Written in Studio." in (tmp_path / "export" / "vertical" / "welcome-unit.xml").read_text()


def test_containers_and_leaves_are_created_from_fields(demo):
    unit = api.create_block(None, PRACTICE, "vertical", fields={"display_name": "Made in Studio"})
    leaf = api.create_block(None, unit, "html", fields={"display_name": "Empty for now"})

    runtime = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
    assert children(PRACTICE)[-1] == str(unit)
    assert runtime.get_block(unit).display_name == "Made in Studio"
    assert runtime.get_block(leaf).display_name == "Empty for now"
    assert children(str(unit)) == [str(leaf)]


def test_moving_reordering_and_deleting_change_the_draft_and_learners_after_a_publish(demo):
    api.move_block(None, AFTER_THE_QUESTION, WELCOME_UNIT, 1)
    api.reorder_children(None, PRACTICE, [SOMETHING_NEW, FIRST_QUESTION])
    api.delete_block(None, ORBIT)

    assert children(WELCOME_UNIT)[1] == AFTER_THE_QUESTION
    assert children(FIRST_QUESTION) == []
    assert children(PRACTICE) == [SOMETHING_NEW, FIRST_QUESTION]
    assert children(FIRST_QUESTION, "published") == [ORBIT, AFTER_THE_QUESTION]  # learners: as published

    api.publish(DEMO_KEY)

    assert children(PRACTICE, "published") == [SOMETHING_NEW, FIRST_QUESTION]
    assert children(FIRST_QUESTION, "published") == []
    assert AFTER_THE_QUESTION in children(WELCOME_UNIT, "published")
    assert not api.has_unpublished_changes(COURSE)


def test_publishing_one_subsection_leaves_the_rest_of_the_course_as_published(demo):
    api.delete_block(None, SOMETHING_NEW)
    api.create_block(None, WELCOME_UNIT, "html", block_id="elsewhere", olx=NEW_HTML)

    api.publish_block(None, PRACTICE)

    assert children(PRACTICE, "published") == [FIRST_QUESTION]
    assert usage(DEMO_KEY, "html", "elsewhere") not in children(WELCOME_UNIT, "published")
    assert api.has_unpublished_changes(WELCOME_UNIT) and not api.has_unpublished_changes(PRACTICE)


def test_a_duplicate_is_a_copy_with_new_ids_after_the_original(demo):
    copy = api.duplicate_block(None, FIRST_QUESTION)

    assert children(PRACTICE) == [FIRST_QUESTION, str(copy), SOMETHING_NEW]
    runtime = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
    original, duplicate = runtime.get_block(to_usage_key(FIRST_QUESTION)), runtime.get_block(copy)
    assert duplicate.display_name == original.display_name
    copied = [runtime.get_block(child) for child in duplicate.children]
    assert [block.scope_ids.block_type for block in copied] == ["problem", "html"]
    assert {child.block_id for child in duplicate.children}.isdisjoint({"orbit-question", "after-the-question"})
    assert copied[1].data == runtime.get_block(to_usage_key(AFTER_THE_QUESTION)).data


def test_discarding_the_course_s_changes_gives_back_what_is_published(demo):
    api.move_block(None, AFTER_THE_QUESTION, WELCOME_UNIT)
    api.create_block(None, WELCOME_UNIT, "html", block_id="fresh", olx=NEW_HTML)

    assert api.discard_changes(None, COURSE) >= 3

    assert not api.has_unpublished_changes(COURSE)
    assert children(FIRST_QUESTION) == [ORBIT, AFTER_THE_QUESTION]
    assert usage(DEMO_KEY, "html", "fresh") not in children(WELCOME_UNIT)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: api.create_block(None, PRACTICE, "html", olx=NEW_HTML), "cannot stand in <sequential>"),
    (lambda: api.create_block(None, WELCOME_UNIT, "html", olx="<problem/>"), "not <html>"),
    (lambda: api.create_block(None, WELCOME_UNIT, "html", position=9, olx=NEW_HTML), "outside 0..2"),
    (lambda: api.create_block(None, WELCOME_UNIT, "html", block_id="welcome-text", olx=NEW_HTML), "already exists"),
    (lambda: api.create_block(None, WELCOME_UNIT, "html", fields={"no_such_field": 1}), "no authored field"),
    (lambda: api.create_block(None, WELCOME_UNIT, "split_test"), "created by importing"),
    (lambda: api.move_block(None, PRACTICE, FIRST_QUESTION), "cannot stand in <vertical>"),
    (lambda: api.reorder_children(None, PRACTICE, [FIRST_QUESTION]), "each child"),
    (lambda: api.delete_block(None, COURSE), "no parent"),
    (lambda: api.delete_block(None, usage(DEMO_KEY, "html", "nowhere")), "not in the draft"),
])
def test_bad_edits_are_refused_and_write_nothing(demo, call, message):
    before = _row_counts()
    with pytest.raises(api.StructureError, match=message):
        call()
    assert _row_counts() == before


def test_learners_may_not_edit(demo, make_user):
    learner = make_user("learner")
    with pytest.raises(PermissionDenied):
        api.create_block(learner, WELCOME_UNIT, "html", olx=NEW_HTML)
    api.grant_role(DEMO_KEY, learner, "staff")
    api.create_block(learner, WELCOME_UNIT, "html", olx=NEW_HTML)


def test_each_edit_is_told_after_the_commit(demo, django_capture_on_commit_callbacks):
    received = []

    def receive(signal, **kwargs):
        received.append((signal.event_type.split(".")[-2], kwargs["xblock_info"]))

    events = (XBLOCK_CREATED, XBLOCK_DELETED, XBLOCK_DUPLICATED, XBLOCK_PUBLISHED)
    handlers = [lambda sender=None, signal=event, **kw: receive(signal, **kw) for event in events]
    for event, handler in zip(events, handlers, strict=True):
        event.connect(handler)
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            created = api.create_block(None, WELCOME_UNIT, "html", block_id="fresh", olx=NEW_HTML)
            copy = api.duplicate_block(None, created)
            api.delete_block(None, created)
            api.publish_block(None, WELCOME_UNIT)
            assert received == []  # nothing before the commit
    finally:
        for event, handler in zip(events, handlers, strict=True):
            event.disconnect(handler)
    assert received == [
        ("created", XBlockData(usage_key=created, block_type="html")),
        ("duplicated", DuplicatedXBlockData(usage_key=copy, block_type="html", source_usage_key=created)),
        ("deleted", XBlockData(usage_key=created, block_type="html")),
        ("published", XBlockData(usage_key=to_usage_key(WELCOME_UNIT), block_type="vertical")),
    ]


def test_a_selector_moves_with_its_pool_and_its_pool_is_edited_as_import_writes_it(db, make_user, tmp_path):
    from tests.conftest import SELECTOR_COURSE, SELECTOR_KEY

    api.import_olx(SELECTOR_COURSE)
    selector = to_usage_key(usage(SELECTOR_KEY, "randomize", "rnd"))  # shows one member of its pool, at random
    target = usage(SELECTOR_KEY, "vertical", "unit_ab")

    def pool(mode="draft"):
        return api.get_runtime(None, course_key=SELECTOR_KEY, mode=mode).get_block(selector).children

    members = pool()
    api.move_block(None, selector, target)
    added = api.create_block(None, selector, "html", block_id="new-member", olx="<html>a third arm</html>")
    api.delete_block(None, members[0])
    assert pool() == [*members[1:], added] and pool("published") == members  # learners: as published
    assert api.has_unpublished_changes(target)

    api.publish_block(None, target)  # the Unit takes its selector's pool with it

    assert pool("published") == [*members[1:], added]
    runtime = api.get_runtime(None, course_key=SELECTOR_KEY)
    assert runtime.get_block(to_usage_key(target)).children[-1] == selector
    learner = make_user("lena")
    seen = api.get_runtime(learner, course_key=SELECTOR_KEY).get_block(selector).get_children()
    assert len(seen) == 1 and seen[0].scope_ids.usage_id in pool("published")  # a Variant of the new pool

    copy = api.duplicate_block(None, selector)
    copied = api.get_runtime(None, course_key=SELECTOR_KEY, mode="draft").get_block(copy)
    assert copied.scope_ids.block_type == "randomize" and len(copied.children) == len(pool())
    assert set(copied.children).isdisjoint(pool())  # its own members, new ids

    api.publish(SELECTOR_KEY)
    api.export_olx(SELECTOR_KEY, tmp_path / "edited")  # the edited selectors, as OLX that imports again
    again = api.import_olx(tmp_path / "edited", course_key="course-v1:LcX+Sel+Edited", strict=True)
    assert again.problems == [] and again.blocks_by_type["randomize"] == 2
    edited = api.get_runtime(None, course_key="course-v1:LcX+Sel+Edited").get_block(
        to_usage_key(usage("course-v1:LcX+Sel+Edited", "randomize", "rnd")))
    assert [child.block_id for child in edited.children] == [child.block_id for child in pool("published")]

    api.delete_block(None, selector)
    api.publish(SELECTOR_KEY)
    assert selector not in api.get_runtime(None, course_key=SELECTOR_KEY).get_block(to_usage_key(target)).children
    assert not api.has_unpublished_changes(usage(SELECTOR_KEY, "course", "course"))


def test_an_export_after_edits_imports_as_the_edited_course(demo, tmp_path):
    unit = api.create_block(None, PRACTICE, "vertical", block_id="made-here", fields={"display_name": "Made here"})
    api.create_block(None, unit, "html", block_id="made-leaf", olx=NEW_HTML)
    api.move_block(None, AFTER_THE_QUESTION, WELCOME_UNIT, 0)
    api.reorder_children(None, PRACTICE, [str(unit), SOMETHING_NEW, FIRST_QUESTION])
    api.delete_block(None, ORBIT)
    copy = api.duplicate_block(None, WELCOME_UNIT)
    api.publish(DEMO_KEY)

    api.export_olx(DEMO_KEY, tmp_path / "edited")
    copy_key = "course-v1:LcX+Demo+Edited"
    assert api.import_olx(tmp_path / "edited", course_key=copy_key, strict=True).problems == []

    def outline(course_key: str) -> list:
        runtime = api.get_runtime(None, course_key=course_key)
        return [(record.block_type, record.block_id, record.title) for record in runtime.descendant_records(
            runtime.root_usage_key)]

    assert outline(copy_key) == outline(DEMO_KEY)
    assert ("html", "made-leaf", "Fresh") in outline(copy_key)
    assert not [block for block in outline(copy_key) if block[0] == "problem"]  # the one problem was deleted
    assert ("vertical", copy.block_id, "Welcome to the course") in outline(copy_key)


def test_moves_and_discards_are_told_as_updates(demo, django_capture_on_commit_callbacks):
    from openedx_events.content_authoring.signals import XBLOCK_UPDATED

    received = []

    def receive(sender=None, **kwargs):
        received.append(str(kwargs["xblock_info"].usage_key))

    XBLOCK_UPDATED.connect(receive)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            api.move_block(None, AFTER_THE_QUESTION, WELCOME_UNIT)
        assert sorted(received) == sorted([AFTER_THE_QUESTION, FIRST_QUESTION, WELCOME_UNIT])
        received.clear()
        with django_capture_on_commit_callbacks(execute=True):
            api.discard_changes(None, COURSE)
        assert received == [COURSE]
    finally:
        XBLOCK_UPDATED.disconnect(receive)


def test_a_block_moved_and_published_with_its_new_unit_only_is_listed_by_both_for_a_while(demo, make_user):
    api.move_block(None, AFTER_THE_QUESTION, WELCOME_UNIT)
    api.publish_block(None, WELCOME_UNIT)  # its old Unit's change (the block gone) is not published yet

    learner = make_user("lena")
    runtime = api.get_runtime(learner, course_key=DEMO_KEY)
    for unit in (WELCOME_UNIT, FIRST_QUESTION):
        assert AFTER_THE_QUESTION in [str(child) for child in runtime.get_block(to_usage_key(unit)).children]
        runtime.render(runtime.get_block(to_usage_key(unit)), "student_view")
    assert api.get_user_outline(DEMO_KEY, learner) is not None

    api.publish_block(None, FIRST_QUESTION)
    assert children(FIRST_QUESTION, "published") == [ORBIT]


def test_publishing_a_new_unit_lists_it_in_its_published_subsection(demo):
    unit = api.create_block(None, PRACTICE, "vertical", block_id="week-2", fields={"display_name": "Week 2"})
    api.create_block(None, unit, "html", olx=NEW_HTML)
    other = api.create_block(None, PRACTICE, "vertical", block_id="week-3")

    api.publish_block(None, unit)

    assert children(PRACTICE, "published") == [FIRST_QUESTION, SOMETHING_NEW, str(unit)]  # not week-3, a draft
    assert len(children(str(unit), "published")) == 1
    assert api.has_unpublished_changes(other) and not api.has_unpublished_changes(unit)


def test_a_key_of_another_course_is_refused(demo):
    with pytest.raises(api.StructureError, match="not a block of"):
        api.move_block(None, AFTER_THE_QUESTION, "block-v1:LcX+Other+2026+type@vertical+block@welcome-unit")


def test_studio_s_boilerplate_data_becomes_the_block_s_body(demo):
    problem = api.create_block(None, WELCOME_UNIT, "problem",
                               fields={"data": "<problem><p>Pick one.</p></problem>", "display_name": "Q"})
    html = api.create_block(None, WELCOME_UNIT, "html", fields={"data": "<p>Some <b>HTML</b></p>"})
    runtime = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
    assert "Pick one." in runtime.get_block(problem).data and runtime.get_block(problem).display_name == "Q"
    assert runtime.get_block(html).data.strip() == "<p>Some <b>HTML</b></p>"
