"""
Selectors and Variants through the public API: the built-ins, a plugin from the test package,
authors' previews, resets, events, the stored Variants and their rules under pool changes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.test import TestCase
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.models import LearnerVariant, PartitionGroup
from tests.conftest import ROOT, usage

SELECTOR_COURSE = ROOT / "tests" / "fixtures" / "selector-course"
KEY = "course-v1:LcX+Sel+2026"
AB = usage(KEY, "split_test", "ab")
AB2 = usage(KEY, "split_test", "ab2")
AB_SEQ = usage(KEY, "split_test", "ab_seq")
RANDOMIZE = usage(KEY, "randomize", "rnd")
BANK = usage(KEY, "itembank", "bank")
LIBRARY = usage(KEY, "library_content", "lib")
ROTATION = usage(KEY, "lc_test_rotation", "rot")
GROUP_CHILD = {0: {"ab": "group_a", "ab2": "group_a2"}, 1: {"ab": "group_b", "ab2": "group_b2"}}


@pytest.fixture
def selector_course(db):
    result = api.import_olx(SELECTOR_COURSE, strict=True)
    assert result.problems == []
    return result


@pytest.fixture
def events():
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event)

    api.xblock_event.connect(receiver, weak=False, dispatch_uid="test_selectors")
    yield received
    api.xblock_event.disconnect(dispatch_uid="test_selectors")


@pytest.fixture
def editable_course(tmp_path) -> Path:
    """A copy of the selector course to change and import again."""
    target = tmp_path / "selector-course"
    shutil.copytree(SELECTOR_COURSE, target)
    return target


def edit(course: Path, old: str, new: str) -> None:
    path = course / "course" / "2026.xml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


def request():
    """One request: a unit of work whose events go out when it commits (inside the test's transaction)."""
    return _Request()


class _Request:
    def __enter__(self):
        self._capture = TestCase.captureOnCommitCallbacks(execute=True)
        self._capture.__enter__()
        self._unit = api.unit_of_work()
        return self._unit.__enter__()

    def __exit__(self, *exc_info):
        try:
            return self._unit.__exit__(*exc_info)
        finally:
            self._capture.__exit__(*exc_info)


def children(user, usage_key: str, *, mode: str = "published") -> list[str]:
    """The block ids a selector shows ``user``, in order, in one request."""
    with request():
        runtime = api.get_runtime(user, course_key=KEY, mode=mode)
        return [child.scope_ids.usage_id.block_id for child in runtime.get_block(usage_key).get_children()]


# ---- storage


def test_selectors_import_as_pool_and_proxy(selector_course):
    assert selector_course.blocks_by_type["split_test"] == 3
    assert selector_course.blocks_by_type["itembank"] == 1
    runtime = api.get_runtime(None, course_key=KEY, mode="draft")
    unit = runtime.get_block(usage(KEY, "vertical", "unit_ab"))
    assert [c.scope_ids.usage_id.block_id for c in unit.get_children()] == ["intro", "ab", "ab2"]
    ab = runtime.get_block(AB)
    assert ab.user_partition_id == 100
    assert ab.group_id_to_child == {"0": "i4x://LcX/Sel/vertical/group_a", "1": "i4x://LcX/Sel/vertical/group_b"}
    assert ab.display_name == "Experiment one"
    # Authors see the whole pool; its members keep their own children.
    assert [c.scope_ids.usage_id.block_id for c in ab.get_children()] == ["group_a", "group_b"]
    assert ab.get_children()[0].get_children()[0].scope_ids.usage_id.block_id == "a_text"
    assert ab.get_children()[0].get_parent().scope_ids.usage_id == ab.scope_ids.usage_id
    library = runtime.get_block(LIBRARY)
    assert (library.max_count, library.source_library_id, library.capa_type) == (1, "library-v1:LcX+Lib", "any")


def test_a_selector_in_a_subsection_is_wrapped_in_a_synthetic_unit(selector_course, make_user):
    with api.unit_of_work():
        runtime = api.get_runtime(make_user("ada"), course_key=KEY)
        sequential = runtime.get_block(usage(KEY, "sequential", "seq2"))
        (wrapper,) = sequential.get_children()
        assert wrapper.scope_ids.usage_id.block_id == "ab_seq__lc_unit"
        assert wrapper.display_name == "Whole-step experiment"
        (selector,) = wrapper.get_children()
        assert selector.scope_ids.usage_id == runtime.get_block(AB_SEQ).scope_ids.usage_id
        assert len(selector.get_children()) == 1


def test_reimport_of_an_unchanged_course_creates_no_versions(selector_course):
    again = api.import_olx(SELECTOR_COURSE, strict=True)
    assert (again.created, again.updated) == (0, 0)
    assert again.published.entities_published == 0


def test_a_selector_in_the_wrong_place_is_a_problem(db, tmp_path):
    course = tmp_path / "bad"
    shutil.copytree(SELECTOR_COURSE, course)
    edit(course, '<chapter url_name="chapter" display_name="Chapter">',
         '<chapter url_name="chapter" display_name="Chapter"><randomize url_name="misplaced"/>')
    with pytest.raises(api.StrictImportError, match="randomize"):
        api.import_olx(course, strict=True)


# ---- split_test


def test_split_tests_on_one_partition_agree_and_learners_differ(selector_course, make_user, events):
    seen_groups = set()
    for index in range(16):
        user = make_user(f"learner{index}")
        shown = {name: children(user, usage(KEY, "split_test", name)) for name in ("ab", "ab2")}
        group = PartitionGroup.objects.get(user_id=user.id, course_key=KEY, partition_id=100).group_id
        seen_groups.add(group)
        assert shown == {name: [GROUP_CHILD[group][name]] for name in ("ab", "ab2")}
        assert children(user, AB_SEQ) == [f"seq_{'ab'[group]}"]
    assert seen_groups == {0, 1}, "two learners can get different content in the same unit"
    assigned = [e for e in events if e.event_type == "xmodule.partitions.assigned_user_to_partition"]
    assert len(assigned) == 16, "one assignment event per learner and partition"
    assert set(assigned[0].data) == {"group_id", "group_name", "partition_id", "partition_name"}
    assert assigned[0].data["partition_name"] == "Experiment"


def test_group_assignment_over_a_thousand_learners_is_balanced(selector_course, django_user_model):
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"many{i}", email=f"many{i}@example.com") for i in range(1000)]
    )
    counts = {0: 0, 1: 0}
    for user in django_user_model.objects.filter(username__startswith="many"):
        with api.unit_of_work():
            runtime = api.get_runtime(user, course_key=KEY)
            ab, ab2, ab_seq = (api.get_variant(runtime, key) for key in (AB, AB2, AB_SEQ))
        # Every split test on the partition agrees on the learner's group, and shows that group's child.
        assert ab.group_id == ab2.group_id == ab_seq.group_id
        assert [key.block_id for key in ab.members] == [GROUP_CHILD[ab.group_id]["ab"]]
        assert [key.block_id for key in ab2.members] == [GROUP_CHILD[ab.group_id]["ab2"]]
        counts[ab.group_id] += 1
    assert 450 <= counts[0] <= 550, counts
    assert PartitionGroup.objects.filter(course_key=KEY).count() == 1000


def test_a_learner_cannot_reach_another_groups_content(selector_course, make_user, client):
    ada = make_user("ada")
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        group = api.get_variant(runtime, AB).group_id
        mine, theirs = GROUP_CHILD[group]["ab"], GROUP_CHILD[1 - group]["ab"]
        runtime.get_block(usage(KEY, "vertical", mine))
        for other in (usage(KEY, "vertical", theirs), usage(KEY, "html", f"{theirs[-1]}_text")):
            with pytest.raises(NoSuchUsage, match="not in this learner's variant"):
                runtime.get_block(other)
    # Authors and system tasks (no user) reach the whole pool.
    assert api.get_runtime(None, course_key=KEY).get_block(usage(KEY, "vertical", theirs))


def test_adding_a_group_keeps_learners_and_removing_one_reassigns(selector_course, editable_course, make_user,
                                                                   events):
    users = [make_user(f"learner{i}") for i in range(16)]
    before = {user.id: children(user, AB) for user in users}
    groups = dict(PartitionGroup.objects.filter(course_key=KEY).values_list("user_id", "group_id"))
    policy = editable_course / "policies" / "2026" / "policy.json"
    policy.write_text(policy.read_text().replace(
        '{"id": 1, "name": "B", "version": 1}]', '{"id": 1, "name": "B", "version": 1}, {"id": 2, "name": "C"}]'
    ))
    api.import_olx(editable_course, strict=True)
    assert {user.id: children(user, AB) for user in users} == before
    assert dict(PartitionGroup.objects.filter(course_key=KEY).values_list("user_id", "group_id")) == groups

    # Group 0 goes: its learners are assigned again (to 1 or 2) on their next visit, the others stay.
    policy.write_text(policy.read_text().replace('{"id": 0, "name": "A", "version": 1}, ', ""))
    api.import_olx(editable_course, strict=True)
    events.clear()
    for user in users:
        children(user, AB)
    after = dict(PartitionGroup.objects.filter(course_key=KEY).values_list("user_id", "group_id"))
    moved = [user_id for user_id, group in groups.items() if group == 0]
    assert moved, "some of 16 learners are in group 0 (all in group 1: a chance of 1 in 65,536)"
    assert all(after[user_id] in (1, 2) for user_id in moved)
    assert all(after[user_id] == group for user_id, group in groups.items() if group != 0)
    reassigned = [e for e in events if e.event_type == "xmodule.partitions.assigned_user_to_partition"]
    assert sorted(e.user_id for e in reassigned) == sorted(moved)


# ---- randomize


def test_randomize_is_stable_and_keyed_by_identity(selector_course, editable_course, make_user):
    users = [make_user(f"learner{i}") for i in range(9)]
    first = {user.id: children(user, RANDOMIZE) for user in users}
    assert all(len(shown) == 1 for shown in first.values())
    assert len({shown[0] for shown in first.values()}) > 1
    assert {user.id: children(user, RANDOMIZE) for user in users} == first

    # Removing r1 and adding r4: learners who had r2 or r3 keep it; r1's learners draw again.
    edit(editable_course, '<html url_name="r1">Version one.</html>', "")
    edit(editable_course, '<html url_name="r3">Version three.</html>',
         '<html url_name="r3">Version three.</html><html url_name="r4">Version four.</html>')
    api.import_olx(editable_course, strict=True)
    for user in users:
        now = children(user, RANDOMIZE)
        if first[user.id] == ["r1"]:
            assert now[0] in ("r2", "r3", "r4")
        else:
            assert now == first[user.id]


# ---- itembank and library_content


def bank_events(events, prefix="edx.itembankblock.content"):
    return [(e.event_type.removeprefix(prefix + "."), e.data) for e in events if e.event_type.startswith(prefix)]


def keys(*block_ids: str) -> list[dict]:
    return [{"usage_key": usage(KEY, "html", block_id)} for block_id in block_ids]


def test_itembank_follows_make_selection_through_pool_and_max_count_changes(
    selector_course, editable_course, make_user, events
):
    ada = make_user("ada")
    first = children(ada, BANK)
    assert len(first) == 2 and set(first) <= {"q1", "q2", "q3", "q4"}
    [(name, data)] = bank_events(events)
    assert name == "assigned"
    added = data.pop("added")  # in the order drawn; the selection's display order is shuffled after
    assert data == {"location": BANK, "result": keys(*first), "previous_count": 0, "max_count": 2}
    assert sorted(added, key=str) == sorted(keys(*first), key=str)
    assert children(ada, BANK) == first, "stable across requests"

    # Pool growth: a full selection stays as it is, and nothing is sent.
    events.clear()
    edit(editable_course, '<html url_name="q4">Question four.</html>',
         '<html url_name="q4">Question four.</html><html url_name="q5">Question five.</html>')
    api.import_olx(editable_course, strict=True)
    assert children(ada, BANK) == first
    assert bank_events(events) == []

    # Pool shrink: a chosen member leaves; it is reported invalid and replaced from the pool.
    gone, kept = first
    edit(editable_course, f'<html url_name="{gone}">', f'<html url_name="{gone}_renamed">')
    api.import_olx(editable_course, strict=True)
    events.clear()
    after_shrink = children(ada, BANK)
    assert kept in after_shrink and gone not in after_shrink and len(after_shrink) == 2
    (removed_name, removed), (assigned_name, assigned) = bank_events(events)
    assert (removed_name, removed["reason"], removed["removed"]) == ("removed", "invalid", keys(gone))
    # Every event carries the whole new selection, as edx-platform's do; previous_count follows it.
    assert removed["result"] == assigned["result"] == keys(*after_shrink) and removed["previous_count"] == 2
    assert assigned_name == "assigned" and assigned["previous_count"] == 2
    assert assigned["added"] == keys(next(b for b in after_shrink if b != kept))

    # max_count up: topped up; down: random members dropped as overlimit.
    edit(editable_course, 'max_count="2"', 'max_count="4"')
    api.import_olx(editable_course, strict=True)
    events.clear()
    after_up = children(ada, BANK)
    assert len(after_up) == 4 and set(after_shrink) <= set(after_up)
    [(name, data)] = bank_events(events)
    assert name == "assigned" and len(data["added"]) == 2 and data["max_count"] == 4

    edit(editable_course, 'max_count="4"', 'max_count="1"')
    api.import_olx(editable_course, strict=True)
    events.clear()
    after_down = children(ada, BANK)
    assert len(after_down) == 1 and after_down[0] in after_up
    [(name, data)] = bank_events(events)
    assert (name, data["reason"], len(data["removed"]), data["previous_count"]) == ("removed", "overlimit", 3, 4)
    assert data["result"] == keys(*after_down)

    # max_count -1: the whole pool.
    edit(editable_course, 'max_count="1"', 'max_count="-1"')
    api.import_olx(editable_course, strict=True)
    assert len(children(ada, BANK)) == 5


def test_library_content_sends_its_own_events_in_the_legacy_format(selector_course, make_user, events):
    ada = make_user("ada")
    (chosen,) = children(ada, LIBRARY)
    [(name, data)] = bank_events(events, "edx.librarycontentblock.content")
    assert name == "assigned"
    assert data["result"] == [{"usage_key": usage(KEY, "html", chosen), "original_usage_key": None,
                               "original_usage_version": None, "descendants": []}]
    assert bank_events(events) == [(n, d) for n, d in bank_events(events) if "bank" in d["location"]]


def test_reset_draws_again_only_where_allowed(selector_course, editable_course, make_user, events):
    from webob import Request

    ada = make_user("ada")
    with request():
        runtime = api.get_runtime(ada, course_key=KEY)
        response = runtime.handle(runtime.get_block(BANK), "reset_selected_children", Request.blank("/", method="POST"))
    assert response.status_code == 400

    edit(editable_course, 'max_count="2"', 'max_count="2" allow_resetting_children="true"')
    api.import_olx(editable_course, strict=True)
    first = children(ada, BANK)
    draws = {tuple(first)}
    for _ in range(6):
        with request():
            runtime = api.get_runtime(ada, course_key=KEY)
            response = runtime.handle(
                runtime.get_block(BANK), "reset_selected_children", Request.blank("/", method="POST")
            )
            assert response.status_code == 200
        now = children(ada, BANK)
        assert len(now) == 2
        draws.add(tuple(now))
    assert len(draws) > 1, "a reset draws again"
    stored = [v for v in LearnerVariant.objects.filter(user_id=ada.id, course_key=KEY) if v.generation]
    assert [v.generation for v in stored] == [6]


# ---- the plugin from the test package


def test_a_plugin_selector_from_another_package_works_end_to_end(selector_course, make_user, events):
    from lc_runtime.selectors import selector_classes

    assert "lc_test_rotation" in selector_classes()
    users = [make_user(f"learner{i}") for i in range(10)]
    shown = {user.id: children(user, ROTATION) for user in users}
    pool = ["t1", "t2", "t3", "t4"]
    for members in shown.values():
        start = pool.index(members[0])
        assert members == [pool[start], pool[(start + 1) % 4]]
    assert len({tuple(m) for m in shown.values()}) > 1
    assert len([e for e in events if e.event_type == "lc_test.rotation.assigned"]) == 10
    assert {user.id: children(user, ROTATION) for user in users} == shown
    with api.unit_of_work():
        runtime = api.get_runtime(users[0], course_key=KEY)
        html = runtime.render(runtime.get_block(usage(KEY, "vertical", "unit_rotation")), "student_view").content
    assert all(f"Turn {['one', 'two', 'three', 'four'][pool.index(m)]}." in html for m in shown[users[0].id])


# ---- rendering, authors, variants API


def test_a_learner_sees_its_variant_rendered_and_authors_see_the_labelled_pool(selector_course, make_user):
    ada = make_user("ada")
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        html = runtime.render(runtime.get_block(usage(KEY, "vertical", "unit_ab")), "student_view").content
    group = PartitionGroup.objects.get(user_id=ada.id).group_id
    assert f"Content for group {'AB'[group]}." in html
    assert f"Content for group {'AB'[1 - group]}." not in html

    staff = make_user("sam", is_staff=True)
    author = api.get_runtime(staff, course_key=KEY, mode="draft")
    html = author.render(author.get_block(AB), "author_view").content
    assert "Content for group A." in html and "Content for group B." in html
    assert '<p class="lc-selector-label">A</p>' in html and '<p class="lc-selector-label">B</p>' in html
    assert LearnerVariant.objects.filter(user_id=staff.id).count() == 0, "previews store no Variants"


def test_get_variant_and_learners_by_variant(selector_course, make_user):
    users = [make_user(f"learner{i}") for i in range(6)]
    for user in users:
        with api.unit_of_work():
            runtime = api.get_runtime(user, course_key=KEY)
            variant = api.get_variant(runtime, AB)
            assert variant.usage_key == AB and variant.selector_type == "split_test"
            assert [str(key) for key in variant.members] == [
                usage(KEY, "vertical", GROUP_CHILD[variant.group_id]["ab"])
            ]
    listing = api.learners_by_variant(KEY, AB)
    assert sum(len(entry.user_ids) for entry in listing) == 6
    assert {tuple(str(k) for k in entry.members) for entry in listing} <= {
        (usage(KEY, "vertical", "group_a"),), (usage(KEY, "vertical", "group_b"),)
    }
    with pytest.raises(api.InvalidKey):
        api.learners_by_variant(KEY, "not a key")
    with pytest.raises(api.NotASelector):
        api.learners_by_variant(KEY, usage(KEY, "html", "intro"))


def test_the_runtime_answers_for_its_tree_and_a_learners_variant(selector_course, make_user):
    learner = make_user("learner")
    with api.unit_of_work():
        runtime = api.get_runtime(learner, course_key=KEY)
        record = runtime.selector_record(AB)
        assert runtime.record_of(AB) is record and record.ref == ("split_test", "ab")
        below = runtime.descendant_records(AB)
        assert below[0] is record and {("vertical", "group_a"), ("vertical", "group_b")} <= {r.ref for r in below}
        outline = {r.ref for r in runtime.descendant_records(runtime.root_usage_key)}
        assert outline <= {r.ref for r in runtime.iter_records()}
        stored = runtime.variant_of(AB)
        assert stored.user_id == learner.id and stored.group_id in GROUP_CHILD
        for not_here in ("not a key", usage("course-v1:LcX+Other+2026", "html", "intro"), usage(KEY, "html", "nope")):
            with pytest.raises(NoSuchUsage):
                runtime.record_of(not_here)
        with pytest.raises(api.NotASelector, match="is not a selector"):
            runtime.variant_of(usage(KEY, "html", "intro"))
    assert api.get_runtime(make_user("sam", is_staff=True), course_key=KEY, mode="draft").variant_of(AB) is None


def test_anonymous_learners_get_a_variant_that_is_not_stored(selector_course):
    from django.contrib.auth.models import AnonymousUser

    assert len(children(AnonymousUser(), BANK)) == 2
    assert len(children(AnonymousUser(), AB)) == 1
    assert LearnerVariant.objects.count() == 0 and PartitionGroup.objects.count() == 0


def test_a_failed_request_stores_no_variant(selector_course, make_user):
    ada = make_user("ada")
    with pytest.raises(RuntimeError), api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        runtime.get_block(BANK).get_children()
        assert LearnerVariant.objects.filter(user_id=ada.id).count() == 2  # the unit's two selectors, in one batch
        raise RuntimeError("the request fails later")
    assert LearnerVariant.objects.filter(user_id=ada.id).count() == 0


def test_the_variants_command_lists_learners_per_variant(selector_course, make_user, capsys):
    import json

    from django.core.management import call_command

    from lc_runtime import cli

    users = [make_user(f"learner{i}") for i in range(4)]
    for user in users:
        children(user, AB)
    assert cli.run_parsed(cli.build_parser().parse_args(["variants", AB, "--json"])) == 0
    listing = json.loads(capsys.readouterr().out)
    assert sorted(user_id for entry in listing for user_id in entry["user_ids"]) == sorted(u.id for u in users)
    assert {entry["group_id"] for entry in listing} <= {0, 1}

    call_command("lc_runtime_variants", AB)
    text = capsys.readouterr().out
    assert "learner(s)" in text and "vertical/group_" in text
    assert cli.run_parsed(cli.build_parser().parse_args(["variants", usage(KEY, "html", "intro")])) == 2
    assert "is not a selector" in capsys.readouterr().err


def test_variants_are_reproducible_from_the_seed_and_depend_on_the_secret(selector_course, make_user, settings):
    users = [make_user(f"learner{i}") for i in range(8)]
    first = {user.id: (children(user, BANK), children(user, RANDOMIZE)) for user in users}
    assert len({(tuple(bank), tuple(one)) for bank, one in first.values()}) > 1

    # Forget every Variant: the same learners draw the same members again (explainable, recomputable).
    LearnerVariant.objects.all().delete()
    assert {user.id: (children(user, BANK), children(user, RANDOMIZE)) for user in users} == first

    # Another deployment's secret draws differently.
    LearnerVariant.objects.all().delete()
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "SELECTOR_SEED_SECRET": "another deployment"}
    assert {user.id: (children(user, BANK), children(user, RANDOMIZE)) for user in users} != first


def test_selector_blocks_answer_edx_platforms_dynamic_children_calls(selector_course, make_user):
    with api.unit_of_work():
        runtime = api.get_runtime(make_user("ada"), course_key=KEY)
        bank = runtime.get_block(BANK)
        assert bank.has_dynamic_children()
        assert bank.get_child_blocks() == bank.get_children()
        assert len(bank.children) == 2  # the field too is the learner's Variant


def test_a_misplaced_selector_is_kept_as_a_damaged_block_by_default(db, tmp_path):
    course = tmp_path / "bad"
    shutil.copytree(SELECTOR_COURSE, course)
    edit(course, '<chapter url_name="chapter" display_name="Chapter">',
         '<chapter url_name="chapter" display_name="Chapter"><randomize url_name="misplaced"><html/></randomize>')
    result = api.import_olx(course)
    [problem] = result.problems
    assert "<randomize> cannot stand inside <chapter>" in problem.message
    assert (problem.file, problem.line) == ("course/2026.xml", 2)
    assert result.blocks_by_type["randomize"] == 1  # the real one; the misplaced one is a placeholder
