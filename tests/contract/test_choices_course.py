"""
examples/choices-course, which ``make demo`` imports: it uses every built-in selector, imports without a
warning, gives each learner their own choices (kept across visits) and opens its conditional for the learner
who answered.
"""

from __future__ import annotations

from django.test import TestCase
from lxml import etree
from webob import Request

from lc_runtime import api
from lc_runtime.selectors import registry
from tests.conftest import ROOT, usage

CHOICES = ROOT / "examples" / "choices-course"
KEY = "course-v1:LcX+Choices+2026"
SELECTORS = {
    "split_test": "explanation-style", "randomize": "mars-fact", "itembank": "planet-bank",
    "library_content": "reading", "conditional": "after-orbit",
}


def shown(user) -> dict[str, list[str]]:
    """What each selector of the course shows ``user``: one request."""
    with TestCase.captureOnCommitCallbacks(execute=True), api.unit_of_work():
        runtime = api.get_runtime(user, course_key=KEY)
        selectors = {tag: runtime.get_block(usage(KEY, tag, block_id)) for tag, block_id in SELECTORS.items()}
        return {tag: [child.scope_ids.usage_id.block_id for child in selector.get_children()]
                for tag, selector in selectors.items()}


def test_the_course_uses_every_built_in_selector(db):
    built_in = {name for name, cls in registry.selector_classes().items() if cls.__module__.startswith("lc_runtime.")}
    assert set(SELECTORS) == built_in
    result = api.import_olx(CHOICES, strict=True)
    assert result.problems == []
    assert all(result.blocks_by_type[tag] == 1 for tag in SELECTORS)


def test_learners_keep_their_choices_and_the_conditional_opens_on_an_answer(db, make_user):
    api.import_olx(CHOICES, strict=True)
    ada, grace = make_user("ada"), make_user("grace")
    first = {user.username: shown(user) for user in (ada, grace)}
    for user in (ada, grace):
        choices = first[user.username]
        assert len(choices["split_test"]) == 1 and len(choices["randomize"]) == 1
        assert len(choices["itembank"]) == 2 and len(choices["library_content"]) == 1
        assert choices["conditional"] == []
        assert shown(user) == choices  # the same on the next visit

    with TestCase.captureOnCommitCallbacks(execute=True), api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=KEY)
        request = Request.blank("/", POST={"input_orbit-question_2_1": "choice_1"})
        runtime.handle(runtime.get_block(usage(KEY, "problem", "orbit-question")), "xmodule_handler", request,
                       "problem_check")
    assert shown(ada)["conditional"] == ["how-it-was-found"]
    assert shown(grace)["conditional"] == []
    with api.unit_of_work():
        runtime = api.get_runtime(grace, course_key=KEY)
        html = runtime.render(runtime.get_block(usage(KEY, "vertical", "once-answered")), "student_view").content
    assert "to see how the answer was found." in html and "Martian year" in html


def test_the_course_exports_with_its_selectors(db, tmp_path):
    api.import_olx(CHOICES, strict=True)
    api.export_olx(KEY, tmp_path / "export")
    tags = {element.tag for path in (tmp_path / "export").rglob("*.xml") for element in etree.parse(str(path)).iter()}
    assert set(SELECTORS) <= tags
