"""
One learner's simultaneous requests to one block: each handler reads the state the previous one
stored, so none of them is lost and a limit on attempts holds.

Every request goes through the web view and the unit-of-work middleware (Django's test client), in
its own thread with its own database connection. They race for real on MariaDB (InnoDB row locks,
under the standalone settings' READ COMMITTED and under REPEATABLE READ); on SQLite, whose writers
take the database lock at BEGIN (``transaction_mode=IMMEDIATE``), requests queue whatever the
runtime does, so these tests would prove nothing there.
"""

from __future__ import annotations

import json

import pytest
from django.core.signals import got_request_exception
from django.db import connection
from django.test import Client

from lc_runtime import api
from lc_runtime.models import LearnerState
from tests.conftest import DEMO_COURSE, DEMO_KEY, UOW_COURSE, UOW_KEY, usage
from tests.reliability.threads import race

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "mysql",
        reason="SQLite serialises every writing transaction (BEGIN IMMEDIATE): requests cannot race there",
    ),
    pytest.mark.django_db(transaction=True),
]

PROBLEM = usage(DEMO_KEY, "problem", "orbit-question")  # max_attempts="3"
WRONG_ANSWER = {"input_orbit-question_2_1": "choice_0"}
COUNTER = usage(UOW_KEY, "lc_test_counter", "counter-a")
ISOLATION_LEVELS = ["READ COMMITTED", "REPEATABLE READ"]


@pytest.fixture
def request_errors():
    """What the views raised (Django turns it into a 500 response): ``[(path, exception)]``."""
    raised: list[tuple[str, BaseException]] = []

    def receiver(sender, request=None, **kwargs):
        import sys

        raised.append((getattr(request, "path", ""), sys.exc_info()[1]))

    got_request_exception.connect(receiver, weak=False, dispatch_uid="reliability")
    yield raised
    got_request_exception.disconnect(dispatch_uid="reliability")


def logged_in_clients(user, count: int) -> list[Client]:
    clients = []
    for _ in range(count):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients.append(client)
    return clients


def set_isolation(level: str) -> None:
    """This thread's connection runs its next transactions at ``level``."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {level}")


def stored_state(user, block_key: str) -> dict:
    return LearnerState.objects.get(scope="one.usage", user_id=user.id, block_key=block_key).state


@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_simultaneous_submissions_respect_max_attempts(make_user, request_errors, isolation):
    """Twelve problem_check requests at once on a problem allowing three attempts: three graded, three stored."""
    api.import_olx(DEMO_COURSE)
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=DEMO_KEY)
    url = runtime.handler_url(runtime.get_block(PROBLEM), "xmodule_handler", "problem_check")
    clients = logged_in_clients(ada, 12)

    def submit(index: int) -> str:
        set_isolation(isolation)
        response = clients[index].post(url, data=WRONG_ANSWER)
        assert response.status_code == 200, response.content
        return json.loads(response.content)["success"]

    answers, errors = race(submit, threads=12)

    assert errors == [] and request_errors == []
    # Three graded; the nine others met a closed problem and got capa's message for it (its
    # ProcessingError, answered as edx-platform does), nothing else: no deadlock, no lock wait timeout.
    assert sorted(answers).count("incorrect") == 3
    refusals = [answer for answer in answers if answer != "incorrect"]
    assert len(refusals) == 9, answers
    assert set(refusals) == {
        "The state of this problem has changed since you loaded this page. Please refresh your page."
    }
    assert stored_state(ada, PROBLEM)["attempts"] == 3


@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_simultaneous_clicks_are_all_counted(make_user, request_errors, isolation):
    """Sixteen clicks at once by one learner: sixteen stored, and each handler saw the previous one's click."""
    assert api.import_olx(UOW_COURSE, strict=True).problems == []
    ada = make_user("ada")
    runtime = api.get_runtime(ada, course_key=UOW_KEY)
    url = runtime.handler_url(runtime.get_block(COUNTER), "click")
    clients = logged_in_clients(ada, 16)

    def click(index: int) -> dict:
        set_isolation(isolation)
        response = clients[index].post(url, data="{}", content_type="application/json")
        assert response.status_code == 200, response.content
        return json.loads(response.content)

    answers, errors = race(click, threads=16)

    assert errors == [] and request_errors == []
    assert sorted(answer["clicks"] for answer in answers) == list(range(1, 17))
    assert stored_state(ada, COUNTER) == {"clicks": 16}
    # The counter declares a field shared by every learner (user_state_summary): its handler locks that
    # row too, and reads it through the lock, so none of the clicks is lost there either.
    summary = LearnerState.objects.get(scope="all.usage", user_id=0, block_key=COUNTER).state
    assert summary == {"total_clicks": 16}


@pytest.mark.parametrize("isolation", ISOLATION_LEVELS)
def test_simultaneous_clicks_of_many_learners_all_reach_the_shared_total(make_user, request_errors, isolation):
    """Sixteen learners click one counter at once: each click counted for its learner and in the shared total."""
    assert api.import_olx(UOW_COURSE, strict=True).problems == []
    learners = [make_user(f"learner-{index}") for index in range(16)]
    urls = []
    for learner in learners:
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        urls.append(runtime.handler_url(runtime.get_block(COUNTER), "click"))
    clients = [logged_in_clients(learner, 1)[0] for learner in learners]

    def click(index: int) -> dict:
        set_isolation(isolation)
        response = clients[index].post(urls[index], data="{}", content_type="application/json")
        assert response.status_code == 200, response.content
        return json.loads(response.content)

    answers, errors = race(click, threads=16)

    assert errors == [] and request_errors == []
    assert [answer["clicks"] for answer in answers] == [1] * 16
    assert sorted(answer["total"] for answer in answers) == list(range(1, 17))
    assert all(stored_state(learner, COUNTER) == {"clicks": 1} for learner in learners)
    summary = LearnerState.objects.get(scope="all.usage", user_id=0, block_key=COUNTER).state
    assert summary == {"total_clicks": 16}
