"""
Learners' ``user_state`` in edx-platform's StudentModule table (``StudentModuleStateStore``).

The contract every learner-state store keeps is tested in test_learner_state.py against this store too;
here, what is particular to edx-platform's table: rows as edx-platform writes and reads them (``state``
as ``json.dumps`` text, NULL for never seen, ``"{}"`` once every field is deleted, ``module_type`` and
``course_id`` filled, ``grade`` left alone), a real capa problem answered through a runtime, the table
name as a setting, and what a render and a submission cost.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.utils import timezone
from webob import Request

from lc_runtime import api
from lc_runtime.content.learners.api import (
    DELETED,
    DjangoLearnerStateStore,
    StateKey,
    StudentModuleStateStore,
    get_learner_state_store,
)
from lc_runtime.models import LearnerState
from tests.conftest import DEMO_KEY, usage
from tests.edx_tables import OTHER_STUDENT_MODULE_TABLE, STUDENT_MODULE_TABLE, student_module_rows

PROBLEM = usage(DEMO_KEY, "problem", "orbit-question")  # a capa multiple choice problem, max_attempts="3"
UNIT = usage(DEMO_KEY, "vertical", "first-question")
RIGHT = {"input_orbit-question_2_1": "choice_1"}
WRONG = {"input_orbit-question_2_1": "choice_0"}

pytestmark = pytest.mark.usefixtures("student_module_store")


@pytest.fixture
def ada(make_user):
    return make_user("ada")


def key_of(user, block_key: str = PROBLEM, course_key: str = DEMO_KEY) -> StateKey:
    return StateKey("one.usage", user if isinstance(user, int) else user.id, course_key, block_key)


def insert_row(student_id: int, module_id: str, state: str | None, *, course_id: str = DEMO_KEY,
               module_type: str = "problem", grade: float | None = None, table: str = STUDENT_MODULE_TABLE) -> None:
    """A row as edx-platform writes it."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {connection.ops.quote_name(table)} (module_type, module_id, student_id, course_id, state, "
            "grade, max_grade, done, created, modified) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [module_type, module_id, student_id, course_id, state, grade, 1.0 if grade is not None else None, "na",
             now, now],
        )


def submit(runtime, answers: dict) -> dict:
    request = Request.blank("/", method="POST", POST=answers)
    problem = runtime.get_block(PROBLEM)
    return json.loads(runtime.handle(problem, "xmodule_handler", request, "problem_check").body)


def test_the_configured_store_is_the_student_module_table(settings):
    store = get_learner_state_store()
    assert type(store) is StudentModuleStateStore and store.table == STUDENT_MODULE_TABLE
    # Stores of one table share a unit of work's buffer; another table is another store.
    assert store == StudentModuleStateStore() and hash(store) == hash(StudentModuleStateStore())
    assert store != DjangoLearnerStateStore()
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "STUDENT_MODULE_TABLE": OTHER_STUDENT_MODULE_TABLE}
    elsewhere = StudentModuleStateStore()
    assert elsewhere.table == OTHER_STUDENT_MODULE_TABLE and elsewhere != store


def test_a_capa_answer_is_kept_in_the_rows_state_as_edx_platform_stores_it(demo_course, ada):
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        assert "orbit" in runtime.render(runtime.get_block(UNIT), "student_view").content.lower()
    with api.unit_of_work():
        assert submit(api.get_runtime(ada, course_key=DEMO_KEY), WRONG)["success"] == "incorrect"
    with api.unit_of_work():
        assert submit(api.get_runtime(ada, course_key=DEMO_KEY), RIGHT)["success"] == "correct"

    [row] = [row for row in student_module_rows() if row["module_id"] == PROBLEM]
    assert (row["student_id"], row["course_id"], row["module_type"]) == (ada.id, DEMO_KEY, "problem")
    # Grades are edx-platform's grading's to write.
    assert row["grade"] is None and row["max_grade"] is None and row["done"] == "na"
    state = json.loads(row["state"])
    assert row["state"] == json.dumps(state)  # json.dumps text, as DjangoXBlockUserStateClient writes it
    assert state["attempts"] == 2
    assert state["student_answers"] == {"orbit-question_2_1": "choice_1"}
    assert state["correct_map"]["orbit-question_2_1"]["correctness"] == "correct"
    assert state["done"] is True
    assert {"seed", "score", "last_submission_time", "input_state"} <= set(state)
    # Nothing of the learner's own block state went to lc-runtime's table.
    assert not LearnerState.objects.filter(scope="one.usage", user_id=ada.id).exists()

    again = api.get_runtime(ada, course_key=DEMO_KEY).get_block(PROBLEM)
    assert (again.attempts, again.student_answers) == (2, {"orbit-question_2_1": "choice_1"})


def test_a_row_edx_platform_wrote_is_what_the_block_reads(demo_course, ada):
    edx_state = {"attempts": 2, "seed": 1, "student_answers": {"orbit-question_2_1": "choice_0"}, "done": True}
    insert_row(ada.id, PROBLEM, json.dumps(edx_state), grade=0.0)
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        assert runtime.get_block(PROBLEM).attempts == 2
        assert submit(runtime, RIGHT)["success"] == "correct"  # the third and last attempt
    [row] = student_module_rows()
    assert json.loads(row["state"])["attempts"] == 3
    assert row["grade"] == 0.0  # left as edx-platform wrote it


def test_null_state_is_nothing_stored_and_deleting_every_field_keeps_an_empty_object(ada, edx_tables):
    store = StudentModuleStateStore()
    insert_row(ada.id, PROBLEM, None, grade=1.0)
    assert store.load([key_of(ada)]) == {}  # never seen, for edx-platform too
    store.save({key_of(ada): {"attempts": 1}})
    store.save({key_of(ada): {"attempts": DELETED}})
    assert store.load([key_of(ada)]) == {key_of(ada): {}}
    [row] = student_module_rows()
    assert (row["state"], row["grade"]) == ("{}", 1.0)
    # drop_empty removes only rows a lock created and nothing filled: never one edx-platform wrote.
    store.drop_empty([key_of(ada)])
    assert len(student_module_rows()) == 1


def test_a_lock_of_a_block_not_answered_leaves_no_row(ada, edx_tables):
    store = StudentModuleStateStore()
    other = key_of(ada, usage(DEMO_KEY, "problem", "other"))
    insert_row(ada.id, other.block_key, None, grade=0.5)  # a grade only: edx-platform's, kept
    assert store.lock([key_of(ada), other]) == {key_of(ada): {}, other: {}}
    [created] = [row for row in student_module_rows() if row["module_id"] == PROBLEM]
    assert (created["state"], created["module_type"], created["course_id"]) == (None, "problem", DEMO_KEY)
    store.drop_empty([key_of(ada), other])
    assert [row["module_id"] for row in student_module_rows()] == [other.block_key]


def test_only_user_state_of_blocks_goes_to_the_table(ada, edx_tables):
    store = StudentModuleStateStore()
    keys = {
        key_of(ada): "table",
        StateKey("all.usage", 0, DEMO_KEY, PROBLEM): "ours",  # user_state_summary
        StateKey("one.type", ada.id, "", "problem"): "ours",  # preferences
        StateKey("one.all", ada.id, "", ""): "ours",  # user_info
        key_of(ada, f"aside-usage-v2:{PROBLEM}::tagging_aside"): "ours",  # an aside's user_state
        key_of(ada, usage(DEMO_KEY, "x" * 40, "long")): "ours",  # a block type longer than module_type's 32
    }
    store.save({key: {"where": where} for key, where in keys.items()})
    assert store.load(keys) == {key: {"where": where} for key, where in keys.items()}
    assert [row["module_id"] for row in student_module_rows()] == [PROBLEM]
    assert LearnerState.objects.count() == 5


def test_the_table_is_a_setting(settings, ada, edx_tables):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "STUDENT_MODULE_TABLE": OTHER_STUDENT_MODULE_TABLE}
    get_learner_state_store().save({key_of(ada): {"attempts": 1}})
    assert student_module_rows() == []
    [row] = student_module_rows(OTHER_STUDENT_MODULE_TABLE)
    assert (row["module_id"], row["state"]) == (PROBLEM, '{"attempts": 1}')


# What a learner's render of the problem's unit and a submission cost, the tree cached. The render reads
# learner state in two queries where lc-runtime's own table takes one: one per table (the unit's user_state
# in StudentModule, its other scopes in ours), whatever the unit's size. A submission costs what it costs
# with our table: the locking read of the problem's row (StudentModule), the read of its other scopes
# (ours), and the three-statement write of its row.
WARM_UNIT_RENDER = 8
SUBMISSION = 11


def test_a_render_and_a_submission_cost_a_fixed_number_of_queries(demo_course, ada, django_assert_num_queries):
    def render() -> str:
        with api.unit_of_work():
            runtime = api.get_runtime(ada, course_key=DEMO_KEY)
            return runtime.render(runtime.get_block(UNIT), "student_view").content

    render()  # the tree, the run's dates: cached
    with django_assert_num_queries(WARM_UNIT_RENDER):
        render()
    with api.unit_of_work():
        submit(api.get_runtime(ada, course_key=DEMO_KEY), WRONG)  # the row exists from now on
    with django_assert_num_queries(SUBMISSION), api.unit_of_work():
        assert submit(api.get_runtime(ada, course_key=DEMO_KEY), WRONG)["success"] == "incorrect"
    assert json.loads(student_module_rows()[0]["state"])["attempts"] == 2
