"""
The flashcard XBlock on lc-runtime: imported from OLX, rendered for a learner, its handlers called over HTTP
as its script calls them, each learner's state kept apart, edited by an author, exported back.

Run from the repository (``make test`` does): the repository's pytest settings give Django lc-runtime's test
settings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from lc_runtime import api

COURSE = Path(__file__).parent / "course"
KEY = "course-v1:LcX+Cards+2026"
SUN = "block-v1:LcX+Cards+2026+type@lc_flashcard+block@sun"


@pytest.fixture
def course(db):
    result = api.import_olx(COURSE, strict=True)
    assert result.problems == [] and result.blocks_by_type["lc_flashcard"] == 2
    return result


def learner(name: str, **extra):
    return get_user_model().objects.create_user(username=name, password="a-long-password", **extra)


def post(user, handler: str, data: dict | None = None, *, mode: str = "published"):
    runtime = api.get_runtime(user, course_key=KEY, mode=mode)
    client = Client()
    client.force_login(user)
    response = client.post(runtime.handler_url(runtime.get_block(SUN), handler), data=json.dumps(data or {}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_learner_sees_the_front_and_the_cards_script(course):
    runtime = api.get_runtime(learner("ada"), course_key=KEY)
    fragment = runtime.render(runtime.get_block(SUN), "student_view")
    assert "What is the Sun?" in fragment.content and 'data-init="FlashcardBlock"' in fragment.content
    assert any("lc_flashcard/static/flashcard.js" in resource.data for resource in fragment.resources)


def test_each_learners_turns_and_knowledge_are_their_own(course):
    ada, bob = learner("ada"), learner("bob")
    assert post(ada, "turn") == {"back": "A star.", "turns": 1}
    assert post(ada, "turn") == {"back": "A star.", "turns": 2}
    assert post(ada, "mark", {"known": True}) == {"known": True, "known_count": 1}
    assert post(bob, "turn") == {"back": "A star.", "turns": 1}
    assert post(bob, "mark", {"known": True})["known_count"] == 2  # the summary is every learner's
    runtime = api.get_runtime(ada, course_key=KEY)
    assert (runtime.get_block(SUN).turns, runtime.get_block(SUN).known) == (2, True)


def test_an_author_edits_the_card_and_learners_see_it_once_published(course):
    author = learner("sam", is_staff=True)
    assert post(author, "save_card", {"front": "", "back": "x"}, mode="draft") == {
        "saved": False, "error": "a card needs a front and a back"}
    edit = {"display_name": "Our star", "front": "What is the Sun, really?", "back": "A star."}
    assert post(author, "save_card", edit, mode="draft") == {"saved": True}
    ada = learner("ada")
    assert api.get_runtime(ada, course_key=KEY).get_block(SUN).front == "What is the Sun?"
    api.publish(KEY)
    block = api.get_runtime(ada, course_key=KEY).get_block(SUN)
    assert (block.display_name, block.front) == ("Our star", "What is the Sun, really?")


def test_the_card_exports_as_it_was_imported(course, tmp_path):
    api.export_olx(KEY, tmp_path / "export")
    exported = (tmp_path / "export" / "vertical" / "cards.xml").read_text(encoding="utf-8")
    assert 'front="What is the Sun?"' in exported and 'back="A star."' in exported
    copy = api.import_olx(tmp_path / "export", course_key="course-v1:LcX+Cards+Copy", strict=True)
    assert copy.problems == [] and copy.blocks_by_type == course.blocks_by_type
