"""
``conditional``, a built-in selector: its children show while the learner's state of its sources meets
its condition, decided again on every request (never stored); OLX in and out as edx-platform writes it.
"""

from __future__ import annotations

import json
import shutil
import tarfile

import pytest
from lxml import etree
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.models import LearnerVariant
from lc_runtime.selectors.conditional import ConditionalSelector
from lc_runtime.selectors.registry import selector_for_tag
from tests.conftest import ROOT, shared_olx, usage
from tests.contract.test_export import assert_same_course, round_trip

CONDITIONAL_COURSE = ROOT / "tests" / "fixtures" / "conditional-course"
KEY = "course-v1:LcX+Cond+2026"
COPY_KEY = "course-v1:LcX+CondCopy+2026"
SOURCES_UNIT = usage(KEY, "vertical", "unit_sources")
GATED_UNIT = usage(KEY, "vertical", "unit_gated")
TOGETHER_UNIT = usage(KEY, "vertical", "unit_together")
QUIZ = usage(KEY, "problem", "quiz")
POLL = usage(KEY, "poll_question", "opinion")
AFTER_QUIZ = usage(KEY, "conditional", "after_quiz")
QUIZ_RIGHT = usage(KEY, "conditional", "quiz_right")
AFTER_YES = usage(KEY, "conditional", "after_yes")
MISSING_SOURCE = usage(KEY, "conditional", "missing_source")
REWARD = usage(KEY, "html", "reward")
RIGHT_ANSWER = {"input_quiz_2_1": "choice_1"}
WRONG_ANSWER = {"input_quiz_2_1": "choice_0"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(db):
    result = api.import_olx(CONDITIONAL_COURSE, strict=True)
    assert result.problems == []
    return result


def render(user, usage_key: str, view: str = "student_view", mode: str = "published") -> str:
    """One request's rendering of a block for ``user``: a fresh runtime, as every request has."""
    runtime = api.get_runtime(user, course_key=KEY, mode=mode)
    return runtime.render(runtime.get_block(usage_key), view).content


def wrapper_of(html: str, block_id: str) -> etree._Element:
    """The ``conditional-wrapper`` element the conditional ``block_id`` rendered in ``html``."""
    page = etree.HTML(html)
    (block,) = page.xpath(f'//div[@data-usage="{usage(KEY, "conditional", block_id)}"]')
    (wrapper,) = block.xpath('./div[contains(@class, "conditional-wrapper")]')
    return wrapper


def is_open(html: str, block_id: str) -> bool:
    return wrapper_of(html, block_id).get("data-passed") == "true"


def shown(html: str, block_id: str) -> list[str]:
    """The usage keys of the blocks an open conditional rendered (its direct children's wrappers)."""
    return [child.get("data-usage") for child in wrapper_of(html, block_id).xpath("./div[@data-usage]")]


def messages(html: str, block_id: str) -> list[str]:
    return [
        etree.tostring(p, encoding="unicode", method="html").strip()
        for p in wrapper_of(html, block_id).xpath('./p[@class="conditional-message"]')
    ]


def answer_quiz(client, user, answer: dict) -> dict:
    """The learner submits the quiz through its handler, in a request of its own."""
    client.force_login(user)
    runtime = api.get_runtime(user, course_key=KEY)
    url = runtime.handler_url(runtime.get_block(QUIZ), "xmodule_handler", "problem_check")
    return json.loads(client.post(url, data=answer).content)


def vote(user, answer: str) -> None:
    """
    The learner's vote, stored as the poll's handler stores it (``poll_answer``, ``voted``): the poll's
    handler counts a vote only for answers its ``user_state_summary`` lists, which only its view fills.
    """
    with api.unit_of_work():
        poll = api.get_runtime(user, course_key=KEY).get_block(POLL)
        poll.poll_answer, poll.voted = answer, True
        poll.save()


# ---- the selector and its OLX


def test_conditional_is_a_built_in_selector():
    assert selector_for_tag("conditional") is ConditionalSelector
    assert ConditionalSelector.stores_variants is False


def test_conditionals_import_with_their_sources_condition_show_tags_and_children(course):
    assert course.blocks_by_type["conditional"] == 7
    assert "show" not in course.blocks_by_type  # <show> is part of the rules, not a block
    assert course.warnings == []  # sources, message and the condition attributes are read, not unknown
    runtime = api.get_runtime(None, course_key=KEY, mode="draft")
    after_quiz = runtime.get_block(AFTER_QUIZ)
    assert after_quiz.sources_list == ["i4x://LcX/Cond/problem/quiz"]
    assert (after_quiz.conditional_attr, after_quiz.conditional_value) == ("attempted", "True")
    assert after_quiz.conditional_message == "You must complete {link} before you can access this unit."
    assert after_quiz.display_name == "After the quiz"
    assert [child.scope_ids.usage_id.block_id for child in after_quiz.get_children()] == ["reward"]
    # No condition attribute: edx-platform's default, correct="True".
    quiz_right = runtime.get_block(QUIZ_RIGHT)
    assert (quiz_right.conditional_attr, quiz_right.conditional_value) == ("correct", "True")
    assert quiz_right.sources_list == ["block-v1:LcX+Cond+2026+type@problem+block@quiz"]
    after_yes = runtime.get_block(AFTER_YES)
    assert (after_yes.conditional_attr, after_yes.conditional_value) == ("poll_answer", "yes")
    assert after_yes.show_tag_list == ["i4x://LcX/Cond/html/elsewhere"]
    assert [child.scope_ids.usage_id.block_id for child in after_yes.get_children()] == ["yes_text"]
    assert '<show sources="i4x://LcX/Cond/html/elsewhere"/>' in runtime.tree.blocks[("conditional", "after_yes")].olx


def test_conditionals_round_trip_through_export(tmp_path):
    first, exported, second = round_trip(CONDITIONAL_COURSE, tmp_path, COPY_KEY)
    assert exported.warnings == []
    assert second.problems == first.problems == []
    assert second.blocks_by_type == first.blocks_by_type
    assert_same_course(KEY, COPY_KEY)
    root = tmp_path / "unpacked"
    with tarfile.open(tmp_path / "export.tar.gz") as archive:
        archive.extractall(root, filter="data")
    (written,) = root.glob("course/conditional/after_yes.xml")
    element = etree.fromstring(written.read_bytes())
    assert element.get("sources") == "i4x://LcX/Cond/poll_question/opinion"
    assert element.get("poll_answer") == "yes"
    assert element.get("message") == "Vote in {link} to see what others liked."
    assert [(child.tag, dict(child.attrib)) for child in element] == [
        ("show", {"sources": "i4x://LcX/Cond/html/elsewhere"}), ("html", {"url_name": "yes_text"}),
    ]


def test_an_authors_edit_writes_the_olx_back_as_edx_platform_does(course, make_user):
    author = make_user("author", is_staff=True)
    with api.unit_of_work():
        runtime = api.get_runtime(author, course_key=KEY, mode="draft")
        block = runtime.get_block(AFTER_YES)
        block.conditional_value = "no"
        block.save()
    olx = api.get_runtime(None, course_key=KEY, mode="draft").tree.blocks[("conditional", "after_yes")].olx
    element = etree.fromstring(olx)
    assert element.get("poll_answer") == "no"
    assert element.get("sources") == "i4x://LcX/Cond/poll_question/opinion"
    assert [(child.tag, child.get("sources")) for child in element] == [("show", "i4x://LcX/Cond/html/elsewhere")]
    assert "sources_list" not in element.attrib and "conditional_value" not in element.attrib


# ---- what learners see


def test_two_learners_in_different_states_see_different_things(course, make_user, client):
    ada, bob = make_user("ada"), make_user("bob")
    before = render(ada, GATED_UNIT)
    assert not is_open(before, "after_quiz")
    assert shown(before, "after_quiz") == []
    (message,) = messages(before, "after_quiz")
    assert "You must complete <a href=" in message and ">Martian year</a> before you can access this unit." in message
    assert "/jump_to_id/course-v1:LcX+Cond+2026/quiz" in message  # the host's jump-to link, made by the runtime

    assert answer_quiz(client, ada, WRONG_ANSWER)["success"] == "incorrect"

    # Ada's view flips, within the same test, as her state changed; Bob's does not.
    ada_html, bob_html = render(ada, GATED_UNIT), render(bob, GATED_UNIT)
    assert is_open(ada_html, "after_quiz") and not is_open(bob_html, "after_quiz")
    assert shown(ada_html, "after_quiz") == [REWARD]
    assert "Well done for trying" in ada_html and "Well done for trying" not in bob_html
    assert messages(ada_html, "after_quiz") == []
    # Attempted, not correct: the conditional on correct="True" stays closed for her.
    assert not is_open(ada_html, "quiz_right")
    assert messages(ada_html, "quiz_right") and "correctly to see more" in messages(ada_html, "quiz_right")[0]

    assert answer_quiz(client, ada, RIGHT_ANSWER)["success"] == "correct"
    assert is_open(render(ada, GATED_UNIT), "quiz_right")
    assert not is_open(render(bob, GATED_UNIT), "quiz_right")
    assert not LearnerVariant.objects.exists()  # computed on each request, never stored


def test_a_runtime_decides_again_in_each_unit_of_work(course, make_user, rf):
    """The same runtime (block objects and all) sees the change its own handler made, in its next unit."""
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=KEY)
    unit = runtime.get_block(TOGETHER_UNIT)
    assert not is_open(runtime.render(unit, "student_view").content, "same_unit")
    quiz = runtime.get_block(usage(KEY, "problem", "same_quiz"))
    request = rf.post("/", data={"input_same_quiz_2_1": "choice_0"})
    request.user = ada
    response = runtime.handle(quiz, "xmodule_handler", request, "problem_check")
    assert json.loads(response.body)["success"] == "correct"
    html = runtime.render(unit, "student_view").content
    assert is_open(html, "same_unit")
    assert shown(html, "same_unit") == [usage(KEY, "html", "same_reward")]


def test_poll_answers_open_what_their_value_names_and_show_tags_show_blocks_by_reference(course, make_user):
    ada, bob = make_user("ada"), make_user("bob")
    vote(ada, "yes")
    vote(bob, "no")
    ada_html, bob_html = render(ada, GATED_UNIT), render(bob, GATED_UNIT)
    assert is_open(ada_html, "after_yes") and not is_open(bob_html, "after_yes")
    # What a <show> tag names comes first, then the conditional's own children.
    assert shown(ada_html, "after_yes") == [usage(KEY, "html", "elsewhere"), usage(KEY, "html", "yes_text")]
    assert "Vote in <a href=" in messages(bob_html, "after_yes")[0]
    # The block shown by reference stays where it is, for everyone.
    assert "shown by a show tag too" in render(bob, usage(KEY, "vertical", "unit_elsewhere"))


def test_a_show_tag_naming_what_the_learner_may_not_reach_shows_nothing(course, make_user):
    # shows_closed also shows the child of a conditional whose source does not exist (closed to everyone),
    # and a block of the same id in another organisation's course (nothing here).
    ada = make_user("ada")
    vote(ada, "yes")
    html = render(ada, usage(KEY, "vertical", "unit_shows_closed"))
    assert is_open(html, "shows_closed")
    assert shown(html, "shows_closed") == [usage(KEY, "html", "elsewhere")]
    assert "Nobody sees this" not in html


def test_voted_opens_once_the_learner_has_voted(course, make_user):
    ada, bob = make_user("ada"), make_user("bob")
    unit = usage(KEY, "vertical", "unit_shows_closed")
    assert not is_open(render(ada, unit), "after_vote")
    vote(ada, "no")
    assert is_open(render(ada, unit), "after_vote")
    assert "Thank you for voting" in render(ada, unit)
    assert not is_open(render(bob, unit), "after_vote")


def test_a_missing_source_keeps_a_conditional_closed(course, make_user, client):
    ada = make_user("ada")
    answer_quiz(client, ada, RIGHT_ANSWER)
    html = render(ada, GATED_UNIT)
    assert not is_open(html, "missing_source")
    assert messages(html, "missing_source") == ["<p class=\"conditional-message\">You do not have access to this "
                                                "dependency block.</p>"]
    assert "Nobody sees this" not in html


def test_content_of_a_closed_conditional_cannot_be_reached(course, make_user, client):
    ada, bob = make_user("ada"), make_user("bob")
    answer_quiz(client, ada, WRONG_ANSWER)
    with pytest.raises(NoSuchUsage):
        api.get_runtime(bob, course_key=KEY).get_block(REWARD)
    assert api.get_runtime(ada, course_key=KEY).get_block(REWARD).scope_ids.usage_id.block_id == "reward"
    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        assert api.get_variant(runtime, AFTER_QUIZ).members == [runtime.get_block(REWARD).scope_ids.usage_id]
        assert runtime.variant_of(AFTER_QUIZ) is None  # nothing stored
    assert api.learners_by_variant(KEY, AFTER_QUIZ) == []


def test_a_learners_outline_reads_conditionals_without_storing_anything(course, make_user):
    with api.unit_of_work():
        outline = api.get_user_outline(KEY, make_user("ada"))
    assert [sequence.accessible for section in outline.sections for sequence in section.sequences] == [True]
    assert not LearnerVariant.objects.exists()


def test_authors_see_the_condition_and_every_child(course, make_user):
    author = make_user("author", is_staff=True)
    html = render(author, AFTER_YES, "author_view", mode="draft")
    assert "Shown when <code>poll_answer</code> is <code>yes</code>" in html
    assert "i4x://LcX/Cond/poll_question/opinion" in html
    assert "Also shows: <code>i4x://LcX/Cond/html/elsewhere</code>" in html
    assert "Glad you liked it." in html
    assert "Vote in {link} to see what others liked." in html


# ---- queries


def test_rendering_a_conditional_unit_costs_a_fixed_number_of_queries(course, make_user, django_assert_num_queries):
    """
    The sources' learner state is read once for every conditional of a unit, and nothing is written.

    Beyond what any unit costs (the learner's roles (1), personal dates (1) and the unit's learner state
    (1); the run's tree, cached, is read by ``get_runtime``, not counted): ``unit_gated``, four
    conditionals on two sources in another unit, reads the sources' state (1); ``unit_together``, whose
    conditional reads a problem of the same unit, nothing more. A first visit costs the same as later ones.
    """
    ada = make_user("ada")
    render(ada, SOURCES_UNIT)  # the run's dates cached for this publish, as for any learner after the first
    for unit, queries in ((GATED_UNIT, 3 + 1), (TOGETHER_UNIT, 3), (GATED_UNIT, 3 + 1)):
        runtime = api.get_runtime(ada, course_key=KEY)
        with api.unit_of_work(), django_assert_num_queries(queries):
            runtime.render(runtime.get_block(unit), "student_view")
    assert not LearnerVariant.objects.exists()


# ---- the real course's conditional


def test_the_real_courses_conditional_loads_as_a_conditional(tmp_path, make_user):
    """
    openedx-test-course keeps its conditional's file (no sources) outside its course tree: imported in a
    unit of its own here, it loads as a conditional, not a placeholder, and stays closed.
    """
    real = shared_olx("openedx-test-course")
    found = sorted((real / "conditional").glob("*.xml"))
    if not found:
        pytest.skip("../shared/olx/openedx-test-course has no conditional here")
    course = tmp_path / "real-conditional"
    (course / "conditional").mkdir(parents=True)
    shutil.copy(found[0], course / "conditional" / found[0].name)
    (course / "course.xml").write_text('<course url_name="2026" org="LcX" course="Real"/>')
    (course / "course").mkdir()
    (course / "course" / "2026.xml").write_text(
        '<course start="2020-01-01T00:00:00Z"><chapter url_name="c"><sequential url_name="s"><vertical url_name="v">'
        f'<conditional url_name="{found[0].stem}"/></vertical></sequential></chapter></course>'
    )
    result = api.import_olx(course)
    assert result.problems == [] and result.blocks_by_type["conditional"] == 1
    key = "course-v1:LcX+Real+2026"
    runtime = api.get_runtime(make_user("ada"), course_key=key)
    block = runtime.get_block(usage(key, "conditional", found[0].stem))
    assert type(block).unmixed_class.__name__ == "ConditionalSelectorBlock"
    assert block.sources_list == [] and block.conditional_message.startswith("You must complete {link}")
    html = runtime.render(block, "student_view").content
    assert 'data-passed="false"' in html and "lc-placeholder" not in html
