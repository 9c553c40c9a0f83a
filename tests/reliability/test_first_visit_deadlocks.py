"""
One learner's first visits to units with selectors, many at once and in opposite orders: every
request succeeds, and the learner ends with exactly one Variant per selector and one group per
partition.

Each request stores the learner's Variants and partition groups as it reaches them. On MariaDB two
requests that reach them in opposite orders deadlocked on those INSERTs (error 1213), each holding a
row of one unit that the other needed. Now a request locks the learner's choices before it stores
any, so one learner's requests store them one at a time and do not deadlock among themselves; a
request that InnoDB still picks as a deadlock's victim (two learners' rows can meet in an index's
gaps) is run again from the start by the unit-of-work middleware (or the ``unit_of_work``
decorator). On SQLite, whose writers take the database lock at BEGIN, the requests queue and cannot
deadlock: the tests run there too, and must pass.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.core.signals import got_request_exception
from django.http import JsonResponse
from django.test import Client
from django.urls import path

from lc_runtime import api
from lc_runtime.models import LearnerVariant, PartitionGroup
from tests.conftest import SELECTOR_COURSE, SELECTOR_UNITS, SELECTORS
from tests.conftest import SELECTOR_KEY as KEY
from tests.reliability.threads import race

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 16


def render_units(user, units: list[str]) -> dict[str, list[str]]:
    """Render ``units`` in that order; what each selector shows the learner."""
    runtime = api.get_runtime(user, course_key=KEY)
    for unit in units:
        runtime.render(runtime.get_block(unit), "student_view")
    return {
        key: [str(child.scope_ids.usage_id) for child in runtime.get_block(key).get_children()] for key in SELECTORS
    }


def units_view(request, order: str):
    """A courseware-like view: render the course's units with selectors, forwards or backwards."""
    return JsonResponse(render_units(request.user, SELECTOR_UNITS if order == "forwards" else SELECTOR_UNITS[::-1]))


urlpatterns = [path("units/<str:order>/", units_view)]


@pytest.fixture
def request_errors():
    raised: list[BaseException] = []

    def receiver(sender, **kwargs):
        import sys

        raised.append(sys.exc_info()[1])

    got_request_exception.connect(receiver, weak=False, dispatch_uid="reliability-deadlocks")
    yield raised
    got_request_exception.disconnect(dispatch_uid="reliability-deadlocks")


@pytest.fixture
def selector_course():
    assert api.import_olx(SELECTOR_COURSE, strict=True).problems == []


def assert_one_row_each(users) -> None:
    for user in users:
        assert LearnerVariant.objects.filter(user_id=user.id).count() == len(SELECTORS)
        assert PartitionGroup.objects.filter(user_id=user.id).count() == 1


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("learners", [1, 2], ids=["one learner", "two learners"])
def test_first_visits_in_opposite_orders_through_the_middleware(
    selector_course, make_user, request_errors, learners, caplog
):
    users = [make_user(f"learner{i}") for i in range(learners)]
    api.get_runtime(users[0], course_key=KEY)  # the tree is cached: the requests race on the learners' rows
    clients = []
    for index in range(REQUESTS):
        client = Client(raise_request_exception=False)
        client.force_login(users[index % learners])
        clients.append(client)

    def visit(index: int) -> tuple[int, dict]:
        order = "forwards" if (index // learners) % 2 else "backwards"
        response = clients[index].get(f"/units/{order}/")
        shown = json.loads(response.content) if response.status_code == 200 else None
        return index % learners, (response.status_code, shown)

    with caplog.at_level(logging.WARNING, logger="lc_runtime.web.middleware"):
        results, errors = race(visit, threads=REQUESTS)

    assert errors == [] and request_errors == []
    if learners == 1:
        # The learner's choices lock queues them: none is a deadlock's victim, none is run again.
        assert [record.getMessage() for record in caplog.records] == []
    assert all(status == 200 for _, (status, _shown) in results), results
    for learner in range(learners):
        shown = [seen for who, (_status, seen) in results if who == learner]
        assert all(seen == shown[0] for seen in shown), "every request of one learner shows the same Variants"
    assert_one_row_each(users)


def test_first_visits_in_opposite_orders_through_the_decorator(selector_course, make_user, caplog):
    ada = make_user("ada")
    api.get_runtime(ada, course_key=KEY)

    @api.unit_of_work(deadlock_retries=3)
    def visit(index: int) -> dict:
        return render_units(ada, SELECTOR_UNITS if index % 2 else SELECTOR_UNITS[::-1])

    with caplog.at_level(logging.WARNING, logger="lc_runtime.fielddata.unit_of_work"):
        results, errors = race(visit, threads=REQUESTS)

    assert errors == []
    assert [record.getMessage() for record in caplog.records] == [], "one learner's units queue: none is run again"
    assert all(result == results[0] for result in results)
    assert_one_row_each([ada])
