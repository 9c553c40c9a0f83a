"""
Real leaf XBlocks from PyPI (done-xblock, xblock-poll) in a course stored in Learning Core.

They render, answer handler requests over HTTP (signed handler URLs, Django's test client) and
through ``runtime.handle``, keep each learner's state to that learner across runtimes, share
``user_state_summary`` (poll tallies) between learners, and their events go out after the commit.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest
import webob

from lc_runtime import api
from lc_runtime.models import LearnerState
from lc_runtime.runtime import learning_core_runtime as runtime_module
from tests.conftest import LEAF_KEY, usage

DONE = usage(LEAF_KEY, "done", "done-toggle")
POLL = usage(LEAF_KEY, "poll", "planet-poll")
SURVEY = usage(LEAF_KEY, "survey", "course-survey")
CUSTOM = usage(LEAF_KEY, "lc_test_custom_children", "custom-parent")


def json_request(data, method: str = "POST") -> webob.Request:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return webob.Request.blank("/", method=method, body=body, content_type="application/json")


def init_args(html: str) -> dict:
    """The JSON arguments the runtime wrapped around a rendered block for its JavaScript."""
    pattern = r'<script type="json/xblock-args" class="xblock_json_init_args">(.*?)</script>'
    found = re.search(pattern, html, re.S)
    assert found, "no json/xblock-args in the rendered block"
    return json.loads(found.group(1))


def post_json(client, url: str, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def events():
    """Every event delivered through ``api.xblock_event`` while the test runs."""
    received = []

    def receiver(sender, event, **kwargs):
        received.append(event)

    api.xblock_event.connect(receiver, weak=False)
    yield received
    api.xblock_event.disconnect(receiver)


def test_the_leaf_course_imports_cleanly(leaf_course):
    assert leaf_course.course_key == LEAF_KEY
    assert leaf_course.problems == []
    assert leaf_course.blocks_by_type == {
        "course": 1, "chapter": 1, "sequential": 1, "vertical": 3,
        "done": 2, "poll": 1, "survey": 1, "lc_test_custom_children": 1, "lc_test_counter": 1,
    }


# ---- done-xblock


def test_done_renders_its_authored_settings_and_packaged_images(leaf_course, make_user, client):
    runtime = api.get_runtime(make_user("ada"), course_key=LEAF_KEY)
    block = runtime.get_block(DONE)
    assert type(block).unmixed_class.__module__ == "done.done"
    assert block.align == "right"
    assert block.display_name == "Read the chapter?"
    html = runtime.render(block, "student_view").content
    assert 'data-block-type="done"' in html
    assert 'data-init="DoneXBlock"' in html
    args = init_args(html)
    assert args["state"] is False
    assert args["align"] == "right"
    image_url = args["checked"]
    assert image_url == runtime.local_resource_url(block, "public/check-full.png")
    response = client.get(image_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_done_toggle_over_http_is_kept_for_that_learner_only(
    leaf_course, make_user, client, events, django_capture_on_commit_callbacks
):
    ada, bob = make_user("ada"), make_user("bob")
    url = api.get_runtime(ada, course_key=LEAF_KEY).handler_url(
        api.get_runtime(ada, course_key=LEAF_KEY).get_block(DONE), "toggle_button"
    )
    client.force_login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, url, {"done": True})
        assert events == []  # the request's changes are not committed yet: nothing went out
    assert response.status_code == 200
    assert response.json() == {"state": True}
    assert [(e.event_type, e.data) for e in events] == [
        ("grade", {"value": 1, "max_value": 1}),
        ("edx.done.toggled", {"done": True}),
    ]
    assert {(e.usage_key, e.block_type, e.course_key, e.user_id) for e in events} == {
        (DONE, "done", LEAF_KEY, ada.id)
    }

    fresh = api.get_runtime(ada, course_key=LEAF_KEY)
    assert fresh.get_block(DONE).done is True
    assert init_args(fresh.render(fresh.get_block(DONE), "student_view").content)["state"] is True
    assert api.get_runtime(bob, course_key=LEAF_KEY).get_block(DONE).done is False
    assert LearnerState.objects.filter(user_id=ada.id, block_key=DONE).count() == 1
    assert not LearnerState.objects.filter(user_id=bob.id).exists()


def test_done_handler_through_runtime_handle(
    leaf_course, make_user, events, django_capture_on_commit_callbacks
):
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    block = runtime.get_block(DONE)

    assert runtime.handle(block, "toggle_button", json_request({}, method="GET")).status_code == 405
    bad = runtime.handle(block, "toggle_button", json_request(b"{not json"))
    assert bad.status_code == 400
    assert LearnerState.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        response = runtime.handle(block, "toggle_button", json_request({"done": True}))
    assert response.status_code == 200
    assert json.loads(response.body) == {"state": True}
    assert [e.event_type for e in events] == ["grade", "edx.done.toggled"]
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(DONE).done is True

    with django_capture_on_commit_callbacks(execute=True):
        response = runtime.handle(block, "toggle_button", json_request({"done": False}))
    assert json.loads(response.body) == {"state": False}
    assert events[-2].data == {"value": 0, "max_value": 1}
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(DONE).done is False


@pytest.mark.django_db(transaction=True)
def test_done_events_wait_for_a_real_commit_and_vanish_on_rollback(leaf_course, make_user, events):
    ada = make_user("ada")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=LEAF_KEY)
        runtime.handle(runtime.get_block(DONE), "toggle_button", json_request({"done": True}))
        raise Boom
    assert events == []
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(DONE).done is False
    assert LearnerState.objects.count() == 0

    with api.unit_of_work():
        runtime = api.get_runtime(ada, course_key=LEAF_KEY)
        runtime.handle(runtime.get_block(DONE), "toggle_button", json_request({"done": True}))
        assert events == []
    assert [e.event_type for e in events] == ["grade", "edx.done.toggled"]
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(DONE).done is True


# ---- xblock-poll: poll


def test_poll_renders_its_authored_question_and_answers(leaf_course, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=LEAF_KEY)
    poll = runtime.get_block(POLL)
    assert poll.question == "Which planet would you visit?"
    assert [key for key, _ in poll.answers] == ["mars", "venus", "titan"]
    html = runtime.render(poll, "student_view").content
    assert 'data-init="PollBlock"' in html
    assert "Which planet would you visit?" in html
    assert "Titan" in html
    assert runtime.local_resource_url(poll, "public/js/vendor/handlebars.js") in runtime.render(
        poll, "student_view"
    ).foot_html()


def test_poll_votes_are_per_learner_and_the_tally_is_shared(
    leaf_course, make_user, client, events, django_capture_on_commit_callbacks
):
    ada, bob, carol = make_user("ada"), make_user("bob"), make_user("carol")

    # Ada votes over HTTP, through her signed handler URL.
    ada_runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    vote_url = ada_runtime.handler_url(ada_runtime.get_block(POLL), "vote")
    client.force_login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, vote_url, {"choice": "mars"})
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert [(e.event_type, e.user_id) for e in events] == [
        ("completion", ada.id),
        ("xblock.poll.submitted", ada.id),
    ]
    assert events[0].data == {"completion": 1.0}
    assert events[1].data["choice"] == "mars"

    # Bob votes through runtime.handle.
    bob_runtime = api.get_runtime(bob, course_key=LEAF_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        response = bob_runtime.handle(bob_runtime.get_block(POLL), "vote", json_request({"choice": "venus"}))
    assert json.loads(response.body)["success"] is True
    assert [e.user_id for e in events[2:]] == [bob.id, bob.id]

    # A fresh runtime for a third learner sees both votes in the tally, and no choice of her own.
    carol_poll = api.get_runtime(carol, course_key=LEAF_KEY).get_block(POLL)
    assert carol_poll.tally == {"mars": 1, "venus": 1, "titan": 0}
    assert carol_poll.choice is None
    assert carol_poll.submissions_count == 0

    # Ada's own fresh runtime remembers her vote, and she cannot vote twice.
    ada_poll = api.get_runtime(ada, course_key=LEAF_KEY).get_block(POLL)
    assert ada_poll.choice == "mars"
    assert ada_poll.submissions_count == 1
    again = post_json(client, vote_url, {"choice": "titan"})
    assert again.json()["success"] is False
    carol_poll = api.get_runtime(carol, course_key=LEAF_KEY).get_block(POLL)
    assert carol_poll.tally == {"mars": 1, "venus": 1, "titan": 0}

    state_url = ada_runtime.handler_url(ada_runtime.get_block(POLL), "student_view_user_state")
    state = client.get(state_url)
    assert state.status_code == 200
    assert state.json() == {
        "choice": "mars", "tally": {"mars": 1, "venus": 1, "titan": 0}, "submissions_count": 1
    }

    # Having voted, Ada's view shows the results.
    fresh = api.get_runtime(ada, course_key=LEAF_KEY)
    html = fresh.render(fresh.get_block(POLL), "student_view").content
    assert "Thanks for voting." in html


def test_poll_rejects_an_unknown_answer_and_stores_nothing(leaf_course, make_user):
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    response = runtime.handle(runtime.get_block(POLL), "vote", json_request({"choice": "pluto"}))
    body = json.loads(response.body)
    assert body["success"] is False
    assert 'No key "pluto"' in body["errors"][0]
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(POLL).choice is None
    assert not LearnerState.objects.filter(user_id=ada.id).exists()


# ---- xblock-poll: survey


def test_survey_answers_are_per_learner_and_the_tally_is_shared(
    leaf_course, make_user, client, events, django_capture_on_commit_callbacks
):
    ada, bob, carol = make_user("ada"), make_user("bob"), make_user("carol")

    ada_runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    survey = ada_runtime.get_block(SURVEY)
    html = ada_runtime.render(survey, "student_view").content
    assert 'data-init="SurveyBlock"' in html
    assert "Is the pace right?" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = ada_runtime.handle(survey, "vote", json_request({"pace": "yes", "again": "no"}))
    assert json.loads(response.body)["success"] is True
    assert [e.event_type for e in events] == ["completion", "xblock.survey.submitted"]

    bob_runtime = api.get_runtime(bob, course_key=LEAF_KEY)
    client.force_login(bob)
    url = bob_runtime.handler_url(bob_runtime.get_block(SURVEY), "vote")
    assert post_json(client, url, {"pace": "no", "again": "no"}).json()["success"] is True

    carol_survey = api.get_runtime(carol, course_key=LEAF_KEY).get_block(SURVEY)
    assert carol_survey.tally == {"pace": {"yes": 1, "no": 1}, "again": {"yes": 0, "no": 2}}
    assert not carol_survey.choices
    for learner, choices in ((ada, {"pace": "yes", "again": "no"}), (bob, {"pace": "no", "again": "no"})):
        assert api.get_runtime(learner, course_key=LEAF_KEY).get_block(SURVEY).choices == choices


# ---- a parent block that overrides get_children


def test_a_get_children_override_is_overruled_with_a_deprecation_warning(leaf_course, make_user, monkeypatch):
    # The warning is given once per class per process: forget earlier tests' classes.
    monkeypatch.setattr(runtime_module, "_warned_classes", set())
    monkeypatch.setattr(runtime_module._RuntimeMixologist, "_cache", {})
    runtime = api.get_runtime(make_user("ada"), course_key=LEAF_KEY)
    with pytest.warns(DeprecationWarning, match="overrides get_children"):
        parent = runtime.get_block(CUSTOM)

    children = parent.get_children()
    assert [str(child.scope_ids.usage_id) for child in children] == [
        usage(LEAF_KEY, "done", "done-in-custom"),
        usage(LEAF_KEY, "lc_test_counter", "counter-in-custom"),
    ]
    assert children == runtime.get_children(parent)
    assert children[0] is runtime.get_block(usage(LEAF_KEY, "done", "done-in-custom"))
    assert children[0].get_parent() is parent
    assert children[0].align == "center"

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # once per class, not on every block
        api.get_runtime(make_user("bob"), course_key=LEAF_KEY).get_block(CUSTOM)

    html = runtime.render(parent, "student_view").content
    assert 'data-block-type="done"' in html
    assert "Clicks: 0 of 0" in html
