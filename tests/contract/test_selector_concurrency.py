"""
Concurrent first visits of one learner to units with selectors: one Variant per selector, one
partition group per partition, never two and never an error, and every request shows the same.

Each thread is one request with its own database connection. On MariaDB the rows race for real
(InnoDB row locks, READ COMMITTED, and REPEATABLE READ too); on SQLite, whose writers take the
database lock at BEGIN (``transaction_mode=IMMEDIATE`` in our settings), the requests queue.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from lc_runtime import api
from lc_runtime.models import LearnerVariant, PartitionGroup
from tests.conftest import SELECTOR_COURSE, SELECTOR_UNITS, SELECTORS
from tests.conftest import SELECTOR_KEY as KEY
from tests.reliability.threads import race as race_in_threads

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def race(work: Callable[[int], object], threads: int = THREADS) -> tuple[list[object], list[BaseException]]:
    """Run ``work(i)`` in threads that start together; return their results and what they raised."""
    return race_in_threads(work, threads, timeout=120)


def visit_everything(user) -> dict[str, list[str]]:
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=KEY)
        for unit in SELECTOR_UNITS:
            runtime.render(runtime.get_block(unit), "student_view")
        return {
            key: [str(child.scope_ids.usage_id) for child in runtime.get_block(key).get_children()]
            for key in SELECTORS
        }


# The events a learner's first visit sends: exactly once, by the request whose rows were stored.
FIRST_VISIT_EVENTS = Counter({
    "xmodule.partitions.assigned_user_to_partition": 1,
    "edx.itembankblock.content.assigned": 1,
    "edx.librarycontentblock.content.assigned": 1,
    "lc_test.rotation.assigned": 1,
})


@pytest.fixture
def events():
    received: list = []
    api.xblock_event.connect(lambda sender, event, **kw: received.append(event), weak=False, dispatch_uid="race")
    yield received
    api.xblock_event.disconnect(dispatch_uid="race")


def test_concurrent_first_visits_of_one_learner_make_one_variant_each(make_user, events):
    assert api.import_olx(SELECTOR_COURSE, strict=True).problems == []
    ada = make_user("ada")
    api.get_runtime(ada, course_key=KEY)  # load the tree once, so the threads race on the Variants

    results, errors = race(lambda index: visit_everything(ada))

    assert errors == []
    assert all(result == results[0] for result in results), "every request shows the same Variants"
    assert LearnerVariant.objects.filter(user_id=ada.id).count() == len(SELECTORS)
    assert PartitionGroup.objects.filter(user_id=ada.id).count() == 1
    # Every request computed the same draws, but only the requests whose rows won sent their events.
    assert Counter(event.event_type for event in events) == FIRST_VISIT_EVENTS
    assert visit_everything(ada) == results[0]


@pytest.mark.skipif(connection.vendor != "mysql", reason="REPEATABLE READ is a MySQL/MariaDB isolation level")
def test_concurrent_first_visits_under_repeatable_read(make_user, settings):
    """A locking re-read sees the winner's row even in a transaction whose snapshot predates it."""
    assert api.import_olx(SELECTOR_COURSE, strict=True).problems == []
    ada = make_user("ada")
    api.get_runtime(ada, course_key=KEY)

    def visit(index: int):
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return visit_everything(ada)

    results, errors = race(visit)
    assert errors == []
    assert all(result == results[0] for result in results)
    assert LearnerVariant.objects.filter(user_id=ada.id).count() == len(SELECTORS)


def test_concurrent_first_visits_of_different_learners_do_not_mix(make_user, events):
    assert api.import_olx(SELECTOR_COURSE, strict=True).problems == []
    users = [make_user(f"learner{i}") for i in range(THREADS)]
    api.get_runtime(users[0], course_key=KEY)

    results, errors = race(lambda index: visit_everything(users[index]))

    assert errors == []
    assert LearnerVariant.objects.count() == len(SELECTORS) * THREADS
    assert Counter(event.event_type for event in events) == Counter(
        {name: count * THREADS for name, count in FIRST_VISIT_EVENTS.items()}
    )
    for user, result in zip(users, results, strict=True):
        assert visit_everything(user) == result
