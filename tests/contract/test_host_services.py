"""
The services an LMS host provides (docs/blocks.md, "Services"), added or replaced through
``LC_RUNTIME["SERVICES"]``, and each default as a block reaches it: through handlers called over HTTP.
"""

from __future__ import annotations

import html
import json
import logging
import re

import pytest
from completion.models import BlockCompletion
from django.test import Client
from django.utils import translation

from lc_runtime import api
from tests.conftest import ROOT, usage

HOST_COURSE = ROOT / "tests" / "fixtures" / "host-course"
HOST_KEY = "course-v1:LcX+Host+2026"
PROBE = usage(HOST_KEY, "lc_test_services", "probe")
PROBLEM = usage(HOST_KEY, "problem", "question")


class Weather:
    """A host's own service."""

    def __init__(self, runtime, block) -> None:
        self.course_key = runtime.course_key

    def forecast(self) -> str:
        return f"Sunny over {self.course_key.course}"


class MarkingI18n:
    """A host's replacement for ``i18n``: every message it translates is marked."""

    def __init__(self, runtime, block) -> None:
        pass

    def gettext(self, message: str) -> str:
        return f"»{message}"

    ugettext = gettext

    def ngettext(self, singular: str, plural: str, number: int) -> str:
        return f"»{singular if number == 1 else plural}"

    ungettext = ngettext

    def __getattr__(self, name):
        return getattr(translation, name)


def host_anonymous_id(user, course_key) -> str:
    return f"host-{user.username}-{course_key.course}"


def host_user_by_anonymous_id(anonymous_id):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=anonymous_id.split("-")[1]).first()


collected: list[dict] = []


def collect_tracking_event(event: dict) -> None:
    collected.append(event)


@pytest.fixture
def host_course(db):
    result = api.import_olx(HOST_COURSE)
    assert [problem for problem in result.problems if "lc_test_services" in problem.message] == []
    return result


@pytest.fixture
def ada(host_course, make_user):
    return make_user("ada")


@pytest.fixture(autouse=True)
def _commits_deliver(django_capture_on_commit_callbacks):
    """Each handler call's request commits, and its events are delivered, as outside a test's transaction."""
    global committing
    committing = django_capture_on_commit_callbacks
    yield
    committing = None


committing = None


def call(user, handler: str, data: dict | None = None, key: str = PROBE):
    runtime = api.get_runtime(user, course_key=HOST_KEY)
    url = runtime.handler_url(runtime.get_block(key), handler)
    client = Client()
    client.force_login(user)
    with committing(execute=True):
        response = client.post(url, data=json.dumps(data or {}), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def render(user, key: str = PROBE) -> str:
    runtime = api.get_runtime(user, course_key=HOST_KEY)
    return runtime.render(runtime.get_block(key), "student_view").body_html()


def test_a_host_adds_a_service_through_settings(ada, settings):
    assert "forecast" not in render(ada)  # wanted, not provided: the block does without
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "SERVICES": {"weather": f"{__name__}:Weather"}}
    assert '<p class="forecast">Sunny over Host</p>' in render(ada)


def test_a_host_replaces_a_service_through_settings(ada, settings):
    assert "<p>Clicks: 0</p>" in render(ada)
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "SERVICES": {"i18n": f"{__name__}:MarkingI18n"}}
    assert "<p>»Clicks: 0</p>" in render(ada)
    # capa asks the same service: its words are the host's now.
    problem_html = html.unescape(re.search(r'data-content="([^"]*)"', render(ada, PROBLEM)).group(1))
    assert 'aria-label="»Question 1"' in html.unescape(problem_html)  # capa's own markup escapes the »


def test_a_service_the_block_did_not_declare_is_refused(ada, settings):
    from xblock.exceptions import NoSuchServiceError

    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "SERVICES": {"weather": f"{__name__}:Weather"}}
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    with pytest.raises(NoSuchServiceError):
        runtime.service(runtime.get_block(PROBLEM), "weather")


def test_i18n_reads_the_blocks_own_catalogue(ada):
    with translation.override("fr"):
        assert "<p>Clics: 0</p>" in render(ada)
    assert "<p>Clicks: 0</p>" in render(ada)


def test_a_host_mixin_reaches_every_block(ada, settings):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "RUNTIME_MIXINS": [f"{__name__}:HostMixin"]}
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    assert runtime.get_block(PROBE).host_label() == "lc_test_services/probe"
    assert runtime.get_block(PROBLEM).host_label() == "problem/question"


class HostMixin:
    def host_label(self) -> str:
        return f"{self.scope_ids.block_type}/{self.scope_ids.usage_id.block_id}"


def make_staff(make_user, username: str):
    from lc_runtime.content.roles.api import STAFF, grant_role

    user = make_user(username)
    grant_role(user.id, HOST_KEY, STAFF)
    return user


def test_user_state_reads_a_learners_state_for_staff_only(ada, make_user):
    bob = make_user("bob")
    sam = make_staff(make_user, "sam")
    assert call(ada, "click") == {"clicks": 1}
    assert call(sam, "read_state_of", {"username": "ada"}) == {"clicks": 1}
    assert call(sam, "read_state_of", {"username": "ada@example.com"}) == {"clicks": 1}
    assert call(sam, "read_state_of", {"username": "nobody"}) == {}
    assert call(ada, "read_state_of", {"username": "ada"}) == {"clicks": 1}  # one's own
    assert call(bob, "read_state_of", {"username": "ada"}) == {}  # a learner reads nobody else's
    assert call(bob, "click") == {"clicks": 1}  # and the reads wrote nothing


def test_rebind_user_binds_a_callbacks_block_to_the_real_user(ada):
    from lc_runtime.fielddata.unit_of_work import unit_of_work

    system = api.get_runtime(None, course_key=HOST_KEY)
    block = system.get_block(PROBE)
    with committing(execute=True), unit_of_work():
        system.service(block, "rebind_user").rebind_noauth_module_to_user(block, ada)
        block.clicks += 1
        block.save()
    assert block.scope_ids.user_id == ada.id
    assert call(ada, "click") == {"clicks": 2}  # the rebound write was ada's


def test_rebind_user_refuses_a_signed_in_users_block(ada, make_user, client):
    grader = make_user("grader")
    runtime = api.get_runtime(grader, course_key=HOST_KEY)
    url = runtime.handler_url(runtime.get_block(PROBE), "click_for")
    client.force_login(grader)
    client.raise_request_exception = False
    response = client.post(url, data=json.dumps({"username": "ada"}), content_type="application/json")
    assert response.status_code == 500
    assert call(ada, "click") == {"clicks": 1}  # nothing was written for ada
    assert call(grader, "click_for", {"username": "grader"}) == {"clicks": 1, "user_id": grader.id}


def test_other_learners_anonymous_ids_are_for_staff_only(ada, make_user):
    bob = make_user("bob")
    sam = make_staff(make_user, "sam")
    bobs_id = api.get_runtime(bob, course_key=HOST_KEY).anonymous_student_id

    def user_service(user):
        runtime = api.get_runtime(user, course_key=HOST_KEY)
        return runtime.service(runtime.get_block(PROBE), "user")

    assert user_service(ada).get_anonymous_user_id("bob", HOST_KEY) is None
    assert user_service(ada).get_user_by_anonymous_id(bobs_id) is None
    assert user_service(sam).get_anonymous_user_id("bob", HOST_KEY) == bobs_id
    assert user_service(sam).get_user_by_anonymous_id(bobs_id) == bob
    assert user_service(bob).get_anonymous_user_id("bob", HOST_KEY) == bobs_id


def test_completion_events_become_block_completions(ada):
    assert call(ada, "describe")["completion"] == 0.0
    call(ada, "click")
    completion = BlockCompletion.objects.get(user=ada, context_key=HOST_KEY)
    assert (str(completion.block_key), completion.completion) == (PROBE, 1.0)
    assert call(ada, "describe")["completion"] == 1.0


def test_a_graded_problem_is_complete(ada):
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    problem = runtime.get_block(PROBLEM)
    url = runtime.handler_url(problem, "xmodule_handler", "problem_check")
    client = Client()
    client.force_login(ada)
    with committing(execute=True):
        response = client.post(url, {"input_question_2_1": "choice_0"})
    assert response.json()["success"] == "correct"
    assert BlockCompletion.objects.get(user=ada, block_key=PROBLEM).completion == 1.0


def test_nothing_is_recorded_for_authors_previews(ada, make_user):
    from lc_runtime.content.roles.api import STAFF, grant_role

    author = make_user("author")
    grant_role(author.id, HOST_KEY, STAFF)
    runtime = api.get_runtime(author, course_key=HOST_KEY, mode="draft")
    block = runtime.get_block(PROBE)
    assert runtime.service(block, "completion").completion_tracking_enabled() is False
    client = Client()
    client.force_login(author)
    with committing(execute=True):
        client.post(runtime.handler_url(block, "click"), data="{}", content_type="application/json")
    assert not BlockCompletion.objects.exists()


def test_teams_are_empty_and_partitions_are_the_courses(ada):
    described = call(ada, "describe")
    assert (described["team"], described["teamsets"], described["partitions"]) == (None, [], [])
    assert described["tracking"] is True


def test_the_default_anonymous_id_is_found_again(ada):
    described = call(ada, "describe")
    assert described["found"] == "ada"
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    assert runtime.anonymous_student_id == described["anonymous_id"]
    system = api.get_runtime(None, course_key=HOST_KEY)
    assert system.get_real_user(described["anonymous_id"]) == ada
    assert system.get_real_user("not-an-anonymous-id") is None


def test_anonymous_ids_come_from_the_hosts_functions(ada, settings):
    settings.LC_RUNTIME = {
        **settings.LC_RUNTIME,
        "ANONYMOUS_USER_ID": f"{__name__}:host_anonymous_id",
        "USER_BY_ANONYMOUS_ID": f"{__name__}:host_user_by_anonymous_id",
    }
    described = call(ada, "describe")
    assert (described["anonymous_id"], described["found"]) == ("host-ada-Host", "ada")
    assert api.get_runtime(None, course_key=HOST_KEY).get_real_user("host-ada-Host") == ada


def test_published_events_reach_the_tracking_log(ada, settings, caplog):
    with caplog.at_level(logging.INFO, logger="tracking"):
        call(ada, "click")
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "tracking"]
    # edx-completion's own tracker event for the new row is on the same logger (through eventtracking).
    completion = next(line for line in lines if line.get("event_type") == "completion")
    assert completion["event"] == {"completion": 1.0}
    assert completion["context"]["course_id"] == HOST_KEY
    assert completion["context"]["user_id"] == ada.id
    assert completion["username"] == "ada"
    assert completion["context"]["module"]["usage_key"] == PROBE

    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "TRACKING_LOG": f"{__name__}:collect_tracking_event"}
    collected.clear()
    call(ada, "click")
    assert [event["event_type"] for event in collected] == ["completion"]
