"""
The ``in_order`` outline processor on lc-runtime: later subsections locked until the learner has answered
the problems before them, opened by a graded answer, refused by the runtime while locked, staff unaffected,
other courses untouched.

Run from the repository (``make test`` does): the repository's pytest settings give Django lc-runtime's test
settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from lc_example_progression.processor import InOrderProcessor
from webob import Request

from lc_runtime import api
from lc_runtime.content.roles.api import STAFF, grant_role
from lc_runtime.outlines import registry

COURSE = Path(__file__).parent / "course"
KEY = "course-v1:LcX+Steps+2026"


def usage(block_type: str, block_id: str) -> str:
    return f"block-v1:LcX+Steps+2026+type@{block_type}+block@{block_id}"


@pytest.fixture
def course(db, settings):
    settings.LC_EXAMPLE_IN_ORDER_COURSES = [KEY]
    result = api.import_olx(COURSE, strict=True)
    assert result.problems == []
    return result


def learner(name: str):
    return get_user_model().objects.create_user(username=name, password="a-long-password")


def subsections(user) -> dict[str, tuple[bool, str | None]]:
    """Each subsection of the learner's outline: (open, why not)."""
    with api.unit_of_work():
        outline = api.get_user_outline(KEY, user)
    return {
        sequence.usage_key.block_id: (sequence.accessible, sequence.reason)
        for section in outline.sections for sequence in section.sequences
    }


def answer(user, problem: str, choice: str) -> None:
    """One request, committed: the learner answers through capa's handler (its grade marks it complete)."""
    with TestCase.captureOnCommitCallbacks(execute=True), api.unit_of_work():
        runtime = api.get_runtime(user, course_key=KEY)
        request = Request.blank("/", POST={f"input_{problem}_2_1": choice})
        runtime.handle(runtime.get_block(usage("problem", problem)), "xmodule_handler", request, "problem_check")


def test_the_plugin_is_found_through_its_entry_point():
    assert ("in_order", InOrderProcessor) in registry.outline_processors()


def test_later_subsections_wait_for_the_problems_before_them(course):
    ada = learner("ada")
    assert subsections(ada) == {
        "first": (True, None),
        "second": (False, "first answer 1 problem of 'First steps'"),
        "third": (False, "first answer 1 problem of 'First steps'; 1 problem of 'Second steps'"),
        "extra": (True, None),  # each section starts open
    }
    answer(ada, "first-question", "choice_0")  # a wrong answer is an answer: the problem is complete
    assert subsections(ada) == {
        "first": (True, None),
        "second": (True, None),
        "third": (False, "first answer 1 problem of 'Second steps'"),  # the staff-only problem is not required
        "extra": (True, None),
    }
    answer(ada, "second-question", "choice_1")
    assert all(is_open for is_open, _why in subsections(ada).values())


def test_the_runtime_refuses_what_is_locked_and_staff_reach_everything(course):
    ada, sam = learner("ada"), learner("sam")
    grant_role(sam.id, KEY, STAFF)
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        with pytest.raises(api.BlockNotAccessible):
            runtime.get_block(usage("problem", "second-question"))
        assert runtime.get_block(usage("problem", "first-question")).display_name == "A first question"
    with api.unit_of_work():
        staff = api.get_runtime(sam, course_key=KEY)
        assert staff.get_block(usage("problem", "second-question")).display_name == "A second question"
    assert all(is_open for is_open, _why in subsections(sam).values())


def test_each_learners_answers_open_their_own_subsections(course):
    ada, bob = learner("ada"), learner("bob")
    answer(ada, "first-question", "choice_1")
    assert subsections(ada)["second"] == (True, None)
    assert subsections(bob)["second"][0] is False


def test_a_course_not_listed_is_untouched(course, settings):
    settings.LC_EXAMPLE_IN_ORDER_COURSES = []
    assert all(is_open for is_open, _why in subsections(learner("ada")).values())


def test_the_learners_outline_costs_one_query_more(course, settings):
    ada = learner("ada")
    subsections(ada)  # warm: the course's outline is cached per snapshot

    def outline_queries() -> list[str]:
        with api.unit_of_work(), CaptureQueriesContext(connection) as captured:
            api.get_user_outline(KEY, ada)
        return [query["sql"] for query in captured.captured_queries]

    settings.LC_EXAMPLE_IN_ORDER_COURSES = []
    without = outline_queries()
    settings.LC_EXAMPLE_IN_ORDER_COURSES = [KEY]
    with_plugin = outline_queries()
    extra = [sql for sql in with_plugin if sql not in without]
    assert len(with_plugin) == len(without) + 1 and len(extra) == 1 and "completion_blockcompletion" in extra[0]
