"""
The cutover of a course run's learner data from edx-platform (``api.cutover_learner_state``,
``lc-runtime cutover-state``): item bank selections become Variants, experiment course tags become
partition groups, state is copied on request; nobody changes arm or loses an answer, and a second run
changes nothing.

The selector course (tests/fixtures/selector-course) has an itembank (2 of 4 shown), a library_content
(1 of 3) and split tests on the random partition 100 (groups 0 and 1).
"""

from __future__ import annotations

import html
import json
import random
import re

import pytest
from django.db import connection
from django.utils import timezone

from lc_runtime import api, cli
from lc_runtime.content.learners.api import learner_partition_groups, learner_variants
from lc_runtime.models import LearnerState, LearnerVariant, PartitionGroup
from tests.conftest import SELECTOR_COURSE, SELECTOR_KEY, usage
from tests.edx_tables import STUDENT_MODULE_TABLE, USER_COURSE_TAG_TABLE

BANK = usage(SELECTOR_KEY, "itembank", "bank")
LIB = usage(SELECTOR_KEY, "library_content", "lib")
AB = usage(SELECTOR_KEY, "split_test", "ab")
BANK_POOL = [("html", f"q{i}") for i in range(1, 5)]
LIB_POOL = [("html", f"l{i}") for i in range(1, 4)]
TAG = "xblock.partition_service.partition_100"
LEARNERS = 1_000


@pytest.fixture
def course(db, edx_tables):
    return api.import_olx(SELECTOR_COURSE).course_key


def studentmodule(student_id: int, module_id: str, state: dict | str | None, **extra) -> dict:
    """A StudentModule row as the JSON-lines export has it."""
    text = json.dumps(state) if isinstance(state, dict) else state
    return {"kind": "studentmodule", "student_id": student_id, "module_id": module_id,
            "module_type": module_id.split("+type@")[1].split("+")[0], "course_id": SELECTOR_KEY, "state": text,
            **extra}


def usercoursetag(user_id: int, value: str, key: str = TAG) -> dict:
    return {"kind": "usercoursetag", "user_id": user_id, "key": key, "course_id": SELECTOR_KEY, "value": value}


def write_tables(lines: list[dict]) -> None:
    """Put export lines in edx-platform's tables, in bulk."""
    now = timezone.now()
    quote = connection.ops.quote_name
    modules = [(line["module_type"], line["module_id"], line["student_id"], line["course_id"], line["state"],
                None, None, "na", now, now) for line in lines if line["kind"] == "studentmodule"]
    tags = [(line["user_id"], line["key"], line["course_id"], line["value"])
            for line in lines if line["kind"] == "usercoursetag"]
    with connection.cursor() as cursor:
        if modules:
            cursor.executemany(
                f"INSERT INTO {quote(STUDENT_MODULE_TABLE)} (module_type, module_id, student_id, course_id, state, "
                "grade, max_grade, done, created, modified) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", modules)
        if tags:
            cursor.executemany(
                f"INSERT INTO {quote(USER_COURSE_TAG_TABLE)} (user_id, {quote('key')}, course_id, value) "
                "VALUES (%s, %s, %s, %s)", tags)


def write_jsonl(path, lines: list[dict]) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return str(path)


def counts(result) -> dict:
    return {kind: (c.created, c.present, dict(c.skipped))
            for kind, c in (("variants", result.variants), ("groups", result.partition_groups))}


def members_of(variant) -> list[tuple[str, str]]:
    return [(block_type, block_id) for _entity, block_type, block_id in variant.entities]


# ---- a thousand learners
@pytest.fixture
def learners(django_user_model, course) -> list:
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"learner{i:04}", email=f"learner{i:04}@example.com") for i in range(LEARNERS)]
    )
    return list(django_user_model.objects.filter(username__startswith="learner").order_by("id"))


def edx_platform_data(learners) -> tuple[list[dict], dict[int, dict]]:
    """What edx-platform holds for each learner: two selections and an experiment group (lines, and by learner)."""
    rng = random.Random(12)
    lines, expected = [], {}
    for learner in learners:
        bank, lib, group = rng.sample(BANK_POOL, 2), rng.sample(LIB_POOL, 1), rng.choice([0, 1])
        expected[learner.id] = {"bank": bank, "lib": lib, "group": group}
        lines += [
            studentmodule(learner.id, BANK, {"selected": [list(ref) for ref in bank]}),
            studentmodule(learner.id, LIB, {"selected": [list(ref) for ref in lib]}),
            usercoursetag(learner.id, str(group)),
        ]
    return lines, expected


@pytest.mark.parametrize("source", ["tables", "jsonl"])
def test_a_thousand_learners_keep_their_selections_and_their_arm(course, learners, source, tmp_path):
    lines, expected = edx_platform_data(learners)
    if source == "tables":
        write_tables(lines)
        from_jsonl = None
    else:
        from_jsonl = write_jsonl(tmp_path / "export.jsonl", lines)

    result = api.cutover_learner_state(course, from_jsonl=from_jsonl)
    assert counts(result) == {"variants": (2 * LEARNERS, 0, {}), "groups": (LEARNERS, 0, {})}
    assert result.state is None

    runtime = api.get_runtime(None, course_key=course)
    bank_pool, lib_pool = (runtime.selector_record(key).pool_entity_id for key in (BANK, LIB))
    for learner in learners:
        stored = learner_variants(learner.id, course)
        assert members_of(stored[bank_pool]) == expected[learner.id]["bank"]
        assert members_of(stored[lib_pool]) == expected[learner.id]["lib"]
        assert learner_partition_groups(learner.id, course) == {100: expected[learner.id]["group"]}

    # Rendered as the learner, each selector shows exactly the selection (a sample: rendering is the slow part).
    before = sorted(LearnerVariant.objects.values_list("user_id", "selector_id", "entities", "writer_token"))
    assert len(before) == 2 * LEARNERS
    for learner in learners[::50]:
        with api.unit_of_work():
            learner_runtime = api.get_runtime(learner, course_key=course)
            for key, name in ((BANK, "bank"), (LIB, "lib")):
                block = learner_runtime.get_block(key)
                shown = [(child.block_type, child.block_id) for child in block.children]
                assert shown == expected[learner.id][name]
                assert [(k.block_type, k.block_id) for k in api.get_variant(learner_runtime, key).members] == shown
                html = learner_runtime.render(block, "student_view").content
                for _block_type, block_id in shown:
                    assert f"block@{block_id}" in html
            arm = "group_a" if expected[learner.id]["group"] == 0 else "group_b"
            assert [child.block_id for child in learner_runtime.get_block(AB).children] == [arm]
    # Rendering kept every stored Variant as the cutover wrote it (no new draw), and added the split tests' own.
    after = LearnerVariant.objects.filter(selector_id__in=[bank_pool, lib_pool])
    assert sorted(after.values_list("user_id", "selector_id", "entities", "writer_token")) == before

    again = api.cutover_learner_state(course, from_jsonl=from_jsonl)
    assert counts(again) == {"variants": (0, 2 * LEARNERS, {}), "groups": (0, LEARNERS, {})}
    assert sorted(after.values_list("user_id", "selector_id", "entities", "writer_token")) == before
    assert PartitionGroup.objects.count() == LEARNERS


# ---- what is skipped, and why
def test_rows_that_cannot_become_variants_or_groups_are_skipped_with_their_reason(course, make_user):
    ada, bob, cy = make_user("ada"), make_user("bob"), make_user("cy")
    write_tables([
        studentmodule(ada.id, BANK, {"selected": [["html", "q9"], ["html", "q2"], ["problem", "q1"]]}),  # q2 only
        studentmodule(bob.id, BANK, {"selected": [["html", "gone"]]}),
        studentmodule(cy.id, BANK, None),
        studentmodule(ada.id, usage(SELECTOR_KEY, "library_content", "nope"), {"selected": [["html", "l1"]]}),
        studentmodule(bob.id, LIB, {"attempts": 1}),
        studentmodule(ada.id, usage(SELECTOR_KEY, "html", "q1"), {"selected": [["html", "l1"]]}),  # not a selector
        {**studentmodule(cy.id, LIB, {"selected": [["html", "l3"]]}), "course_id": "course-v1:LcX+Other+2026"},
        usercoursetag(ada.id, "1"),
        usercoursetag(bob.id, "7"),
        usercoursetag(cy.id, "1", key="xblock.partition_service.partition_55"),
        usercoursetag(cy.id, "B", key="xblock.partition_service.partition_100"),
        usercoursetag(ada.id, "0", key="some.other.tag"),
    ])
    result = api.cutover_learner_state(course)
    assert counts(result) == {
        "variants": (1, 0, {
            "no selected block is in the pool": 1,
            "no selected list in the state": 2,
            "no such selector in the run": 1,
        }),
        "groups": (1, 0, {
            "partition 100 has no group 7": 1,
            "the course declares no partition 55": 1,
            "not a partition id and group id": 1,
        }),
    }
    runtime = api.get_runtime(None, course_key=course)
    [variant] = learner_variants(ada.id, course).values()
    assert variant.selector_entity_id == runtime.selector_record(BANK).pool_entity_id
    assert members_of(variant) == [("html", "q2")]
    assert learner_partition_groups(ada.id, course) == {100: 1}


def test_what_a_learner_already_has_in_lc_runtime_is_never_replaced(course, make_user):
    ada = make_user("ada")
    with api.unit_of_work():  # ada visited lc-runtime first: a Variant and a group were drawn for her
        runtime = api.get_runtime(ada, course_key=course)
        drawn = [(c.block_type, c.block_id) for c in runtime.get_block(BANK).children]
        runtime.get_block(AB).children  # noqa: B018
    group = learner_partition_groups(ada.id, course)[100]
    other = [ref for ref in BANK_POOL if ref not in drawn]
    write_tables([studentmodule(ada.id, BANK, {"selected": [list(ref) for ref in other]}),
                  usercoursetag(ada.id, str(1 - group))])

    result = api.cutover_learner_state(course)
    assert counts(result) == {"variants": (0, 0, {"another Variant is already stored": 1}),
                              "groups": (0, 0, {"another group is already stored": 1})}
    runtime = api.get_runtime(ada, course_key=course)
    assert [(c.block_type, c.block_id) for c in runtime.get_block(BANK).children] == drawn
    assert learner_partition_groups(ada.id, course) == {100: group}


def test_copy_state_copies_answers_into_lc_runtimes_store_once(course, make_user):
    ada = make_user("ada")
    html = usage(SELECTOR_KEY, "html", "intro")
    write_tables([
        studentmodule(ada.id, BANK, {"selected": [["html", "q1"], ["html", "q3"]]}),
        studentmodule(ada.id, html, {"seen": True}),
        studentmodule(ada.id, usage(SELECTOR_KEY, "html", "removed"), {"seen": True}),
        studentmodule(ada.id, usage(SELECTOR_KEY, "html", "q2"), None),
    ])
    result = api.cutover_learner_state(course, copy_state=True, batch_size=2)
    assert result.state.as_dict() == {"created": 2, "present": 0, "skipped": {
        "no such block in the run": 1, "nothing stored (state is NULL)": 1}}
    assert result.batches == 2
    stored = {row.block_key: row.state for row in LearnerState.objects.filter(user_id=ada.id, scope="one.usage")}
    assert stored == {BANK: {"selected": [["html", "q1"], ["html", "q3"]]}, html: {"seen": True}}

    again = api.cutover_learner_state(course, copy_state=True)
    assert (again.state.created, again.state.present) == (0, 2)


def test_copy_state_is_refused_when_the_run_reads_student_module_itself(course, student_module_store):
    with pytest.raises(api.CutoverError, match="courseware_studentmodule already"):
        api.cutover_learner_state(course, copy_state=True)


# ---- the command
def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_a_summary_and_a_second_run_changes_nothing(course, make_user, capsys, tmp_path):
    ada, bob = make_user("ada"), make_user("bob")
    export = write_jsonl(tmp_path / "export.jsonl", [
        studentmodule(ada.id, LIB, {"selected": [["html", "l2"]]}),
        studentmodule(bob.id, LIB, {"selected": [["html", "l9"]]}),
        usercoursetag(ada.id, "0"),
    ])
    status, out, err = run(capsys, "cutover-state", SELECTOR_KEY, "--from-jsonl", export)
    assert status == 0
    assert [line.split(":")[0] for line in err.splitlines()] == ["warning", "warning"]  # settings: see below
    assert out.splitlines() == [
        f"Cutover of {SELECTOR_KEY} from {export}: Variants 1 created, 0 already present, 1 skipped; "
        "partition groups 1 created, 0 already present, 0 skipped",
        "  skipped 1 Variants: no selected block is in the pool",
    ]
    status, out, _ = run(capsys, "cutover-state", SELECTOR_KEY, "--from-jsonl", export, "--json")
    assert status == 0
    printed = json.loads(out)
    assert printed["variants"] == {"created": 0, "present": 1, "skipped": {"no selected block is in the pool": 1}}
    assert printed["partition_groups"] == {"created": 0, "present": 1, "skipped": {}}


@pytest.mark.parametrize("content, message", [
    ('{"kind": "studentmodule", "student_id": 1}\n', "line 2: studentmodule needs 'module_id' as str"),
    ('\n{"kind": "other"}\n', "line 3: kind 'other' is neither 'studentmodule' nor 'usercoursetag'"),
    ("not json\n", "line 2 is not JSON"),
    ('{"kind": "usercoursetag", "user_id": "1", "key": "k", "course_id": "c", "value": "0"}\n',
     "line 2: usercoursetag needs 'user_id' as int"),
])
def test_a_malformed_export_is_refused_in_one_line_and_writes_nothing(course, make_user, capsys, tmp_path,
                                                                      content, message):
    ada = make_user("ada")
    export = tmp_path / "export.jsonl"
    # A good line first: nothing is written before the whole file is read.
    export.write_text(json.dumps(studentmodule(ada.id, LIB, {"selected": [["html", "l2"]]})) + "\n" + content)
    status, out, err = run(capsys, "cutover-state", SELECTOR_KEY, "--from-jsonl", str(export))
    assert (status, out) == (2, "")
    assert err.startswith(f"lc-runtime: {export} {message}") and err.count("\n") == 1
    assert not LearnerVariant.objects.exists()


def test_bad_input_to_the_command_is_one_line_and_exit_status_2(course, capsys, settings, tmp_path):
    cases = [
        (["cutover-state", "course-v1:LcX+Nope+2026"], "No course run course-v1:LcX+Nope+2026"),
        (["cutover-state", SELECTOR_KEY, "--from-jsonl", str(tmp_path / "missing.jsonl")], "cannot read"),
        (["cutover-state", SELECTOR_KEY, "--batch-size", "0"], "batch size 0"),
    ]
    for argv, message in cases:
        status, out, err = run(capsys, *argv)
        assert (status, out) == (2, "") and message in err and len(err.strip().splitlines()) == 1
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "STUDENT_MODULE_TABLE": "no_such_studentmodule"}
    status, _, err = run(capsys, "cutover-state", SELECTOR_KEY)
    assert status == 2 and "no table no_such_studentmodule in the database" in err
    assert not LearnerVariant.objects.exists() and not PartitionGroup.objects.exists()


# ---- a thousand learners' answers
def capa_state(choice: int) -> dict:
    """A capa problem's state as edx-platform stores it after one submission of ``choice``."""
    correct = choice == 1
    return {
        "attempts": 1, "done": True, "seed": 1, "has_saved_answers": False,
        "student_answers": {"orbit-question_2_1": f"choice_{choice}"},
        "correct_map": {"orbit-question_2_1": {
            "correctness": "correct" if correct else "incorrect", "npoints": None, "msg": "", "hint": "",
            "hintmode": None, "queuestate": None, "answervariable": None,
        }},
        "input_state": {"orbit-question_2_1": {}},
        "score": {"raw_earned": 1 if correct else 0, "raw_possible": 1},
        "last_submission_time": "2026-11-30T12:00:00Z",
    }


def test_a_thousand_learners_keep_their_answers(db, edx_tables, django_user_model):
    from tests.conftest import DEMO_COURSE, DEMO_KEY

    course = api.import_olx(DEMO_COURSE).course_key
    problem = usage(DEMO_KEY, "problem", "orbit-question")
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"learner{i:04}", email=f"learner{i:04}@example.com") for i in range(LEARNERS)]
    )
    learners = list(django_user_model.objects.filter(username__startswith="learner").order_by("id"))
    choices = {learner.id: random.Random(learner.id).choice([0, 1, 2]) for learner in learners}
    write_tables([
        studentmodule(learner.id, problem, capa_state(choices[learner.id]), course_id=DEMO_KEY) for learner in learners
    ])

    result = api.cutover_learner_state(course, copy_state=True)
    assert result.state.as_dict() == {"created": LEARNERS, "present": 0, "skipped": {}}
    assert not any("answers" in warning for warning in result.warnings)
    stored = dict(LearnerState.objects.filter(scope="one.usage", block_key=problem).values_list("user_id", "state"))
    assert stored == {learner.id: capa_state(choices[learner.id]) for learner in learners}

    # As each learner sees it (a sample: building capa problems is the slow part): their answer, their score.
    for learner in learners[::50]:
        runtime = api.get_runtime(learner, course_key=course)
        block = runtime.get_block(problem)
        assert block.student_answers == {"orbit-question_2_1": f"choice_{choices[learner.id]}"}
        assert block.is_correct() == (choices[learner.id] == 1)
        page = runtime.render(block, "student_view").content
        problem_html = html.unescape(re.search(r'data-content="([^"]*)"', page).group(1))  # capa's own HTML
        assert f'value="choice_{choices[learner.id]}" checked' in problem_html

    again = api.cutover_learner_state(course, copy_state=True)
    assert (again.state.created, again.state.present) == (0, LEARNERS)


def test_the_cutover_warns_of_what_its_settings_leave_behind(course, make_user, capsys, settings):
    make_user("ada")
    result = api.cutover_learner_state(course)
    assert any("not copied" in warning for warning in result.warnings)
    assert any("ANONYMOUS_USER_ID" in warning for warning in result.warnings)
    host_ids = "tests.contract.test_host_services:host_anonymous_id"
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "ANONYMOUS_USER_ID": host_ids}
    assert api.cutover_learner_state(course, copy_state=True).warnings == []
    assert cli.main(["cutover-state", course]) == 0
    err = capsys.readouterr().err
    assert "warning: learners' answers (StudentModule state) were not copied" in err
