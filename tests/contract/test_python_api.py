"""What the Python API's documentation promises: docstring examples and the README's examples hold."""

from __future__ import annotations

import doctest

import pytest
from webob import Request

from lc_runtime import api
from tests.conftest import DEMO_KEY, ROOT, usage

PROBLEM = usage(DEMO_KEY, "problem", "orbit-question")
UNIT = usage(DEMO_KEY, "vertical", "first-question")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["import_olx", "publish"])
def test_docstring_example(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the examples name examples/demo-course
    [example] = doctest.DocTestFinder().find(getattr(api, name), f"lc_runtime.api.{name}", globs=vars(api).copy())
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(example)
    assert runner.summarize(verbose=False) == (0, len(example.examples))


def test_preload_learner_state_reads_a_subtree_in_one_query(demo_course, make_user, django_assert_num_queries):
    ada = make_user("ada")
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        request = Request.blank("/", POST={"input_orbit-question_2_1": "choice_1"})
        runtime.handle(runtime.get_block(PROBLEM), "xmodule_handler", request, "problem_check")

    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        unit = runtime.get_block(UNIT)
        with django_assert_num_queries(1):
            runtime.preload_learner_state(unit)
        with django_assert_num_queries(0):
            problem, text = unit.get_children()
            assert problem.attempts == 1
            assert (problem.score.raw_earned, problem.score.raw_possible) == (1, 1)
            assert text.display_name == "Why it matters"

    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=DEMO_KEY)
        problem = runtime.get_block(PROBLEM)
        with django_assert_num_queries(1):  # without a preload, each block's state is read when first used
            assert problem.attempts == 1
