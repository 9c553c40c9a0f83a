"""
Handler URLs are signed for one (mode, block, user) and expire; bad handler requests get a clear
status and write nothing. Blocks' packaged files are served from ``public/`` only.
"""

from __future__ import annotations

import json
import time
import types
from urllib.parse import quote

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.fields import Integer, Scope, String

from lc_runtime import api
from lc_runtime.models import LearnerState
from lc_runtime.runtime import handler_urls
from tests.conftest import LEAF_KEY, usage

DONE = usage(LEAF_KEY, "done", "done-toggle")
OTHER_DONE = usage(LEAF_KEY, "done", "done-in-custom")
POLL = usage(LEAF_KEY, "poll", "planet-poll")

# A handler URL is /lc-runtime/handler/<mode>/<access>/<usage key>/<user id>/<token>/<handler>/<suffix>.
MODE, ACCESS, USAGE, USER, TOKEN, HANDLER = 3, 4, 5, 6, 7, 8


def with_part(url: str, index: int, value: str) -> str:
    """``url`` with one of its path segments replaced."""
    parts = url.split("/")
    parts[index] = value
    return "/".join(parts)


def post_done(client, url: str, done: bool = True):
    return client.post(url, data=json.dumps({"done": done}), content_type="application/json")


def learner_state() -> list:
    """Every stored learner-state row, comparable before and after a request."""
    return sorted(LearnerState.objects.values_list("scope", "user_id", "course_key", "block_key", "state"))


@pytest.fixture
def ada(leaf_course, make_user):
    return make_user("ada")


@pytest.fixture
def bob(leaf_course, make_user):
    return make_user("bob")


@pytest.fixture
def done_url(ada):
    """Ada's signed URL for done-xblock's ``toggle_button`` handler."""
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    return runtime.handler_url(runtime.get_block(DONE), "toggle_button")


def done_of(user, key: str = DONE) -> bool:
    return api.get_runtime(user, course_key=LEAF_KEY).get_block(key).done


def test_handler_url_shape(ada, done_url):
    parts = done_url.split("/")
    assert parts[:3] == ["", "lc-runtime", "handler"]
    assert parts[MODE] == "published"
    assert parts[ACCESS] == "session"
    assert parts[USAGE] == DONE
    assert parts[USER] == str(ada.id)
    assert parts[TOKEN] == handler_urls.handler_token("published", DONE, ada.id)
    assert parts[HANDLER] == "toggle_button"


def test_a_valid_url_works_for_its_learner(ada, bob, done_url, client):
    client.force_login(ada)
    response = post_done(client, done_url)
    assert response.status_code == 200
    assert response.json() == {"state": True}
    assert done_of(ada) is True
    assert done_of(bob) is False


def flipped(token: str) -> str:
    """The token with its last hex digit changed."""
    return token[:-1] + ("1" if token.endswith("0") else "0")


@pytest.mark.parametrize(
    ("tamper", "status"),
    [
        pytest.param(lambda url, ada, bob: with_part(url, USAGE, OTHER_DONE), 403, id="usage-key"),
        pytest.param(lambda url, ada, bob: with_part(url, USER, str(bob.id)), 403, id="user-id"),
        pytest.param(lambda url, ada, bob: with_part(url, USER, "anon"), 403, id="anonymous-user"),
        pytest.param(lambda url, ada, bob: with_part(url, USER, "ada"), 404, id="malformed-user-id"),
        pytest.param(
            lambda url, ada, bob: with_part(url, TOKEN, flipped(url.split("/")[TOKEN])), 403, id="token"
        ),
        pytest.param(lambda url, ada, bob: with_part(url, TOKEN, "x"), 403, id="junk-token"),
        pytest.param(lambda url, ada, bob: with_part(url, TOKEN, ""), 404, id="no-token"),  # no URL matches
        pytest.param(lambda url, ada, bob: with_part(url, MODE, "draft"), 403, id="mode"),
        pytest.param(lambda url, ada, bob: with_part(url, ACCESS, "thirdparty"), 403, id="access"),
        pytest.param(lambda url, ada, bob: with_part(url, ACCESS, "open"), 404, id="unknown-access"),
    ],
)
@pytest.mark.parametrize("logged_in", ["nobody", "bob", "ada"])
def test_a_tampered_url_is_refused_and_writes_nothing(ada, bob, done_url, tamper, status, logged_in):
    client = Client()
    if logged_in != "nobody":
        client.force_login({"ada": ada, "bob": bob}[logged_in])
    url = tamper(done_url, ada, bob)
    assert url != done_url
    before = learner_state()
    response = post_done(client, url)
    assert response.status_code == status
    assert learner_state() == before == []
    assert done_of(ada) is False
    assert done_of(bob) is False
    assert done_of(ada, OTHER_DONE) is False


def test_a_valid_url_used_by_another_logged_in_user_is_refused(ada, bob, done_url, client):
    client.force_login(bob)
    before = learner_state()
    response = post_done(client, done_url)
    assert response.status_code == 403
    assert learner_state() == before == []
    assert done_of(ada) is False
    assert done_of(bob) is False


def test_a_session_url_without_its_session_is_refused(ada, done_url):
    """A URL made for ada's page is no bearer token: without ada's session it does nothing."""
    before = learner_state()
    assert post_done(Client(), done_url).status_code == 403
    assert learner_state() == before == []
    assert done_of(ada) is False


def test_a_thirdparty_url_is_still_refused_to_another_logged_in_user(ada, bob):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    url = runtime.handler_url(runtime.get_block(DONE), "toggle_button", thirdparty=True)
    assert url.split("/")[ACCESS] == "thirdparty"
    client = Client()
    client.force_login(bob)
    assert post_done(client, url).status_code == 403
    assert learner_state() == []


def test_draft_urls_always_need_a_staff_session(leaf_course, make_user):
    sam = make_user("sam", is_staff=True)
    runtime = api.get_runtime(sam, course_key=LEAF_KEY, mode="draft")
    url = runtime.handler_url(runtime.get_block(DONE), "toggle_button", thirdparty=True)
    assert url.split("/")[ACCESS] == "session"  # no session-less door into drafts
    assert post_done(Client(), url).status_code == 403
    system = api.get_runtime(None, course_key=LEAF_KEY, mode="draft")
    with pytest.raises(ValueError, match="without a user"):
        system.handler_url(system.get_block(DONE), "toggle_button")
    sam.is_staff = False
    sam.save()
    client = Client()
    client.force_login(sam)
    assert post_done(client, url).status_code == 403
    assert learner_state() == []


def test_a_url_of_a_deactivated_learner_is_refused(ada, done_url, client):
    ada.is_active = False
    ada.save()
    assert post_done(client, done_url).status_code == 403
    assert learner_state() == []


def test_a_url_holds_for_the_next_window_and_then_expires(ada, done_url, client, monkeypatch):
    minted = time.time()
    clock = types.SimpleNamespace(time=lambda: minted)
    monkeypatch.setattr(handler_urls, "time", clock)
    client.force_login(ada)

    clock.time = lambda: minted + 2 * handler_urls.WINDOW_SECONDS + 1
    before = learner_state()
    response = post_done(client, done_url)
    assert response.status_code == 403
    assert b"expired" in response.content
    assert learner_state() == before == []
    assert done_of(ada) is False

    clock.time = lambda: minted + handler_urls.WINDOW_SECONDS
    assert post_done(client, done_url).status_code == 200
    assert done_of(ada) is True


def test_a_learner_cannot_mint_or_forge_a_draft_url(ada, client):
    with pytest.raises(PermissionDenied):
        api.get_runtime(ada, course_key=LEAF_KEY, mode="draft")
    # Even a URL properly signed for draft mode (as if minted by code that skipped get_runtime) is refused.
    signed = handler_urls.handler_url("draft", DONE, ada.id, "toggle_button")
    client.force_login(ada)
    before = learner_state()
    assert post_done(client, signed).status_code == 403
    assert Client().post(signed, data="{}", content_type="application/json").status_code == 403
    assert learner_state() == before == []
    assert done_of(ada) is False


def test_staff_use_draft_urls(leaf_course, make_user, client):
    sam = make_user("sam", is_staff=True)
    runtime = api.get_runtime(sam, course_key=LEAF_KEY, mode="draft")
    url = runtime.handler_url(runtime.get_block(DONE), "toggle_button")
    assert url.split("/")[MODE] == "draft"
    client.force_login(sam)
    assert post_done(client, url).json() == {"state": True}


@pytest.mark.parametrize("handler", ["no_such_handler", "student_view", "save", "__init__"])
def test_an_unknown_handler_name_is_404(ada, done_url, client, handler):
    client.force_login(ada)
    before = learner_state()
    response = post_done(client, with_part(done_url, HANDLER, handler))
    assert response.status_code == 404
    assert learner_state() == before == []


@pytest.mark.parametrize(
    "key",
    ["not-a-key", "block-v1:LcX+Leaf+2026", "course-v1:LcX+Leaf+2026", "block-v1:LcX+Leaf+2026+type@done"],
)
def test_a_malformed_usage_key_is_404(ada, done_url, client, key):
    client.force_login(ada)
    response = post_done(client, with_part(done_url, USAGE, quote(key, safe=":+@")))
    assert response.status_code == 404
    assert learner_state() == []


@pytest.mark.parametrize(
    "key",
    [
        usage(LEAF_KEY, "done", "no-such-block"),
        usage(LEAF_KEY, "poll", "done-toggle"),  # a real block id under another type
        usage("course-v1:LcX+Nowhere+2026", "done", "done-toggle"),  # a course run that does not exist
    ],
)
def test_a_signed_url_for_a_block_not_in_the_course_is_404(ada, client, key):
    url = handler_urls.handler_url("published", key, ada.id, "toggle_button")
    client.force_login(ada)
    response = post_done(client, url)
    assert response.status_code == 404
    assert learner_state() == []


def test_handler_url_refuses_what_is_not_a_handler(ada):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    block = runtime.get_block(DONE)
    for name in ("student_view", "max_score", "no_such_handler", "done"):
        with pytest.raises(ValueError, match=name):
            runtime.handler_url(block, name)


def test_thirdparty_urls_work_without_a_session(ada, bob):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    poll = runtime.get_block(POLL)
    url = runtime.handler_url(poll, "vote", thirdparty=True)
    response = Client().post(url, data=json.dumps({"choice": "titan"}), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert api.get_runtime(ada, course_key=LEAF_KEY).get_block(POLL).choice == "titan"
    assert api.get_runtime(bob, course_key=LEAF_KEY).get_block(POLL).choice is None

    state_url = runtime.handler_url(poll, "student_view_user_state", suffix="any/suffix", query="x=1",
                                    thirdparty=True)
    assert state_url.endswith("/student_view_user_state/any/suffix?x=1")
    state = Client().get(state_url)
    assert state.status_code == 200
    assert state.json()["choice"] == "titan"


# ---- blocks' packaged files


@pytest.mark.parametrize(
    ("block_type", "uri", "content_type", "starts_with"),
    [
        ("acid", "public/test_data.json", "application/json", b"{"),
        ("done", "public/check-empty.png", "image/png", b"\x89PNG"),
    ],
)
def test_local_resources_serve_public_files(db, client, block_type, uri, content_type, starts_with):
    response = client.get(f"/lc-runtime/resource/{block_type}/{uri}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert b"".join(response.streaming_content).startswith(starts_with)


def test_local_resource_urls_from_the_runtime_are_served(ada, client):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    url = runtime.local_resource_url(runtime.get_block(DONE), "public/check-full.png")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "done/public/../done.py",
        "done/public/%2e%2e/done.py",
        "done/public/..%2fdone.py",
        "done/public/./check-empty.png",
        "done/public/.hidden",
        "done/../poll/public/css/poll.css",
        "done//etc/passwd",
        "done/%2Fetc%2Fpasswd",
        "done/done.py",
        "done/static/css/done.css",
        "done/templates/done.html",
        "done/public",
        "done/public/",
        "done/public/no-such-file.png",
        "no_such_block_type/public/test_data.json",
        "acid/test_data.json",
    ],
)
def test_local_resources_refuse_everything_outside_public(db, client, path):
    assert client.get(f"/lc-runtime/resource/{path}").status_code == 404


def test_resource_urls_point_at_the_hosts_static_files(ada, settings):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    assert runtime.resource_url("js/xblock/runtime.v1.js") == f"{settings.STATIC_URL}js/xblock/runtime.v1.js"


def test_a_thirdparty_url_opens_only_its_own_handler_call(ada):
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    poll = runtime.get_block(POLL)
    url = runtime.handler_url(poll, "student_view_user_state", suffix="a", thirdparty=True)
    assert Client().get(url).status_code == 200
    assert Client().get(with_part(url, HANDLER, "vote")).status_code == 403
    assert Client().get(url.replace("/student_view_user_state/a", "/student_view_user_state/b")).status_code == 403
    assert learner_state() == []


def test_a_forged_anonymous_draft_url_is_refused(leaf_course, client):
    """Even signed with the real secret, a draft URL for no user would act as the system: refused."""
    forged = handler_urls.handler_url("draft", DONE, None, "toggle_button")
    assert post_done(client, forged).status_code == 403
    assert learner_state() == []


@pytest.mark.usefixtures("transactional_db")
def test_authors_preview_events_never_reach_event_handlers(leaf_course, make_user, settings, client):
    from lc_runtime.runtime.events import xblock_event

    signalled = []
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "EVENT_HANDLERS": [f"{__name__}:record_event"]}
    RECORDED.clear()
    xblock_event.connect(lambda sender, event, **kw: signalled.append(event.mode), weak=False, dispatch_uid="t")
    try:
        sam = make_user("sam", is_staff=True)
        client.force_login(sam)
        studio = api.get_runtime(sam, course_key=LEAF_KEY, mode="draft")
        assert post_done(client, studio.handler_url(studio.get_block(DONE), "toggle_button")).status_code == 200
        learner_runtime = api.get_runtime(sam, course_key=LEAF_KEY)
        assert post_done(client, learner_runtime.handler_url(learner_runtime.get_block(DONE), "toggle_button")).json()
    finally:
        xblock_event.disconnect(dispatch_uid="t")
    assert set(signalled) == {"draft", "published"}
    assert RECORDED and {event.mode for event in RECORDED} == {"published"}


RECORDED: list = []


def record_event(event) -> None:
    RECORDED.append(event)


# ---- issue 9, item 7: draft URLs, CSRF, authored writes


def test_a_signed_thirdparty_draft_url_is_refused_without_a_session(leaf_course, make_user):
    """ADR 0006: draft URLs are always session URLs. Even signed with the real secret, a thirdparty one is refused."""
    sam = make_user("sam", is_staff=True)
    forged = handler_urls.handler_url("draft", DONE, sam.id, "toggle_button", access="thirdparty")
    assert post_done(Client(), forged).status_code == 403
    assert api.get_runtime(sam, course_key=LEAF_KEY, mode="draft").get_block(DONE).done is False


CSRF_SECRET = "abcdefghijklmnopqrstuvwxyzABCDEF"  # 32 letters: a well-formed CSRF secret


def test_session_handler_urls_need_the_csrf_token(ada, done_url, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ada)
    response = post_done(client, done_url)
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert learner_state() == []

    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    response = client.post(
        done_url, data=json.dumps({"done": True}), content_type="application/json", HTTP_X_CSRFTOKEN=CSRF_SECRET
    )
    assert response.status_code == 200
    assert done_of(ada) is True


def test_thirdparty_handler_urls_need_no_csrf_token(ada):
    """They carry no session (a grader's callback has no cookie to forge with): their token is the check."""
    runtime = api.get_runtime(ada, course_key=LEAF_KEY)
    url = runtime.handler_url(runtime.get_block(DONE), "toggle_button", thirdparty=True)
    assert post_done(Client(enforce_csrf_checks=True), url).status_code == 200
    assert done_of(ada) is True


class SettingsWriterBlock(XBlock):
    """A block whose handler writes learner state and then its authored title: a learner may do neither."""

    display_name = String(scope=Scope.settings, default="Writer")
    writes = Integer(scope=Scope.user_state, default=0)

    def student_view(self, context=None):
        return Fragment(f"<p>{self.display_name}</p>")

    @XBlock.json_handler
    def rename(self, data, suffix=""):
        self.writes += 1
        self.save()
        self.display_name = data["name"]
        self.save()
        return {"renamed": True}


WRITER_KEY = "course-v1:LcX+Writer+2026"
WRITER = usage(WRITER_KEY, "lc_settings_writer", "writer")


@pytest.mark.parametrize("middleware", ["with the unit-of-work middleware", "without it"])
def test_a_learners_authored_write_in_a_handler_is_a_403_and_writes_nothing(
    db, tmp_path, make_user, settings, middleware
):
    settings.LC_RUNTIME = {
        **settings.LC_RUNTIME,
        "BLOCK_CLASSES": {"lc_settings_writer": f"{__name__}:SettingsWriterBlock"},
    }
    if middleware == "without it":
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("UnitOfWorkMiddleware")]
    (tmp_path / "course").mkdir()
    (tmp_path / "course.xml").write_text('<course url_name="2026" org="LcX" course="Writer"/>')
    (tmp_path / "course" / "2026.xml").write_text(
        '<course start="2026-01-01T00:00:00Z" display_name="Writer">'
        '<chapter url_name="c"><sequential url_name="s"><vertical url_name="v">'
        '<lc_settings_writer url_name="writer" display_name="Original"/>'
        "</vertical></sequential></chapter></course>"
    )
    assert api.import_olx(tmp_path, strict=True).problems == []
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=WRITER_KEY)
    url = runtime.handler_url(runtime.get_block(WRITER), "rename")
    client = Client()
    client.force_login(ada)
    response = client.post(url, data=json.dumps({"name": "Hacked"}), content_type="application/json")
    assert response.status_code == 403
    assert b"read-only in a published (learner) runtime" in response.content
    assert learner_state() == []
    fresh = api.get_runtime(ada, course_key=WRITER_KEY).get_block(WRITER)
    assert (fresh.display_name, fresh.writes) == ("Original", 0)


def test_a_submission_the_problem_refuses_is_its_message_not_a_server_error(demo_course, make_user, client):
    """Capa refuses a fourth submission to a problem allowing three (its ProcessingError): 200 with its message."""
    from tests.conftest import DEMO_KEY

    ada = make_user("ada")
    client.force_login(ada)
    runtime = api.get_runtime(ada, course_key=DEMO_KEY)
    problem = usage(DEMO_KEY, "problem", "orbit-question")  # max_attempts="3"
    url = runtime.handler_url(runtime.get_block(problem), "xmodule_handler", "problem_check")
    wrong = {"input_orbit-question_2_1": "choice_0"}
    answers = [json.loads(client.post(url, data=wrong).content)["success"] for _ in range(4)]

    assert answers[:3] == ["incorrect"] * 3
    assert answers[3] == "The state of this problem has changed since you loaded this page. Please refresh your page."
    state = LearnerState.objects.get(scope="one.usage", user_id=ada.id, block_key=problem).state
    assert state["attempts"] == 3
