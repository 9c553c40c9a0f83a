"""
Who sees what: outlines, processors and their enforcement in the runtime, on an imported course.

The course has a staff-only section, a future section, a subsection that opens in five days (beta
testers, ten days early, see it now), a unit for the Red cohort, a unit for the verified track, a
split test, an item bank (and one in the staff-only section) and a staff-only note in a public unit.
Its dates are written relative to today, so the course is generated into a folder per test run and
imported like any export.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.content.roles.api import BETA_TESTER, STAFF, grant_role
from lc_runtime.runtime import handler_urls
from tests.conftest import usage

KEY = "course-v1:LcX+Access+2026"
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=5)
COHORT, TRACK, EXPERIMENT = 200, 50, 100
RED, BLUE = 1, 2
AUDIT, VERIFIED = 1, 2

COURSE_OLX = f"""<course start="2026-01-01T00:00:00Z" display_name="Access">
  <chapter url_name="open" display_name="Open">
    <sequential url_name="lessons" display_name="Lessons" graded="true" format="Homework" due="2099-06-01T00:00:00Z">
      <vertical url_name="welcome" display_name="Welcome">
        <html url_name="hello">Hello everyone.</html>
        <done url_name="staff_note" visible_to_staff_only="true" display_name="Staff checklist"/>
      </vertical>
      <vertical url_name="red_unit" display_name="Red cohort" group_access='{{"{COHORT}": [{RED}]}}'>
        <done url_name="red_done" display_name="Red task"/>
      </vertical>
      <vertical url_name="verified_unit" display_name="Verified track" group_access='{{"{TRACK}": [{VERIFIED}]}}'>
        <html url_name="verified_text">For the verified track.</html>
      </vertical>
      <vertical url_name="experiment" display_name="Experiment">
        <split_test url_name="ab" display_name="A/B" user_partition_id="{EXPERIMENT}"
                    group_id_to_child='{{"0": "i4x://LcX/Access/vertical/arm_a", "1": "i4x://LcX/Access/vertical/arm_b"}}'>
          <vertical url_name="arm_a"><html url_name="arm_a_text">Arm A.</html></vertical>
          <vertical url_name="arm_b"><html url_name="arm_b_text">Arm B.</html></vertical>
        </split_test>
      </vertical>
      <vertical url_name="bank_unit" display_name="Bank">
        <itembank url_name="bank" max_count="1">
          <html url_name="q1">Question one.</html>
          <html url_name="q2">Question two.</html>
          <html url_name="q3">Question three.</html>
        </itembank>
      </vertical>
    </sequential>
    <sequential url_name="later" display_name="Later" start="{SOON.isoformat()}">
      <vertical url_name="later_unit" display_name="Later unit"><html url_name="later_text">Soon.</html></vertical>
    </sequential>
    <sequential url_name="no_beta" display_name="No beta" start="{SOON.isoformat()}" days_early_for_beta="0">
      <vertical url_name="no_beta_unit" display_name="No beta unit"><html url_name="no_beta_text">Soon</html></vertical>
    </sequential>
  </chapter>
  <chapter url_name="staff_only" display_name="Staff only" visible_to_staff_only="true">
    <sequential url_name="staff_seq" display_name="Staff sequence">
      <vertical url_name="staff_unit" display_name="Staff unit">
        <done url_name="staff_done" display_name="Staff task"/>
        <itembank url_name="staff_bank" max_count="1">
          <html url_name="staff_q1">Staff question one.</html>
          <html url_name="staff_q2">Staff question two.</html>
        </itembank>
      </vertical>
    </sequential>
  </chapter>
  <chapter url_name="future" display_name="Future" start="2099-01-01T00:00:00Z">
    <sequential url_name="future_seq" display_name="Future sequence">
      <vertical url_name="future_unit" display_name="Future unit"><html url_name="future_text">Later.</html></vertical>
    </sequential>
  </chapter>
</course>
"""
POLICY = {
    "course/2026": {
        "days_early_for_beta": 10,
        "user_partitions": [
            {"id": EXPERIMENT, "name": "Experiment", "scheme": "random", "version": 3, "active": True,
             "description": "", "parameters": {}, "groups": [{"id": 0, "name": "A", "version": 1},
                                                          {"id": 1, "name": "B", "version": 1}]},
            {"id": COHORT, "name": "Cohorts", "scheme": "cohort", "version": 3, "active": True,
             "description": "", "parameters": {}, "groups": [{"id": RED, "name": "Red", "version": 1},
                                                          {"id": BLUE, "name": "Blue", "version": 1}]},
        ],
    }
}


def key(block_type: str, block_id: str) -> str:
    return usage(KEY, block_type, block_id)


HIDDEN_FROM_ALL_LEARNERS = [
    key("chapter", "staff_only"), key("sequential", "staff_seq"), key("vertical", "staff_unit"),
    key("done", "staff_done"), key("done", "staff_note"), key("itembank", "staff_bank"),
]


@pytest.fixture
def access_course(db, tmp_path):
    folder = tmp_path / "access"
    (folder / "course").mkdir(parents=True)
    (folder / "policies" / "2026").mkdir(parents=True)
    (folder / "course.xml").write_text('<course url_name="2026" org="LcX" course="Access"/>')
    (folder / "course" / "2026.xml").write_text(COURSE_OLX)
    (folder / "policies" / "2026" / "policy.json").write_text(json.dumps(POLICY))
    result = api.import_olx(folder, strict=True)
    assert result.problems == []
    return result


@pytest.fixture
def people(access_course, make_user):
    """Two learners (Red/audit, Blue/verified), a beta tester, course staff (not Django staff)."""
    red, blue, beta, staff = (make_user(name) for name in ("red", "blue", "beta", "staff"))
    memberships = ((red, COHORT, RED), (red, TRACK, AUDIT), (blue, COHORT, BLUE), (blue, TRACK, VERIFIED))
    for user, partition, group in memberships:
        _assign(user, partition, group)
    grant_role(beta.id, KEY, BETA_TESTER)
    grant_role(staff.id, KEY, STAFF)
    return {"red": red, "blue": blue, "beta": beta, "staff": staff}


def _assign(user, partition_id: int, group_id: int) -> None:
    api.assign_group(KEY, user, partition_id, group_id)


def outline_shape(outline) -> dict:
    """{section: {sequence: (accessible, [units])}} of a user outline, by block id."""
    return {
        section.usage_key.block_id: {
            sequence.usage_key.block_id: (sequence.accessible, [unit.usage_key.block_id for unit in sequence.units])
            for sequence in section.sequences
        }
        for section in outline.sections
    }


def children(runtime, usage_key: str) -> list[str]:
    return [child.scope_ids.usage_id.block_id for child in runtime.get_block(usage_key).get_children()]


# ---- outlines


def test_each_person_gets_their_outline(people):
    red = outline_shape(api.get_user_outline(KEY, people["red"]))
    assert red == {
        "open": {
            "lessons": (True, ["welcome", "red_unit", "experiment", "bank_unit"]),
            "later": (False, []),
            "no_beta": (False, []),
        },
        "future": {"future_seq": (False, [])},
    }
    blue = outline_shape(api.get_user_outline(KEY, people["blue"]))
    assert blue["open"]["lessons"] == (True, ["welcome", "verified_unit", "experiment", "bank_unit"])
    beta = outline_shape(api.get_user_outline(KEY, people["beta"]))
    assert beta["open"] == {
        "lessons": (True, ["welcome", "experiment", "bank_unit"]),  # in no cohort, on no track
        "later": (True, ["later_unit"]),  # ten days early
        "no_beta": (False, []),  # its own days_early_for_beta is 0
    }
    staff = outline_shape(api.get_user_outline(KEY, people["staff"]))
    assert staff == {
        "open": {
            "lessons": (True, ["welcome", "red_unit", "verified_unit", "experiment", "bank_unit"]),
            "later": (True, ["later_unit"]),
            "no_beta": (True, ["no_beta_unit"]),
        },
        "staff_only": {"staff_seq": (True, ["staff_unit"])},
        "future": {"future_seq": (True, ["future_unit"])},
    }


def test_a_locked_entry_says_which_processor_closed_it_and_why(people):
    outline = api.get_user_outline(KEY, people["red"])
    later = outline.sequences[api.to_usage_key(key("sequential", "later"))]
    assert (later.accessible, later.closed_by) == (False, "schedule")
    assert SOON.isoformat() in later.reason
    hidden = {usage_key.block_id: (closure.processor, closure.reason) for usage_key, closure in outline.hidden.items()}
    assert hidden["staff_only"] == ("visibility", "visible to staff only")
    assert hidden["verified_unit"] == ("content_groups", "only for group 2 of 'Enrollment Track Groups'")


def test_the_outline_carries_the_learners_dates_and_grading(people):
    outline = api.get_user_outline(KEY, people["red"])
    lessons = outline.sequences[api.to_usage_key(key("sequential", "lessons"))]
    assert (lessons.graded, lessons.format) == (True, "Homework")
    assert lessons.due == datetime(2099, 6, 1, tzinfo=UTC)
    assert lessons.start == datetime(2026, 1, 1, tzinfo=UTC)  # the course's, inherited
    assert lessons.units[0].due == lessons.due


def test_an_outline_at_another_time(people):
    after_soon = SOON + timedelta(days=1)
    outline = api.get_user_outline(KEY, people["red"], at=after_soon)
    assert outline_shape(outline)["open"]["later"] == (True, ["later_unit"])
    before_the_course = datetime(2025, 12, 1, tzinfo=UTC)
    outline = api.get_user_outline(KEY, people["red"], at=before_the_course)
    assert not any(sequence.accessible for sequence in outline.sequences.values())


def test_course_outline_data_has_learning_sequences_names(access_course):
    data = api.get_course_outline_data(KEY)
    assert data.title == "Access"
    assert data.days_early_for_beta == 10
    assert data.self_paced is False and data.course_visibility == "private"
    assert data.published_version and data.published_at is not None
    staff_only = data.sections[1]
    assert staff_only.visibility.visible_to_staff_only is True
    lessons = data.sequences[api.to_usage_key(key("sequential", "lessons"))]
    assert lessons.inaccessible_after_due is False and lessons.exam.is_time_limited is False
    red_unit = lessons.units[1]
    assert red_unit.user_partition_groups == {COHORT: frozenset({RED})}


# ---- the runtime: what the outline removes cannot be reached


def test_get_children_leaves_out_what_the_learner_may_not_reach(people):
    runtime = api.get_runtime(people["red"], course_key=KEY)
    assert children(runtime, key("course", "course")) == ["open", "future"]
    assert children(runtime, key("chapter", "open")) == ["lessons"]  # "later" is locked
    assert children(runtime, key("sequential", "lessons")) == ["welcome", "red_unit", "experiment", "bank_unit"]
    assert children(runtime, key("vertical", "welcome")) == ["hello"]
    staff = api.get_runtime(people["staff"], course_key=KEY)
    assert children(staff, key("vertical", "welcome")) == ["hello", "staff_note"]
    assert children(staff, key("course", "course")) == ["open", "staff_only", "future"]


@pytest.mark.parametrize("hidden", [*HIDDEN_FROM_ALL_LEARNERS, key("html", "staff_q1"),
                                    key("vertical", "verified_unit"), key("html", "verified_text"),
                                    key("sequential", "later"), key("html", "later_text"),
                                    key("vertical", "future_unit")])
def test_get_block_refuses_what_is_closed_for_the_learner(people, hidden):
    runtime = api.get_runtime(people["red"], course_key=KEY)
    with pytest.raises(api.BlockNotAccessible) as refused:
        runtime.get_block(hidden)
    assert isinstance(refused.value, NoSuchUsage)
    assert refused.value.processor in {"visibility", "schedule", "content_groups"}


def test_each_learner_reaches_only_their_own_groups_blocks(people):
    red = api.get_runtime(people["red"], course_key=KEY)
    blue = api.get_runtime(people["blue"], course_key=KEY)
    assert red.get_block(key("done", "red_done")) is not None
    with pytest.raises(api.BlockNotAccessible):
        blue.get_block(key("done", "red_done"))
    assert blue.get_block(key("html", "verified_text")) is not None


def test_the_beta_tester_reaches_early_content_and_course_staff_everything(people):
    beta = api.get_runtime(people["beta"], course_key=KEY)
    assert beta.get_block(key("html", "later_text")) is not None
    for not_yet in ("future_text", "no_beta_text"):
        with pytest.raises(api.BlockNotAccessible):
            beta.get_block(key("html", not_yet))
    staff = api.get_runtime(people["staff"], course_key=KEY)
    for hidden in [*HIDDEN_FROM_ALL_LEARNERS, key("html", "future_text"), key("html", "verified_text")]:
        assert staff.get_block(hidden) is not None


def test_rendering_a_unit_shows_no_hidden_child(people):
    runtime = api.get_runtime(people["red"], course_key=KEY)
    with api.unit_of_work():
        html = runtime.render(runtime.get_block(key("vertical", "welcome")), "student_view").content
    assert "Hello everyone." in html and "staff_note" not in html
    staff = api.get_runtime(people["staff"], course_key=KEY)
    with api.unit_of_work():
        html = staff.render(staff.get_block(key("vertical", "welcome")), "student_view").content
    assert "staff_note" in html


def test_render_refuses_a_hidden_block_whichever_runtime_built_it(people):
    staff = api.get_runtime(people["staff"], course_key=KEY)
    staff_note = staff.get_block(key("done", "staff_note"))
    runtime = api.get_runtime(people["red"], course_key=KEY)
    with pytest.raises(api.BlockNotAccessible), api.unit_of_work():
        runtime.render(staff_note, "student_view")


def test_split_test_and_item_bank_show_each_learner_their_variant(people):
    runtime = api.get_runtime(people["red"], course_key=KEY)
    with api.unit_of_work():
        arms = children(runtime, key("split_test", "ab"))
        questions = children(runtime, key("itembank", "bank"))
    assert len(arms) == 1 and len(questions) == 1
    other_arm = {"arm_a", "arm_b"} - set(arms)
    with pytest.raises(NoSuchUsage):
        api.get_runtime(people["red"], course_key=KEY).get_block(key("vertical", other_arm.pop()))
    outline = api.get_user_outline(KEY, people["red"])
    assert outline_shape(outline)["open"]["lessons"][0] is True


def _handler_url(user, block_key: str) -> str:
    """A validly signed session handler URL for ``user`` (as if the runtime had made it earlier)."""
    return handler_urls.handler_url("published", block_key, user.id, "toggle_button", "", "", access="session")


@pytest.mark.parametrize("hidden", [key("done", "staff_note"), key("done", "staff_done"), key("done", "red_done")])
def test_a_signed_handler_url_to_hidden_content_is_refused_and_writes_nothing(people, hidden):
    from lc_runtime.content.learners.models import LearnerState

    client = Client()
    client.force_login(people["blue"])
    response = client.post(_handler_url(people["blue"], hidden), data=json.dumps({"done": True}),
                           content_type="application/json")
    assert response.status_code == 404
    assert not LearnerState.objects.exists()


def test_jump_to_id_refuses_hidden_content(people):
    client = Client()
    client.force_login(people["red"])
    for block_id in ("staff_done", "staff_q1", "verified_text", "future_text", "staff_note", "staff_only"):
        url = reverse("lc_runtime:jump-to-id", kwargs={"course_key": KEY, "block_id": block_id})
        assert client.get(url).status_code == 404
    for block_id in ("hello", "open", "lessons"):  # a section or subsection shows its first unit
        url = reverse("lc_runtime:jump-to-id", kwargs={"course_key": KEY, "block_id": block_id})
        response = client.get(url)
        assert response.status_code == 200 and "Hello everyone." in response.content.decode()


def test_an_anonymous_handler_url_gets_what_a_visitor_may_reach(people, client):
    from lc_runtime.content.learners.models import LearnerState

    for hidden in (key("done", "staff_note"), key("done", "red_done")):
        url = handler_urls.handler_url("published", hidden, None, "toggle_button", "", "", access="thirdparty")
        response = client.post(url, data=json.dumps({"done": True}), content_type="application/json")
        assert response.status_code == 404
    assert not LearnerState.objects.exists()


def test_a_learner_draws_no_variant_and_gets_no_block_of_a_selector_they_cannot_reach(people):
    from lc_runtime.content.learners.models import LearnerVariant

    runtime = api.get_runtime(people["red"], course_key=KEY)
    with api.unit_of_work():
        runtime.outline_decision(datetime.now(UTC))  # chooses every Variant the learner can reach
        runtime.render(runtime.get_block(key("vertical", "bank_unit")), "student_view")
    drawn = set(LearnerVariant.objects.filter(user_id=people["red"].id).values_list("selector_id", flat=True))
    assert len(drawn) == 2  # the split test and the public bank, not the staff bank
    with pytest.raises(api.BlockNotAccessible):
        runtime.get_block(key("itembank", "staff_bank"))
    staff = api.get_runtime(people["staff"], course_key=KEY)
    assert len(children(staff, key("itembank", "staff_bank"))) == 1


def test_a_learner_may_not_read_draft_assets(people):
    api.save_asset(KEY, "notes.txt", b"draft notes")
    url = reverse("lc_runtime:draft-asset", kwargs={"course_key": KEY, "path": "notes.txt"})
    client = Client()
    client.force_login(people["red"])
    assert client.get(url).status_code == 403
    client.force_login(people["staff"])
    assert client.get(url).status_code == 200


def test_a_broken_outline_processor_fails_closed_for_learners_only(people, monkeypatch):
    from importlib.metadata import EntryPoint

    from lc_runtime import plugins
    from lc_runtime.outlines.registry import PROCESSORS_GROUP
    from lc_runtime.outlines.registry import clear_cache as clear_processor_cache

    installed = plugins.entry_points

    def with_a_broken_one(group):
        broken = [EntryPoint("enrollment", "lc_runtime_missing_module:Nothing", group)]
        return [*installed(group=group), *(broken if group == PROCESSORS_GROUP else [])]

    monkeypatch.setattr(plugins, "entry_points", with_a_broken_one)
    clear_processor_cache()
    try:
        with pytest.raises(api.BrokenOutlineProcessors, match="enrollment"):
            api.get_runtime(people["red"], course_key=KEY).get_block(key("html", "hello"))
        with pytest.raises(api.BrokenOutlineProcessors):
            api.get_user_outline(KEY, people["red"])
        assert api.get_runtime(people["staff"], course_key=KEY).get_block(key("done", "staff_note")) is not None
    finally:
        monkeypatch.undo()
        clear_processor_cache()
    assert api.get_runtime(people["red"], course_key=KEY).get_block(key("html", "hello")) is not None


# ---- viewing as someone else


def test_staff_view_as_a_learner_sees_their_outline_and_writes_nothing(people):
    from lc_runtime.content.learners.models import LearnerVariant, PartitionGroup

    reds_own = outline_shape(api.get_user_outline(KEY, people["red"]))
    groups_before = set(PartitionGroup.objects.values_list("user_id", "partition_id", "group_id"))
    assert outline_shape(api.get_user_outline(KEY, people["staff"], view_as=people["red"])) == reds_own
    runtime = api.get_runtime(people["staff"], course_key=KEY, view_as=people["red"].id)
    with pytest.raises(api.BlockNotAccessible):
        runtime.get_block(key("done", "staff_note"))
    LearnerVariant.objects.all().delete()
    events = []

    def record(sender, event, **kwargs):
        events.append(event)

    api.xblock_event.connect(record)
    try:
        as_red = api.get_runtime(people["staff"], course_key=KEY, view_as=people["red"])
        with api.unit_of_work():
            block = as_red.get_block(key("done", "red_done"))
            block.done = True
            block.save()
            as_red.publish(block, "completion", {"completion": 1.0})
            as_red.render(as_red.get_block(key("vertical", "bank_unit")), "student_view")
    finally:
        api.xblock_event.disconnect(record)
    assert not LearnerVariant.objects.exists()
    assert not events, "viewing as a learner announces nothing in the learner's name"
    url = as_red.handler_url(block, "toggle_button", thirdparty=True)
    assert "/session/" in url, "a view-as page makes no session-less URL acting as the learner"
    assert set(PartitionGroup.objects.values_list("user_id", "partition_id", "group_id")) == groups_before
    assert api.get_runtime(people["red"], course_key=KEY).get_block(key("done", "red_done")).done is False


def test_staff_view_as_a_group_member(people):
    as_verified = api.get_runtime(people["staff"], course_key=KEY, view_as=api.ViewAsGroup(TRACK, VERIFIED))
    assert as_verified.get_block(key("html", "verified_text")) is not None
    with pytest.raises(api.BlockNotAccessible):
        as_verified.get_block(key("done", "red_done"))
    as_arm_b = api.get_runtime(people["staff"], course_key=KEY, view_as=api.ViewAsGroup(EXPERIMENT, 1))
    assert children(as_arm_b, key("split_test", "ab")) == ["arm_b"]


def test_only_course_staff_may_view_as_someone_else(people):
    from django.core.exceptions import PermissionDenied

    for who in ("red", "beta"):
        with pytest.raises(PermissionDenied):
            api.get_runtime(people[who], course_key=KEY, view_as=people["blue"])
    with pytest.raises(ValueError):
        api.get_runtime(people["staff"], course_key=KEY, mode="draft", view_as=people["blue"])


# ---- the real course


def test_harvardx_staff_only_content_is_for_staff_only(db, make_user):
    from tests.conftest import shared_olx

    source = shared_olx("harvardx-studio-advanced")
    result = api.import_olx(source)
    course = str(result.course_key)
    learner, staff = make_user("learner"), make_user("course_staff")
    grant_role(staff.id, course, STAFF)
    staff_runtime = api.get_runtime(staff, course_key=course)
    flagged = [
        record for record in staff_runtime.iter_records()
        if record.is_container and record.fields.get("visible_to_staff_only")
        or not record.is_container and 'visible_to_staff_only="true"' in (record.olx or "")
    ]
    staff_only = {  # what is flagged, and everything below it
        below.ref
        for record in flagged
        for below in staff_runtime.descendant_records(staff_runtime.usage_key_of(record.ref))
    }
    titles = {staff_runtime.record_of(staff_runtime.usage_key_of(ref)).title for ref in staff_only}
    assert "4.2 (old) - Building a card slider (COLIN)" in titles

    def reachable(runtime) -> set:
        found, stack = set(), [runtime.get_block(runtime.root_usage_key)]
        while stack:
            block = stack.pop()
            found.add((block.scope_ids.block_type, block.scope_ids.usage_id.block_id))
            if block.has_children:
                stack.extend(block.get_children())
        return found

    with api.unit_of_work():
        learner_sees = reachable(api.get_runtime(learner, course_key=course))
        staff_sees = reachable(staff_runtime)
    assert not learner_sees & staff_only
    # Staff reach all of it but what sits in selectors' pools outside their own Variant, as in the LMS.
    def in_a_pool(ref) -> bool:
        record = staff_runtime.record_of(staff_runtime.usage_key_of(ref))
        while record.parent is not None:
            record = staff_runtime.record_of(staff_runtime.usage_key_of(record.parent))
            if record.pool_entity_id is not None:
                return True
        return False

    assert {ref for ref in staff_only if not in_a_pool(ref)} <= staff_sees
    assert ("sequential", "45f9ed98632d416e94960d8a8bb65558") in staff_sees
    outline = api.get_user_outline(course, learner)
    listed = {s.usage_key.block_id for s in outline.sections} | {
        q.usage_key.block_id for q in outline.sequences.values()
    } | {u.usage_key.block_id for q in outline.sequences.values() for u in q.units}
    assert not listed & {block_id for _type, block_id in staff_only}


# ---- the command line


def test_lc_runtime_outline_shows_what_a_learner_sees_and_why(people, capsys):
    from lc_runtime import cli

    assert cli.main(["outline", KEY, "--user", "red"]) == 0
    out = capsys.readouterr().out
    assert "Lessons" in out and "Red cohort" in out and "Verified track" not in out
    assert "Later  start" in out and "(locked by schedule: opens on" in out
    assert "hidden: " + key("chapter", "staff_only") + " (visibility: visible to staff only)" in out

    assert cli.main(["outline", KEY, "--user", "staff", "--view-as", "blue", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    units = [unit["display_name"] for unit in data["sections"][0]["sequences"][0]["units"]]
    assert "Verified track" in units and "Red cohort" not in units
    assert data["hidden"][key("vertical", "red_unit")]["processor"] == "content_groups"

    assert cli.main(["outline", KEY, "--user", "red", "--at", "2027-01-01"]) == 2
    assert "needs a time zone" in capsys.readouterr().err
