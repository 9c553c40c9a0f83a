"""The foundation: import, tree, blocks, rendering, drafts vs published, authored read-only."""

from __future__ import annotations

import pytest
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.fielddata.authored import AuthoredFieldReadOnly
from tests.conftest import DEMO_COURSE, DEMO_KEY, SELECTOR_COURSE, usage


def test_import_reports_blocks_by_type(demo_course):
    assert demo_course.course_key == DEMO_KEY
    assert demo_course.blocks_by_type == {
        "course": 1, "chapter": 2, "sequential": 2, "vertical": 3,
        "html": 3, "problem": 1, "video": 1, "hologram": 1,
    }
    assert demo_course.problems == []
    assert demo_course.published.entities_published == 14


def test_tree_keys_follow_edx_platform(demo_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    course = runtime.get_block(usage(DEMO_KEY, "course", "course"))
    assert str(course.scope_ids.usage_id) == "block-v1:LcX+Demo+2026+type@course+block@course"
    assert course.wiki_slug == "LcX.Demo.2026"  # <wiki> is course metadata, not a block
    chapters = course.get_children()
    assert [c.display_name for c in chapters] == ["Getting Started", "Going Further"]
    unit = runtime.get_block(usage(DEMO_KEY, "vertical", "first-question"))
    assert [str(k) for k in unit.children] == [
        usage(DEMO_KEY, "problem", "orbit-question"),
        usage(DEMO_KEY, "html", "after-the-question"),
    ]
    problem = unit.get_children()[0]
    assert problem.get_parent() is unit
    assert unit.get_child(unit.children[0]) is problem
    assert unit.get_parent().get_parent() is chapters[1]


def test_get_block_in_a_loaded_tree_costs_no_query(demo_course, make_user, django_assert_num_queries):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    runtime.access()  # decided once per runtime, at the first block: what ada may reach (her roles, dates)
    with django_assert_num_queries(0):
        block = runtime.get_block(usage(DEMO_KEY, "html", "welcome-text"))
        assert runtime.get_block(usage(DEMO_KEY, "html", "welcome-text")) is block
        assert block.display_name == "Welcome"


def test_unknown_usage_keys_are_refused(demo_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    for bad in (
        usage(DEMO_KEY, "html", "no-such-block"),
        "block-v1:Other+Course+Run+type@html+block@welcome-text",
        "not a key",
    ):
        with pytest.raises(NoSuchUsage):
            runtime.get_block(bad)


def test_inheritance_nearest_ancestor_wins(demo_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    problem = runtime.get_block(usage(DEMO_KEY, "problem", "orbit-question"))
    assert problem.graded is True  # set on the <sequential>, two levels up
    assert problem.self_paced is True  # set on the course root
    assert problem.max_attempts == 3  # set on the problem itself
    welcome = runtime.get_block(usage(DEMO_KEY, "html", "welcome-text"))
    assert welcome.graded is False  # nobody above sets it: the field default


def test_unknown_block_type_renders_a_placeholder(demo_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    block = runtime.get_block(usage(DEMO_KEY, "hologram", "future-block"))
    html = runtime.render(block, "student_view").content
    assert "No XBlock is installed for the block type <code>hologram</code>" in html
    assert 'depth="3"' in block.olx


def test_published_runtime_never_writes_authored_fields(demo_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    block = runtime.get_block(usage(DEMO_KEY, "html", "welcome-text"))
    block.display_name = "Hacked"
    with pytest.raises(AuthoredFieldReadOnly, match="read-only in a published"):
        block.save()


def test_learners_never_get_a_draft_runtime(demo_course, make_user):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        api.get_runtime(make_user("ada"), course_key=DEMO_KEY, mode="draft")


def test_draft_edit_is_invisible_to_learners_until_published(demo_course, make_user):
    author = make_user("sam", is_staff=True)
    learner = make_user("ada")
    key = usage(DEMO_KEY, "html", "after-the-question")
    with api.unit_of_work():
        studio = api.get_runtime(author, course_key=DEMO_KEY, mode="draft")
        block = studio.get_block(key)
        block.display_name = "Why it matters (revised)"
        block.data = "<p>Revised.</p>"
        block.save()

    draft_view = api.get_runtime(author, course_key=DEMO_KEY, mode="draft").get_block(key)
    assert draft_view.display_name == "Why it matters (revised)"
    assert draft_view.data == "<p>Revised.</p>"
    published = api.get_runtime(learner, course_key=DEMO_KEY).get_block(key)
    assert published.display_name == "Why it matters"

    api.publish(DEMO_KEY)
    published = api.get_runtime(learner, course_key=DEMO_KEY).get_block(key)
    assert published.display_name == "Why it matters (revised)"
    assert "Revised." in published.data


def test_saving_an_unchanged_block_creates_no_version(demo_course, make_user):
    author = make_user("sam", is_staff=True)
    key = usage(DEMO_KEY, "problem", "orbit-question")
    studio = api.get_runtime(author, course_key=DEMO_KEY, mode="draft")
    block = studio.get_block(key)
    block.save()
    assert api.publish(DEMO_KEY).entities_published == 0


def test_reimport_of_an_unchanged_course_creates_nothing(demo_course):
    again = api.import_olx(DEMO_COURSE)
    assert again.created == 0 and again.updated == 0
    assert again.unchanged == demo_course.created
    assert again.published.entities_published == 0


def test_the_tag_to_class_map_is_configurable(demo_course, make_user, settings):
    """LC_RUNTIME["BLOCK_CLASSES"] maps an OLX tag to any installed XBlock (entry point or module:Class)."""
    from lc_runtime.blocks.registry import load_block_class

    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "BLOCK_CLASSES": {"hologram": "lc_test_counter"}}
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    block = runtime.get_block(usage(DEMO_KEY, "hologram", "future-block"))
    assert type(block).unmixed_class is load_block_class("hologram")
    assert type(block).unmixed_class.__name__ == "CounterBlock"
    assert "A block from the future: 0 of 0" in runtime.render(block, "student_view").content


@pytest.mark.django_db
def test_siblings_inherit_their_own_copy_of_a_list_setting():
    course_key = api.import_olx(SELECTOR_COURSE).course_key
    runtime = api.get_runtime(None, course_key=course_key)
    unit = next(record for record in runtime.iter_records()
                if record.block_type == "vertical" and len(record.children) >= 2)
    first, second = (runtime.get_block(runtime.usage_key_of(ref)) for ref in unit.children[:2])
    inherited = list(second.user_partitions)
    assert inherited  # the course sets partitions: both blocks inherit them
    first.user_partitions.append({"id": 999, "name": "changed in place"})
    assert second.user_partitions == inherited
