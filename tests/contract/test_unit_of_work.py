"""
The unit of work: a request's writes commit together at its end, or not at all; events go out after.

Tests that must see a real COMMIT (events are sent only after one) use ``transactional_db``; the
others run inside the test's own transaction, where the unit's transaction is a savepoint.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections, transaction
from django.http import HttpResponse, HttpResponseServerError
from django.test import Client
from django.urls import include, path
from webob import Request

from lc_runtime import api
from lc_runtime.content.learners.api import CacheLearnerStateStore, DjangoLearnerStateStore
from lc_runtime.fielddata.unit_of_work import current_unit
from lc_runtime.models import LearnerState
from tests.conftest import UOW_KEY, usage

COUNTER_UNIT = usage(UOW_KEY, "vertical", "counter-unit")
COUNTER_A = usage(UOW_KEY, "lc_test_counter", "counter-a")
COUNTER_B = usage(UOW_KEY, "lc_test_counter", "counter-b")
FAULTY = usage(UOW_KEY, "lc_test_faulty", "faulty")


# ---- views for the middleware tests (this module is their URLconf: see ``pytest.mark.urls``)
def _click_in_view(request) -> None:
    runtime = api.get_runtime(request.user, course_key=UOW_KEY)
    runtime.handle(runtime.get_block(COUNTER_A), "click", _json_request())


def view_that_commits(request):
    _click_in_view(request)
    return HttpResponse("ok")


def view_that_raises(request):
    _click_in_view(request)
    raise ValueError("the view failed after writing")


def view_that_answers_500(request):
    _click_in_view(request)
    return HttpResponseServerError("the view reports a failure")


# Each entry: how many more calls of view_that_deadlocks fail with a deadlock before one succeeds.
DEADLOCKS_TO_COME: list[int] = []


def view_that_deadlocks(request):
    """Writes learner state, then meets a deadlock (as MySQL reports one) while ``DEADLOCKS_TO_COME`` says so."""
    _click_in_view(request)
    if DEADLOCKS_TO_COME[0] > 0:
        DEADLOCKS_TO_COME[0] -= 1
        raise OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")
    return HttpResponse(f"ok {request.body.decode()}")


urlpatterns = [
    path("uow/deadlocks/", view_that_deadlocks),
    path("lc-runtime/", include("lc_runtime.web.urls")),
    path("uow/commits/", view_that_commits),
    path("uow/raises/", view_that_raises),
    path("uow/answers-500/", view_that_answers_500),
]


# ---- fixtures and helpers
@pytest.fixture
def learner(make_user):
    return make_user("ada")


@pytest.fixture
def events():
    """Every event delivered, with what was true when it was: in a transaction? state committed?"""
    delivered = []

    def receiver(sender, event, **kwargs):
        delivered.append(
            {
                "event": event,
                "in_transaction": connection.in_atomic_block,
                "stored_rows": LearnerState.objects.count(),
            }
        )

    api.xblock_event.connect(receiver, dispatch_uid="test_unit_of_work")
    yield delivered
    api.xblock_event.disconnect(dispatch_uid="test_unit_of_work")


def _json_request(data: dict | None = None) -> Request:
    return Request.blank("/", method="POST", body=json.dumps(data or {}).encode())


def click(runtime, key: str = COUNTER_A) -> dict:
    response = runtime.handle(runtime.get_block(key), "click", _json_request())
    return json.loads(response.body)


def stored(scope: str = "one.usage") -> dict[str, dict]:
    """The stored learner state of ``scope``, by block key."""
    return {row.block_key: row.state for row in LearnerState.objects.filter(scope=scope)}


# ---- (a) a failing handler leaves nothing behind and sends nothing
@pytest.mark.usefixtures("transactional_db")
def test_handler_that_writes_then_raises_leaves_nothing(uow_course, learner, events):
    with pytest.raises(RuntimeError, match="failed after writing"), api.unit_of_work():
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        runtime.handle(runtime.get_block(FAULTY), "write_then_fail", _json_request())
    assert LearnerState.objects.count() == 0
    assert events == []


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.urls(__name__)
def test_handler_url_that_raises_leaves_nothing(uow_course, learner, events):
    client = Client(raise_request_exception=False)
    client.force_login(learner)
    runtime = api.get_runtime(learner, course_key=UOW_KEY)
    url = runtime.handler_url(runtime.get_block(FAULTY), "write_then_fail")
    response = client.post(url, data="{}", content_type="application/json")
    assert response.status_code == 500
    assert LearnerState.objects.count() == 0
    assert events == []

    # The same URL scheme commits and sends when the handler succeeds.
    response = client.post(runtime.handler_url(runtime.get_block(COUNTER_A), "click"), data="{}",
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert json.loads(response.content) == {"clicks": 1, "total": 1}
    assert stored() == {COUNTER_A: {"clicks": 1}}
    assert [e["event"].event_type for e in events] == ["lc_test.clicked"]


# ---- (b) events only after commit, never on rollback
@pytest.mark.usefixtures("transactional_db")
def test_events_are_delivered_after_the_commit(uow_course, learner, events):
    with api.unit_of_work():
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        assert click(runtime) == {"clicks": 1, "total": 1}
        assert click(runtime, COUNTER_B) == {"clicks": 1, "total": 1}
        assert events == []  # queued, not sent
    assert [e["event"].event_type for e in events] == ["lc_test.clicked", "lc_test.clicked"]
    assert [e["event"].usage_key for e in events] == [COUNTER_A, COUNTER_B]
    assert events[0]["event"].user_id == learner.id
    assert events[0]["event"].course_key == UOW_KEY
    assert events[0]["event"].data == {"clicks": 1}
    # Sent outside any transaction, with the state they describe already committed (2 user_state
    # rows and 2 user_state_summary rows).
    assert all(not e["in_transaction"] and e["stored_rows"] == 4 for e in events)


@pytest.mark.usefixtures("transactional_db")
def test_events_are_dropped_on_rollback(uow_course, learner, events):
    with pytest.raises(ZeroDivisionError), api.unit_of_work():
        click(api.get_runtime(learner, course_key=UOW_KEY))
        1 / 0  # noqa: B018
    assert events == []
    assert LearnerState.objects.count() == 0

    with api.unit_of_work() as unit:
        click(api.get_runtime(learner, course_key=UOW_KEY))
        unit.set_rollback()
    assert events == []
    assert LearnerState.objects.count() == 0


@pytest.mark.usefixtures("transactional_db")
def test_an_enclosing_transaction_delays_events_until_it_commits(uow_course, learner, events):
    with transaction.atomic():
        with api.unit_of_work():
            click(api.get_runtime(learner, course_key=UOW_KEY))
        assert events == []  # the unit ended, but the transaction around it has not committed
    assert [e["event"].event_type for e in events] == ["lc_test.clicked"]
    assert not events[0]["in_transaction"]

    with pytest.raises(ZeroDivisionError), transaction.atomic():
        with api.unit_of_work():
            click(api.get_runtime(learner, course_key=UOW_KEY))
        1 / 0  # noqa: B018
    assert len(events) == 1
    assert stored() == {COUNTER_A: {"clicks": 1}}


# ---- (c) reads in a unit see its own buffered writes
def test_reads_see_the_units_buffered_writes(uow_course, learner, make_user):
    other = make_user("bo")
    with api.unit_of_work():
        first = api.get_runtime(learner, course_key=UOW_KEY)
        first.render(first.get_block(COUNTER_UNIT), "student_view")  # loads the (empty) state
        assert click(first) == {"clicks": 1, "total": 1}
        # Buffered until the unit ends: the only rows are the two the handler locked (the learner's state
        # and the summary every learner shares), still empty.
        assert [row.state for row in LearnerState.objects.all()] == [{}, {}]

        second = api.get_runtime(learner, course_key=UOW_KEY)
        block = second.get_block(COUNTER_A)
        assert (block.clicks, block.total_clicks) == (1, 1)
        assert "First counter: 1 of 1" in second.render(second.get_block(COUNTER_UNIT), "student_view").content
        assert click(second) == {"clicks": 2, "total": 2}

        # The first runtime's field data sees the second runtime's write too. (Its block objects keep
        # the values they already read, as every XBlock does: XBlock caches field values per block.)
        assert first.field_data.get(first.get_block(COUNTER_A), "clicks") == 2
        assert first.field_data.get(first.get_block(COUNTER_A), "total_clicks") == 2

        # Another learner shares the summary, not the state.
        theirs = api.get_runtime(other, course_key=UOW_KEY).get_block(COUNTER_A)
        assert (theirs.clicks, theirs.total_clicks) == (0, 2)

    assert stored() == {COUNTER_A: {"clicks": 2}}
    assert stored("all.usage") == {COUNTER_A: {"total_clicks": 2}}
    # After the unit, a runtime of that unit reads what was committed.
    later = api.get_runtime(learner, course_key=UOW_KEY)
    assert later.get_block(COUNTER_A).clicks == 2


def test_a_rolled_back_write_is_not_read_afterwards(uow_course, learner):
    runtime = api.get_runtime(learner, course_key=UOW_KEY)
    with pytest.raises(ZeroDivisionError), api.unit_of_work():
        click(runtime)
        1 / 0  # noqa: B018
    # The same runtime, in a new unit: the buffered write was dropped with its unit.
    with api.unit_of_work():
        fresh = api.get_runtime(learner, course_key=UOW_KEY)
        assert fresh.get_block(COUNTER_A).clicks == 0
        assert click(runtime, COUNTER_B) == {"clicks": 1, "total": 1}
    assert stored() == {COUNTER_B: {"clicks": 1}}


# ---- (d) nesting and the decorator form
@pytest.mark.usefixtures("transactional_db")
def test_nested_units_join_the_outer_one(uow_course, learner, events):
    with api.unit_of_work() as outer:
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        with api.unit_of_work() as inner:
            assert inner is outer
            click(runtime)
        # The inner unit ended: nothing is committed or sent until the outer one ends (the only rows
        # are the two the handler locked, its state and the shared summary, empty and uncommitted).
        assert [row.state for row in LearnerState.objects.all()] == [{}, {}]
        assert events == []
        click(runtime, COUNTER_B)
    assert stored() == {COUNTER_A: {"clicks": 1}, COUNTER_B: {"clicks": 1}}
    assert len(events) == 2


@pytest.mark.usefixtures("transactional_db")
def test_a_failed_inner_unit_rolls_back_the_outer_one(uow_course, learner, events):
    with api.unit_of_work():
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        click(runtime)
        try:
            with api.unit_of_work():
                click(runtime, COUNTER_B)
                raise ValueError("inner failure")
        except ValueError:
            pass  # caught by the outer code: like atomic(savepoint=False), the outer unit is doomed
    assert LearnerState.objects.count() == 0
    assert events == []


@pytest.mark.usefixtures("transactional_db")
def test_an_outer_failure_rolls_back_a_finished_inner_unit(uow_course, learner, events):
    runtime = api.get_runtime(learner, course_key=UOW_KEY)
    with pytest.raises(ZeroDivisionError), api.unit_of_work():
        with api.unit_of_work():
            click(runtime)
        1 / 0  # noqa: B018
    assert LearnerState.objects.count() == 0
    assert events == []


@pytest.mark.usefixtures("transactional_db")
def test_decorator_form(uow_course, learner, events):
    @api.unit_of_work()
    def click_both(user):
        started = datetime.now(tz=UTC)
        runtime = api.get_runtime(user, course_key=UOW_KEY)
        click(runtime)
        click(runtime, COUNTER_B)
        assert all(e["event"].time < started for e in events)  # this call's events are not sent yet

    @api.unit_of_work()
    def click_and_fail(user):
        click(api.get_runtime(user, course_key=UOW_KEY))
        raise ValueError("decorated failure")

    click_both(learner)
    assert stored() == {COUNTER_A: {"clicks": 1}, COUNTER_B: {"clicks": 1}}
    assert len(events) == 2

    with pytest.raises(ValueError, match="decorated failure"):
        click_and_fail(learner)
    assert stored() == {COUNTER_A: {"clicks": 1}, COUNTER_B: {"clicks": 1}}
    assert len(events) == 2

    # Called inside a unit, the decorated function joins it; the same function object is reentrant.
    with api.unit_of_work():
        click_both(learner)
        click_both(learner)
        assert len(events) == 2
    assert stored() == {COUNTER_A: {"clicks": 3}, COUNTER_B: {"clicks": 3}}
    assert len(events) == 6


@pytest.fixture
def overlapping_sqlite_transactions():
    """
    Let two threads' transactions overlap on SQLite, for tests of per-thread state that need them to.

    Our settings open SQLite transactions with BEGIN IMMEDIATE, so that concurrent writers queue
    instead of failing; two units of work then cannot be open at once, by design. Threads connect
    with the settings in force when they connect, so a deferred mode here applies to this test only.
    """
    options = connections.settings[DEFAULT_DB_ALIAS].setdefault("OPTIONS", {})
    saved = options.get("transaction_mode")
    if connection.vendor == "sqlite":
        options["transaction_mode"] = "DEFERRED"
    yield
    if saved is None:
        options.pop("transaction_mode", None)
    else:
        options["transaction_mode"] = saved


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("overlapping_sqlite_transactions")
def test_one_decorated_function_serves_several_threads_at_once():
    """A decorated function is shared by every thread of a server; its units must not mix."""
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    @api.unit_of_work()
    def request(role: str):
        unit = current_unit()
        if role == "first":  # enters first, leaves while the second is still inside
            first_in.set()
            assert second_in.wait(10)
        else:
            assert first_in.wait(10)
            second_in.set()
            assert first_out.wait(10)
        assert current_unit() is unit
        assert connection.in_atomic_block

    def run(role: str):
        try:
            request(role)
            assert current_unit() is None
            assert not connection.in_atomic_block
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            if role == "first":
                first_out.set()
            connections.close_all()

    threads = [threading.Thread(target=run, args=(role,)) for role in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


# ---- (e) the middleware: one unit per request
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status", "commits"),
    [("/uow/commits/", 200, True), ("/uow/raises/", 500, False), ("/uow/answers-500/", 500, False)],
)
def test_middleware_commits_or_rolls_back_the_request(uow_course, learner, events, url, status, commits):
    client = Client(raise_request_exception=False)
    client.force_login(learner)
    response = client.get(url)
    assert response.status_code == status
    if commits:
        assert stored() == {COUNTER_A: {"clicks": 1}}
        assert [e["event"].event_type for e in events] == ["lc_test.clicked"]
        assert not events[0]["in_transaction"]
    else:
        assert LearnerState.objects.count() == 0
        assert events == []


@pytest.mark.urls(__name__)
def test_middleware_reraises_for_the_test_client(uow_course, learner):
    client = Client()
    client.force_login(learner)
    with pytest.raises(ValueError, match="the view failed after writing"):
        client.get("/uow/raises/")
    assert LearnerState.objects.count() == 0


@pytest.mark.usefixtures("transactional_db")
@pytest.mark.urls(__name__)
def test_middleware_leaves_paths_outside_its_prefixes_alone(uow_course, learner, events, settings):
    """With UNIT_OF_WORK_PATHS set, other views run outside any transaction of ours (as outer_atomic needs)."""
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "UNIT_OF_WORK_PATHS": ["/lc-runtime/"]}
    seen = {}

    def probe(request):
        from django.db import connection

        from lc_runtime.fielddata.unit_of_work import current_unit

        seen["unit"], seen["atomic"] = current_unit(), connection.in_atomic_block
        return HttpResponse("ok")

    urlpatterns.append(path("uow/probe/", probe))
    try:
        client = Client()
        client.force_login(learner)
        assert client.get("/uow/probe/").status_code == 200
    finally:
        urlpatterns.pop()
    assert seen == {"unit": None, "atomic": False}


@pytest.mark.usefixtures("transactional_db")
def test_a_handler_failure_caught_by_the_caller_still_dooms_the_unit(uow_course, learner, events):
    """Like atomic(savepoint=False): a failed handler inside a unit rolls the whole unit back at its end."""
    runtime = api.get_runtime(learner, course_key=UOW_KEY)
    with api.unit_of_work(), pytest.raises(RuntimeError):  # the caller catches it inside the unit
        runtime.handle(runtime.get_block(FAULTY), "write_then_fail", _json_request())
    assert LearnerState.objects.count() == 0
    assert events == []


def test_the_middleware_refuses_a_string_of_paths(uow_course, learner, settings, client):
    from django.core.exceptions import ImproperlyConfigured

    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "UNIT_OF_WORK_PATHS": "/lc-runtime/"}
    with pytest.raises(ImproperlyConfigured, match="list of path prefixes"):
        client.get("/lc-runtime/nothing-here")


# ---- all or nothing across stores (issue 9, item 7d): real store subclasses, configured by settings
class FailingLearnerStore(DjangoLearnerStateStore):
    """The LearnerState table, failing once it has written (a database store that breaks mid-flush)."""

    def save(self, changes) -> None:
        super().save(changes)
        raise RuntimeError("the learner-state store failed")


class LearnerCacheStore(CacheLearnerStateStore):
    """Learner state in the cache: a second store outside the transaction."""

    key_prefix = "lc-runtime:test-learner-state:"


class FailingPreviewStore(CacheLearnerStateStore):
    """The preview cache, failing once it has written part of its objects."""

    def save(self, changes) -> None:
        super().save(changes)
        raise RuntimeError("the preview store failed")


PREVIEW_SAVES: list = []


class RecordingPreviewStore(CacheLearnerStateStore):
    """The preview cache, remembering each save it is given."""

    def save(self, changes) -> None:
        PREVIEW_SAVES.append(dict(changes))
        super().save(changes)


@pytest.fixture
def author(make_user):
    return make_user("sam", is_staff=True)


def clicks(user, mode: str) -> int:
    return api.get_runtime(user, course_key=UOW_KEY, mode=mode).get_block(COUNTER_A).clicks


def test_a_failing_database_store_leaves_no_preview_state(uow_course, author, settings):
    """
    The author's preview click is buffered first, the learner store fails: neither stays, and the cache
    was never even written (the database store is flushed first).
    """
    settings.LC_RUNTIME = {
        **settings.LC_RUNTIME,
        "LEARNER_STATE_STORE": f"{__name__}:FailingLearnerStore",
        "PREVIEW_STATE_STORE": f"{__name__}:RecordingPreviewStore",
    }
    PREVIEW_SAVES.clear()
    with pytest.raises(RuntimeError, match="learner-state store failed"), api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY, mode="draft"))["clicks"] == 1
        assert click(api.get_runtime(author, course_key=UOW_KEY))["clicks"] == 1
    assert PREVIEW_SAVES == []
    assert clicks(author, "draft") == 0
    assert LearnerState.objects.count() == 0


def test_a_failing_later_cache_store_undoes_the_earlier_ones(uow_course, author, settings):
    """Two stores outside the transaction: the second fails halfway, and the first one's writes are put back."""
    settings.LC_RUNTIME = {
        **settings.LC_RUNTIME,
        "LEARNER_STATE_STORE": f"{__name__}:LearnerCacheStore",
        "PREVIEW_STATE_STORE": f"{__name__}:FailingPreviewStore",
    }
    with api.unit_of_work():  # what the learner had before: kept through the failure below
        click(api.get_runtime(author, course_key=UOW_KEY))
    with pytest.raises(RuntimeError, match="preview store failed"), api.unit_of_work():
        assert click(api.get_runtime(author, course_key=UOW_KEY))["clicks"] == 2
        assert click(api.get_runtime(author, course_key=UOW_KEY, mode="draft"))["clicks"] == 1
    assert clicks(author, "published") == 1
    assert clicks(author, "draft") == 0
    assert LearnerState.objects.count() == 0

# ---- (f) a unit aborted by a deadlock runs again, from the start, only where it is the outermost
DEADLOCK = OperationalError(1213, "Deadlock found when trying to get lock; try restarting transaction")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (DEADLOCK, True),
        (OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction"), True),
        (OperationalError("database is locked"), True),
        (OperationalError(1146, "Table 'x' doesn't exist"), False),
        (ValueError(1213), False),
    ],
)
def test_which_errors_are_transient(error, transient):
    from lc_runtime.fielddata.unit_of_work import is_transient

    assert is_transient(error) is transient


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr("lc_runtime.fielddata.unit_of_work.time.sleep", lambda seconds: None)


@pytest.mark.usefixtures("transactional_db", "no_pause")
def test_the_decorator_runs_a_deadlocked_unit_again(uow_course, learner, events):
    calls = []

    @api.unit_of_work(deadlock_retries=2)
    def click_twice_then_deadlock_once() -> dict:
        calls.append(1)
        runtime = api.get_runtime(learner, course_key=UOW_KEY)
        click(runtime)
        answer = click(runtime)
        if len(calls) == 1:
            raise DEADLOCK
        return answer

    # The first attempt's two clicks were rolled back and their events dropped: the second attempt
    # starts from nothing.
    assert click_twice_then_deadlock_once() == {"clicks": 2, "total": 2}
    assert len(calls) == 2
    assert stored() == {COUNTER_A: {"clicks": 2}}
    assert [e["event"].data for e in events] == [{"clicks": 1}, {"clicks": 2}]


@pytest.mark.usefixtures("transactional_db", "no_pause")
def test_the_decorator_gives_up_after_its_retries_and_never_retries_other_errors(uow_course, learner):
    calls = []

    @api.unit_of_work(deadlock_retries=2)
    def always(error: Exception) -> None:
        calls.append(1)
        click(api.get_runtime(learner, course_key=UOW_KEY))
        raise error

    with pytest.raises(OperationalError):
        always(DEADLOCK)
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(OperationalError):
        always(OperationalError(1146, "Table 'x' doesn't exist"))
    assert len(calls) == 1
    assert LearnerState.objects.count() == 0


@pytest.mark.usefixtures("transactional_db", "no_pause")
def test_the_decorator_does_not_retry_inside_an_enclosing_unit(uow_course, learner):
    """The enclosing transaction is aborted too: only its owner can run it again."""
    calls = []

    @api.unit_of_work(deadlock_retries=2)
    def deadlock() -> None:
        calls.append(1)
        raise DEADLOCK

    with pytest.raises(OperationalError), api.unit_of_work():
        deadlock()
    assert len(calls) == 1


def test_deadlock_retries_need_the_decorator():
    with pytest.raises(TypeError, match="needs unit_of_work as a decorator"), api.unit_of_work(deadlock_retries=1):
        pass


@pytest.mark.usefixtures("transactional_db", "no_pause")
@pytest.mark.urls(__name__)
def test_the_middleware_runs_a_deadlocked_request_again(uow_course, learner, events):
    from django.core.signals import got_request_exception

    reported = []
    got_request_exception.connect(lambda sender, **kw: reported.append(1), weak=False, dispatch_uid="deadlock")
    try:
        client = Client()  # re-raises what a view raised and Django reported: nothing, here
        client.force_login(learner)
        DEADLOCKS_TO_COME[:] = [2]
        response = client.post("/uow/deadlocks/", data="the body", content_type="text/plain")
    finally:
        got_request_exception.disconnect(dispatch_uid="deadlock")
    assert response.status_code == 200
    assert response.content == b"ok the body"  # the third attempt read the request's body too
    assert reported == []
    assert stored() == {COUNTER_A: {"clicks": 1}}  # two attempts rolled back, one committed
    assert [e["event"].data for e in events] == [{"clicks": 1}]


@pytest.mark.usefixtures("transactional_db", "no_pause")
@pytest.mark.urls(__name__)
def test_the_middleware_gives_up_after_its_retries(uow_course, learner, events):
    client = Client(raise_request_exception=False)
    client.force_login(learner)
    DEADLOCKS_TO_COME[:] = [3]
    response = client.get("/uow/deadlocks/")
    assert response.status_code == 500
    assert DEADLOCKS_TO_COME == [0]  # three attempts: the first and DEADLOCK_RETRIES more
    assert LearnerState.objects.count() == 0
    assert events == []


@pytest.mark.usefixtures("transactional_db", "no_pause")
@pytest.mark.urls(__name__)
def test_the_middleware_runs_a_request_again_when_its_commit_deadlocks(uow_course, learner, monkeypatch):
    """The flush at the unit's end can meet the deadlock too (the view has returned by then)."""
    from lc_runtime.fielddata.unit_of_work import UnitOfWork

    flush = UnitOfWork.flush
    failures = [1]

    def flush_that_deadlocks_once(unit):
        if failures[0]:
            failures[0] -= 1
            raise DEADLOCK
        flush(unit)

    monkeypatch.setattr(UnitOfWork, "flush", flush_that_deadlocks_once)
    client = Client()
    client.force_login(learner)
    assert client.get("/uow/commits/").status_code == 200
    assert failures == [0]
    assert stored() == {COUNTER_A: {"clicks": 1}}


@pytest.mark.urls(__name__)
def test_the_middleware_does_not_retry_inside_the_tests_transaction(uow_course, learner):
    """Inside an enclosing transaction (the test's here; ATOMIC_REQUESTS in a site), its owner must retry."""
    client = Client(raise_request_exception=False)
    client.force_login(learner)
    DEADLOCKS_TO_COME[:] = [1]
    assert client.get("/uow/deadlocks/").status_code == 500
    assert DEADLOCKS_TO_COME == [0]
