"""
The ``adaptive`` selector on lc-runtime: a learner's ladder grows one problem per answer, harder after a full
score and easier otherwise, kept across requests, announced once per step, shown whole to authors, exported
as it was imported.

Run from the repository (``make test`` does): the repository's pytest settings give Django lc-runtime's test
settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import TestCase
from lc_example_adaptive.selector import NEXT_PROBLEM_EVENT, AdaptiveSelector, score_of
from webob import Request

from lc_runtime import api
from lc_runtime.selectors import registry

COURSE = Path(__file__).parent / "course"
KEY = "course-v1:LcX+Ladder+2026"
LADDER = "block-v1:LcX+Ladder+2026+type@adaptive+block@ladder"
UNIT = "block-v1:LcX+Ladder+2026+type@vertical+block@ladder-unit"
RIGHT, WRONG = "choice_1", "choice_0"


@pytest.fixture
def course(db):
    result = api.import_olx(COURSE, strict=True)
    assert result.problems == [] and result.blocks_by_type["problem"] == 4
    return result


@pytest.fixture
def events():
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event)

    api.xblock_event.connect(receiver, weak=False, dispatch_uid="test_adaptive")
    yield received
    api.xblock_event.disconnect(dispatch_uid="test_adaptive")


def learner(name: str, **extra):
    return get_user_model().objects.create_user(username=name, password="a-long-password", **extra)


def given(user) -> list[str]:
    """The problems the learner's ladder holds now: one request that renders their unit."""
    with TestCase.captureOnCommitCallbacks(execute=True), api.unit_of_work():
        runtime = api.get_runtime(user, course_key=KEY)
        runtime.render(runtime.get_block(UNIT), "student_view")
        return [child.scope_ids.usage_id.block_id for child in runtime.get_block(LADDER).get_children()]


def answer(user, problem: str, choice: str) -> None:
    """One request: the learner answers ``problem`` through capa's own handler."""
    with TestCase.captureOnCommitCallbacks(execute=True), api.unit_of_work():
        runtime = api.get_runtime(user, course_key=KEY)
        block = runtime.get_block(f"block-v1:LcX+Ladder+2026+type@problem+block@{problem}")
        request = Request.blank("/", POST={f"input_{problem}_2_1": choice})
        runtime.handle(block, "xmodule_handler", request, "problem_check")


def test_the_plugin_is_found_through_its_entry_point():
    assert registry.selector_classes()["adaptive"] is AdaptiveSelector


def test_a_learner_starts_at_the_authors_first_problem_and_stays_until_answering(course):
    ada = learner("ada")
    assert given(ada) == ["level-2"]
    assert given(ada) == ["level-2"]


def test_a_full_score_gives_a_harder_problem_and_a_miss_an_easier_one(course, events):
    ada, bob = learner("ada"), learner("bob")
    given(ada), given(bob)
    answer(ada, "level-2", RIGHT)
    answer(bob, "level-2", WRONG)
    assert given(ada) == ["level-2", "level-3"]
    assert given(bob) == ["level-2", "level-1"]
    answer(ada, "level-3", WRONG)
    assert given(ada) == ["level-2", "level-3", "level-1"]  # nothing easier than level-3 is left but level-1
    steps = [(e.data["after"].rsplit("@", 1)[1], e.data["score"], e.data["next"].rsplit("@", 1)[1])
             for e in events if e.event_type == NEXT_PROBLEM_EVENT]
    assert steps == [("level-2", 1.0, "level-3"), ("level-2", 0.0, "level-1"), ("level-3", 0.0, "level-1")]


def test_the_ladder_stops_at_max_problems(course, events):
    ada = learner("ada")
    given(ada)
    for problem, expected in (("level-2", ["level-2", "level-3"]), ("level-3", ["level-2", "level-3", "level-4"])):
        answer(ada, problem, RIGHT)
        assert given(ada) == expected
    answer(ada, "level-4", RIGHT)
    assert given(ada) == ["level-2", "level-3", "level-4"]
    assert len([e for e in events if e.event_type == NEXT_PROBLEM_EVENT]) == 2


def test_the_ladder_is_kept_and_learners_answers_with_it(course):
    ada = learner("ada")
    given(ada)
    answer(ada, "level-2", RIGHT)
    assert given(ada) == ["level-2", "level-3"]
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        variant = api.get_variant(runtime, LADDER)
        first = runtime.get_block(variant.members[0])
        assert score_of(first) == 1.0 and score_of(runtime.get_block(variant.members[1])) is None
    assert [str(m).rsplit("@", 1)[1] for m in variant.members] == ["level-2", "level-3"]
    [stored] = api.learners_by_variant(KEY, LADDER)
    assert stored.user_ids == [ada.id]


def test_a_visit_that_changes_nothing_writes_nothing(course, django_assert_num_queries):
    ada = learner("ada")
    given(ada)
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        runtime.get_block(UNIT)
        with django_assert_num_queries(2) as captured:  # the learner's Variants, the last problem's state
            runtime.get_block(LADDER).get_children()
    assert not [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_authors_see_the_whole_pool_in_order(course):
    author = learner("sam", is_staff=True)
    runtime = api.get_runtime(author, course_key=KEY, mode="draft")
    ladder = runtime.get_block(LADDER)
    assert [c.scope_ids.usage_id.block_id for c in ladder.get_children()] == [f"level-{n}" for n in range(1, 5)]
    html = runtime.render(ladder, "author_view").content
    assert html.count("scores lead to it") == 4


def test_the_ladder_exports_as_it_was_imported(course, tmp_path):
    api.export_olx(KEY, tmp_path / "export")
    unit = (tmp_path / "export" / "vertical" / "ladder-unit.xml").read_text(encoding="utf-8")
    assert '<adaptive url_name="ladder"/>' in unit
    exported = (tmp_path / "export" / "adaptive" / "ladder.xml").read_text(encoding="utf-8")
    assert all(f'<problem url_name="level-{n}"/>' in exported for n in range(1, 5))
    for attribute in ('start_at="1"', 'max_problems="3"', 'mastery="1.0"'):
        assert attribute in exported
