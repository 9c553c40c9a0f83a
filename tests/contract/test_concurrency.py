"""
Concurrent first visits: several requests, each with its own connection, write one learner's state
for one block at the same moment. None may fail, and the stored object must hold every field.

These need a server database with row locks (MySQL/MariaDB: ``LC_RUNTIME_TEST_DB=mysql``). SQLite
locks the whole file, so two writing transactions there wait on each other instead of racing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from webob import Request

from lc_runtime import api
from lc_runtime.content.learners.api import StateKey, get_learner_state_store
from lc_runtime.models import LearnerState
from tests.conftest import UOW_COURSE, UOW_KEY, usage
from tests.edx_tables import STUDENT_MODULE_TABLE, student_module_rows

pytestmark = [
    pytest.mark.skipif(connection.vendor != "mysql", reason="needs a database with row locks (MySQL/MariaDB)"),
    pytest.mark.django_db(transaction=True),
]

COUNTER_UNIT = usage(UOW_KEY, "vertical", "counter-unit")
COUNTERS = [usage(UOW_KEY, "lc_test_counter", "counter-a"), usage(UOW_KEY, "lc_test_counter", "counter-b")]
THREADS = 8


def race(work: Callable[[int], None], threads: int = THREADS) -> list[BaseException]:
    """Run ``work(i)`` in ``threads`` threads that start together; return what they raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(10)
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    return errors


def test_racing_first_writes_merge_every_field():
    store = get_learner_state_store()
    key = StateKey("one.usage", 7, UOW_KEY, COUNTERS[0])
    other = StateKey("one.usage", 7, UOW_KEY, COUNTERS[1])

    def write(index: int) -> None:
        # Every thread writes both keys, half of them in the other order.
        keys = [key, other] if index % 2 else [other, key]
        with api.unit_of_work():
            store.save({k: {f"field_{index}": index} for k in keys})

    assert race(write) == []
    expected = {f"field_{i}": i for i in range(THREADS)}
    assert store.load([key, other]) == {key: expected, other: expected}
    assert LearnerState.objects.count() == 2


@pytest.mark.parametrize("learners", ["one learner", "one learner each"])
@pytest.mark.parametrize("store", ["lc-runtime", "studentmodule"])
def test_racing_first_visits_through_the_runtime(make_user, learners, store, request, settings):
    """Render then click both counters (user_state and the shared user_state_summary), in either order."""
    if store == "studentmodule":  # learners' user_state in edx-platform's table, the rest in ours
        request.getfixturevalue("edx_tables")
        with connection.cursor() as cursor:  # a transactional test's flush leaves edx-platform's tables alone
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(STUDENT_MODULE_TABLE)}")
        settings.LC_RUNTIME = {
            **settings.LC_RUNTIME, "LEARNER_STATE_STORE": "lc_runtime.content.learners.api:StudentModuleStateStore",
        }
    assert api.import_olx(UOW_COURSE, strict=True).problems == []
    users = [make_user(f"learner{i}") for i in range(THREADS if learners == "one learner each" else 1)]

    # Each handler locks its learner's state of its block until the unit ends (ADR 0016): two units of
    # one learner clicking the counters in opposite orders can deadlock, and the loser runs again.
    @api.unit_of_work(deadlock_retries=5)
    def visit(index: int) -> None:
        runtime = api.get_runtime(users[index % len(users)], course_key=UOW_KEY)
        runtime.render(runtime.get_block(COUNTER_UNIT), "student_view")
        for counter in COUNTERS if index % 2 else reversed(COUNTERS):
            request = Request.blank("/", method="POST", body=b"{}")
            assert json.loads(runtime.handle(runtime.get_block(counter), "click", request).body)["clicks"] >= 1

    assert race(visit) == []
    rows = {(row.scope, row.user_id, row.block_key): row.state for row in LearnerState.objects.all()}
    if store == "studentmodule":
        modules = student_module_rows()
        assert all(row["course_id"] == UOW_KEY and row["module_type"] == "lc_test_counter" for row in modules)
        rows.update({("one.usage", row["student_id"], row["module_id"]): json.loads(row["state"]) for row in modules})
    assert set(rows) == {
        *((scope, 0, counter) for scope in ["all.usage"] for counter in COUNTERS),
        *(("one.usage", user.id, counter) for user in users for counter in COUNTERS),
    }
    for counter in COUNTERS:
        assert 1 <= rows["all.usage", 0, counter]["total_clicks"] <= THREADS
        for user in users:
            assert 1 <= rows["one.usage", user.id, counter]["clicks"] <= THREADS
