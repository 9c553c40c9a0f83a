"""
Course roles decide every "staff only" question: the role provider (``LC_RUNTIME["ROLES"]``), our own
role table, each check that asks them (draft runtimes, draft handler URLs, draft static files,
``runtime.user_is_staff``, the user service), and the commands that grant roles and put learners in
partition groups.
"""

from __future__ import annotations

import doctest
import io
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from lc_runtime import api, cli
from lc_runtime.models import CourseRole, LearnerState, PartitionGroup
from lc_runtime.runtime import handler_urls
from tests.conftest import DEMO_COURSE, DEMO_KEY, LEAF_COURSE, LEAF_KEY, SELECTOR_COURSE, SELECTOR_KEY, usage

DONE = usage(LEAF_KEY, "done", "done-toggle")
PROBLEM = usage(DEMO_KEY, "problem", "orbit-question")
AB = usage(SELECTOR_KEY, "split_test", "ab")
OTHER_RUN = "course-v1:LcX+Leaf+2027"
NOWHERE = "course-v1:LcX+Nowhere+1"
EXPERIMENT = 100  # the selector course's random partition: groups 0 (A) and 1 (B)
ENROLLMENT_TRACKS = 50  # edx-platform's enrollment-track partition: no course declares it
DRAFT_FILE = "draft-only.txt"


def provider_by_username(user, course_key):
    """A host's provider: roles by username in every run; Django's ``is_staff`` means nothing to it."""
    return {"ina": {"instructor"}, "bea": {"beta_tester"}}.get(user.username, set())


def stored_rows() -> list:
    """Every role and partition-group row, comparable before and after a command."""
    roles = sorted(CourseRole.objects.values_list("user_id", "course_key", "role"))
    groups = sorted(PartitionGroup.objects.values_list("user_id", "course_key", "partition_id", "group_id"))
    return roles + groups


@pytest.fixture
def user_with(make_user):
    """``user_with("staff")``: a new user (never Django staff) holding that role in the leaf and demo runs."""

    def create(role: str | None, *, course_keys=(LEAF_KEY, DEMO_KEY)):
        user = make_user(f"holder-of-{role}")
        for key in course_keys if role else ():
            CourseRole.objects.create(user_id=user.id, course_key=key, role=role)
        return user

    return create


@pytest.fixture
def courses(db):
    """The leaf course (handlers) and the demo course (a problem, static files), imported and published."""
    api.import_olx(LEAF_COURSE)
    api.import_olx(DEMO_COURSE)


# ---- the default provider, and a host's


def test_the_default_provider_reads_django_staff_and_the_table_in_one_query(
    courses, make_user, django_assert_num_queries
):
    ada, sam, root = make_user("ada"), make_user("sam", is_staff=True), make_user("root", is_superuser=True)
    api.grant_role(LEAF_KEY, ada, "instructor")
    api.grant_role(LEAF_KEY, ada, "beta_tester")
    api.grant_role(LEAF_KEY, sam, "instructor")
    with django_assert_num_queries(1):
        assert api.course_roles(ada, LEAF_KEY) == {"instructor", "beta_tester"}
    assert api.course_roles(ada, DEMO_KEY) == frozenset()  # roles are per run
    assert api.course_roles(sam, LEAF_KEY) == {"staff", "instructor"}
    assert api.course_roles(sam, DEMO_KEY) == {"staff"}  # Django staff are staff in every run
    assert api.course_roles(root, DEMO_KEY) == {"staff"}
    with django_assert_num_queries(0):
        assert api.course_roles(None, LEAF_KEY) == frozenset()
        assert api.course_roles(AnonymousUser(), LEAF_KEY) == frozenset()


@pytest.mark.parametrize(
    ("roles", "staff", "author"),
    [
        ({"staff"}, True, True),
        ({"instructor"}, True, True),
        ({"limited_staff"}, True, False),  # edx-platform's course staff without Studio
        ({"beta_tester"}, False, False),
        ({"a_hosts_own_role"}, False, False),
        (set(), False, False),
    ],
)
def test_what_each_role_may_do(roles, staff, author):
    assert api.has_staff_access(roles) is staff
    assert api.has_author_access(roles) is author


def test_the_commands_help_names_every_role():
    """The CLI names the roles before Django is set up, so without importing them: the list must not drift."""
    assert re.findall(r"\w+", cli.ROLE_NAMES.replace(" or ", ", ")) == list(api.COURSE_ROLES)


def test_a_hosts_provider_decides_alone(courses, make_user, settings):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "ROLES": "tests.contract.test_roles:provider_by_username"}
    ina, bea, sam = make_user("ina"), make_user("bea"), make_user("sam", is_staff=True)
    api.grant_role(LEAF_KEY, bea, "staff")  # our table: this provider never reads it
    assert api.course_roles(ina, LEAF_KEY) == {"instructor"}
    assert api.course_roles(bea, LEAF_KEY) == {"beta_tester"}
    assert api.course_roles(sam, LEAF_KEY) == frozenset()
    assert api.get_runtime(ina, course_key=LEAF_KEY, mode="draft").user_is_staff is True
    for refused in (bea, sam):
        with pytest.raises(PermissionDenied):
            api.get_runtime(refused, course_key=LEAF_KEY, mode="draft")
    assert api.get_runtime(sam, course_key=LEAF_KEY).user_is_staff is False


# ---- granting and revoking


def test_grant_and_revoke_are_idempotent(courses, make_user):
    ada = make_user("ada")
    assert api.grant_role(LEAF_KEY, ada, "staff") is True
    assert api.grant_role(LEAF_KEY, ada.id, "staff") is False  # a user id works as well as the user
    assert api.grant_role(LEAF_KEY, ada, "beta_tester") is True
    assert api.list_roles(LEAF_KEY) == {"beta_tester": [ada.id], "staff": [ada.id]}
    assert api.revoke_role(LEAF_KEY, ada, "staff") is True
    assert api.revoke_role(LEAF_KEY, ada, "staff") is False
    assert api.list_roles(LEAF_KEY) == {"beta_tester": [ada.id]}
    assert api.list_roles(DEMO_KEY) == {}


@pytest.mark.parametrize(
    ("course_key", "user", "role", "error", "message"),
    [
        (LEAF_KEY, "ada", "admin", api.UnknownRole, "'admin' is not a course role; use one of staff, instructor"),
        (LEAF_KEY, "ada", "Staff", api.UnknownRole, "'Staff' is not a course role"),
        (NOWHERE, "ada", "staff", api.CourseNotFound, f"No course run {NOWHERE}"),
        ("nonsense", "ada", "staff", api.InvalidKey, "Not a course key: 'nonsense'"),
        (LEAF_KEY, "anonymous", "staff", ValueError, "neither a user nor a user id"),
        (LEAF_KEY, None, "staff", ValueError, "neither a user nor a user id"),
    ],
)
@pytest.mark.parametrize("change", [api.grant_role, api.revoke_role])
def test_bad_role_input_is_a_clear_error_and_writes_nothing(courses, make_user, change, course_key, user, role,
                                                           error, message):
    ada = make_user("ada")
    api.grant_role(LEAF_KEY, ada, "staff")
    before = stored_rows()
    who = {"ada": ada, "anonymous": AnonymousUser(), None: None}[user]
    with pytest.raises(error, match=re.escape(message)):
        change(course_key, who, role)
    assert stored_rows() == before


# ---- each "staff only" check asks the roles


@pytest.mark.parametrize(
    ("role", "user_is_staff", "user_role"),
    [
        ("staff", True, "staff"),
        ("instructor", True, "instructor"),
        ("limited_staff", True, "staff"),
        ("beta_tester", False, "student"),  # as edx-platform's get_user_role: beta testers are students
        (None, False, "student"),
    ],
)
def test_the_runtime_and_the_user_service_say_what_the_user_is_in_the_run(
    courses, user_with, role, user_is_staff, user_role
):
    user = user_with(role)
    runtime = api.get_runtime(user, course_key=DEMO_KEY)
    assert runtime.course_roles == (frozenset({role}) if role else frozenset())
    assert runtime.user_is_staff is user_is_staff
    attributes = runtime.service(runtime.get_block(PROBLEM), "user").get_current_user().opt_attrs
    assert attributes["edx-platform.user_is_staff"] is user_is_staff
    assert attributes["edx-platform.user_role"] == user_role
    assert dict(attributes)["edx-platform.user_id"] == user.id
    # Django staff but no role of the run: staff, as edx-platform's global staff are.
    sam = api.get_runtime(get_user_model().objects.create_user("sam", is_staff=True), course_key=DEMO_KEY)
    assert sam.user_is_staff is True
    assert sam.service(sam.get_block(PROBLEM), "user").get_current_user().opt_attrs["edx-platform.user_role"] == "staff"


def test_roles_are_asked_once_per_runtime(courses, user_with, django_assert_num_queries):
    runtime = api.get_runtime(user_with("instructor"), course_key=DEMO_KEY)
    with CaptureQueriesContext(connection) as first_block:  # deciding what the user may reach asks them
        problem = runtime.get_block(PROBLEM)
    assert role_queries(first_block) == 1
    service = runtime.service(problem, "user")
    with django_assert_num_queries(0):
        current = service.get_current_user()
        assert current.opt_attrs["edx-platform.anonymous_user_id"] == runtime.anonymous_student_id
        assert current.opt_attrs["edx-platform.user_role"] == "instructor"
        assert runtime.user_is_staff is True
        assert service.get_current_user().opt_attrs.get("edx-platform.user_is_staff") is True
    author = api.get_runtime(user_with("staff"), course_key=DEMO_KEY, mode="draft")
    with django_assert_num_queries(0):  # a draft runtime was given the roles get_runtime checked
        assert author.course_roles == {"staff"}


def role_queries(queries) -> int:
    return sum("lc_runtime_courserole" in query["sql"] for query in queries)


def test_rendering_asks_the_roles_once_per_runtime(courses, make_user):
    runtime = api.get_runtime(make_user("ada"), course_key=DEMO_KEY)
    with CaptureQueriesContext(connection) as welcome:  # the first block built: what may ada reach?
        runtime.render(runtime.get_block(usage(DEMO_KEY, "vertical", "welcome-unit")), "student_view")
    with CaptureQueriesContext(connection) as question:  # capa asks whether the user is staff: known
        runtime.render(runtime.get_block(usage(DEMO_KEY, "vertical", "first-question")), "student_view")
    with CaptureQueriesContext(connection) as again:
        runtime.render(runtime.get_block(usage(DEMO_KEY, "vertical", "first-question")), "student_view")
    assert (role_queries(welcome), role_queries(question), role_queries(again)) == (1, 0, 0)


def test_anonymous_visitors_and_system_runtimes_are_no_staff(courses, django_assert_num_queries):
    visitor = api.get_runtime(AnonymousUser(), course_key=DEMO_KEY)
    system = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
    with django_assert_num_queries(0):
        assert visitor.course_roles == system.course_roles == frozenset()
        assert visitor.user_is_staff is system.user_is_staff is False
        user = visitor.service(visitor.get_block(PROBLEM), "user").get_current_user()
        assert user.opt_attrs["edx-platform.user_role"] == "student"


@pytest.mark.parametrize("role", ["staff", "instructor"])
def test_course_authors_who_are_not_django_staff_get_a_draft_runtime(courses, user_with, role):
    user = user_with(role)
    assert user.is_staff is False
    runtime = api.get_runtime(user, course_key=LEAF_KEY, mode="draft")
    assert runtime.mode == "draft" and runtime.user_is_staff is True


@pytest.mark.parametrize("role", ["limited_staff", "beta_tester", None])
def test_everyone_else_is_refused_a_draft_runtime(courses, user_with, role):
    user = user_with(role)
    with pytest.raises(PermissionDenied, match=f"draft runtime of {re.escape(LEAF_KEY)}"):
        api.get_runtime(user, course_key=LEAF_KEY, mode="draft")


def test_staff_of_another_run_are_refused_a_draft_runtime(courses, user_with):
    api.create_run(LEAF_KEY, OTHER_RUN)
    other_staff = user_with("staff", course_keys=(OTHER_RUN,))
    assert api.get_runtime(other_staff, course_key=OTHER_RUN, mode="draft").user_is_staff is True
    with pytest.raises(PermissionDenied):
        api.get_runtime(other_staff, course_key=LEAF_KEY, mode="draft")


def post_done(client, url: str):
    return client.post(url, data=json.dumps({"done": True}), content_type="application/json")


@pytest.mark.parametrize("role", ["staff", "instructor"])
def test_course_authors_use_draft_handler_urls_until_their_role_is_revoked(courses, user_with, role):
    user = user_with(role)
    runtime = api.get_runtime(user, course_key=LEAF_KEY, mode="draft")
    url = runtime.handler_url(runtime.get_block(DONE), "toggle_button")
    client = Client()
    client.force_login(user)
    assert post_done(client, url).json() == {"state": True}
    api.revoke_role(LEAF_KEY, user, role)
    assert post_done(client, url).status_code == 403


@pytest.mark.parametrize("role", ["limited_staff", "beta_tester", None])
def test_a_draft_handler_url_is_refused_to_everyone_else(courses, user_with, role):
    user = user_with(role)
    signed = handler_urls.handler_url("draft", DONE, user.id, "toggle_button")  # as if minted by mistake
    client = Client()
    client.force_login(user)
    response = post_done(client, signed)
    assert response.status_code == 403
    assert LearnerState.objects.count() == 0


def test_a_draft_handler_url_is_refused_to_staff_of_another_run(courses, user_with):
    api.create_run(LEAF_KEY, OTHER_RUN)
    other_staff = user_with("staff", course_keys=(OTHER_RUN,))
    client = Client()
    client.force_login(other_staff)
    signed = handler_urls.handler_url("draft", DONE, other_staff.id, "toggle_button")
    assert post_done(client, signed).status_code == 403


def draft_file_url(course_key: str = DEMO_KEY) -> str:
    return f"/lc-runtime/assets/draft/{course_key}/{DRAFT_FILE}"


@pytest.mark.parametrize("role", ["staff", "instructor"])
def test_course_authors_get_draft_static_files(courses, user_with, role):
    api.save_asset(DEMO_KEY, DRAFT_FILE, b"not yet")
    client = Client()
    client.force_login(user_with(role))
    response = client.get(draft_file_url())
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"not yet"
    assert client.get(f"/lc-runtime/assets/{DEMO_KEY}/{DRAFT_FILE}").status_code == 404  # never published


@pytest.mark.parametrize("role", ["limited_staff", "beta_tester", None])
def test_draft_static_files_are_refused_to_everyone_else(courses, user_with, role):
    api.save_asset(DEMO_KEY, DRAFT_FILE, b"not yet")
    client = Client()
    client.force_login(user_with(role))
    assert client.get(draft_file_url()).status_code == 403
    assert Client().get(draft_file_url()).status_code == 403  # and to anonymous visitors


def test_draft_static_files_need_a_role_in_their_own_run(courses, user_with):
    api.save_asset(DEMO_KEY, DRAFT_FILE, b"not yet")
    client = Client()
    client.force_login(user_with("staff", course_keys=(LEAF_KEY,)))
    assert client.get(draft_file_url()).status_code == 403
    assert client.get(draft_file_url("not-a-key")).status_code == 404


# ---- partition groups given by hand


@pytest.fixture
def selector_course(db):
    assert api.import_olx(SELECTOR_COURSE, strict=True).problems == []


def test_assign_move_and_remove_a_learners_group(selector_course, make_user):
    ada, bob = make_user("ada"), make_user("bob")
    assert api.assign_group(SELECTOR_KEY, ada, EXPERIMENT, 1) is None
    assert api.assign_group(SELECTOR_KEY, ada.id, EXPERIMENT, 0) == 1
    assert api.assign_group(SELECTOR_KEY, ada, EXPERIMENT, 0) == 0  # nothing changed
    assert api.assign_group(SELECTOR_KEY, bob, ENROLLMENT_TRACKS, 2) is None  # no course declares it: as given
    assert api.assign_group(SELECTOR_KEY, ada, ENROLLMENT_TRACKS, 1) is None
    assert api.list_groups(SELECTOR_KEY) == {EXPERIMENT: {0: [ada.id]}, ENROLLMENT_TRACKS: {1: [ada.id], 2: [bob.id]}}
    assert api.list_groups(SELECTOR_KEY, EXPERIMENT) == {EXPERIMENT: {0: [ada.id]}}
    assert api.remove_group(SELECTOR_KEY, ada, EXPERIMENT) is True
    assert api.remove_group(SELECTOR_KEY, ada, EXPERIMENT) is False
    assert api.list_groups(SELECTOR_KEY, EXPERIMENT) == {}
    assert PartitionGroup.objects.count() == 2


@pytest.mark.parametrize("group", [0, 1])
def test_a_split_test_shows_the_group_given_by_hand(selector_course, make_user, group):
    ada = make_user("ada")
    api.assign_group(SELECTOR_KEY, ada, EXPERIMENT, group)
    with api.unit_of_work():
        children = api.get_runtime(ada, course_key=SELECTOR_KEY).get_block(AB).get_children()
    assert [child.scope_ids.usage_id.block_id for child in children] == [("group_a", "group_b")[group]]
    assert api.list_groups(SELECTOR_KEY, EXPERIMENT) == {EXPERIMENT: {group: [ada.id]}}  # kept, not drawn again


@pytest.mark.parametrize(
    ("course_key", "partition", "group", "error", "message"),
    [
        (SELECTOR_KEY, EXPERIMENT, 7, api.UnknownGroup,
         f"partition 100 (Experiment) of {SELECTOR_KEY} has no group 7; its groups: 0 (A), 1 (B)"),
        (NOWHERE, EXPERIMENT, 0, api.CourseNotFound, f"No course run {NOWHERE}"),
        ("nonsense", EXPERIMENT, 0, api.InvalidKey, "Not a course key: 'nonsense'"),
    ],
)
def test_bad_group_input_is_a_clear_error_and_writes_nothing(selector_course, make_user, course_key, partition,
                                                            group, error, message):
    ada = make_user("ada")
    api.assign_group(SELECTOR_KEY, ada, EXPERIMENT, 1)
    before = stored_rows()
    with pytest.raises(error, match=re.escape(message)):
        api.assign_group(course_key, ada, partition, group)
    if error is not api.UnknownGroup:
        with pytest.raises(error, match=re.escape(message)):
            api.remove_group(course_key, ada, partition)
    assert stored_rows() == before


@pytest.mark.parametrize("name", ["grant_role", "assign_group"])
def test_docstring_examples_hold(courses, make_user, name):
    globs = {**vars(api), "author": make_user("author"), "learner": make_user("learner")}
    [example] = doctest.DocTestFinder().find(getattr(api, name), name, globs=globs)
    runner = doctest.DocTestRunner()
    runner.run(example)
    assert runner.summarize(verbose=False) == (0, len(example.examples))


# ---- the commands


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``lc-runtime ARGV``; return its exit status, stdout and stderr."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_roles_grant_revoke_and_list(courses, make_user, capsys):
    ada, sam = make_user("ada"), make_user("sam")
    assert run(capsys, "roles", "grant", LEAF_KEY, "ada", "staff") == (
        0, f"Granted staff in {LEAF_KEY} to ada.\n", "")
    assert run(capsys, "roles", "grant", LEAF_KEY, "ada", "staff")[1] == (
        f"ada holds staff in {LEAF_KEY} already: nothing changed.\n")
    run(capsys, "roles", "grant", LEAF_KEY, "sam", "beta_tester")
    status, out, _ = run(capsys, "roles", "list", LEAF_KEY)
    assert status == 0
    assert out.splitlines() == [
        f"beta_tester    sam ({sam.id})",
        f"staff          ada ({ada.id})",
        "(Django staff are staff in every course run and are not listed.)",
    ]
    status, out, _ = run(capsys, "roles", "list", LEAF_KEY, "--json")
    assert json.loads(out) == [
        {"role": "beta_tester", "user_id": sam.id, "username": "sam"},
        {"role": "staff", "user_id": ada.id, "username": "ada"},
    ]
    status, out, _ = run(capsys, "roles", "revoke", LEAF_KEY, "ada", "staff", "--json")
    assert json.loads(out) == {"course_key": LEAF_KEY, "username": "ada", "user_id": ada.id, "role": "staff",
                               "changed": True}
    assert run(capsys, "roles", "revoke", LEAF_KEY, "ada", "staff")[1] == (
        f"ada does not hold staff in {LEAF_KEY}: nothing changed.\n")
    assert api.list_roles(LEAF_KEY) == {"beta_tester": [sam.id]}
    assert run(capsys, "roles", "list", DEMO_KEY)[1].startswith(f"No role is granted in {DEMO_KEY}.\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["roles", "grant", SELECTOR_KEY, "ada", "admin"],
         "'admin' is not a course role; use one of staff, instructor, limited_staff, beta_tester"),
        (["roles", "grant", SELECTOR_KEY, "nobody", "staff"], "no user named 'nobody': create the user first"),
        (["roles", "revoke", SELECTOR_KEY, "nobody", "staff"], "no user named 'nobody'"),
        (["roles", "grant", "nonsense", "ada", "staff"], "Not a course key: 'nonsense'"),
        (["roles", "grant", NOWHERE, "ada", "staff"], f"No course run {NOWHERE}"),
        (["roles", "list", NOWHERE], f"No course run {NOWHERE}"),
        (["groups", "assign", SELECTOR_KEY, "ada", "--partition", "100", "--group", "7"],
         "partition 100 (Experiment) of course-v1:LcX+Sel+2026 has no group 7; its groups: 0 (A), 1 (B)"),
        (["groups", "assign", SELECTOR_KEY, "nobody", "--partition", "100", "--group", "0"], "no user named 'nobody'"),
        (["groups", "assign", NOWHERE, "ada", "--partition", "100", "--group", "0"], f"No course run {NOWHERE}"),
        (["groups", "remove", "nonsense", "ada", "--partition", "100"], "Not a course key: 'nonsense'"),
        (["groups", "list", NOWHERE], f"No course run {NOWHERE}"),
    ],
)
def test_bad_command_input_exits_2_with_one_line_and_writes_nothing(selector_course, make_user, capsys, argv, message):
    api.grant_role(SELECTOR_KEY, make_user("ada"), "beta_tester")
    before = (stored_rows(), sorted(get_user_model().objects.values_list("username", flat=True)))
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith(f"lc-runtime: {message}")
    assert err.count("\n") == 1
    assert (stored_rows(), sorted(get_user_model().objects.values_list("username", flat=True))) == before


def test_groups_assign_remove_and_list(selector_course, make_user, capsys):
    ada, bob = make_user("ada"), make_user("bob")
    where = f"partition 100 in {SELECTOR_KEY}"
    assert run(capsys, "groups", "assign", SELECTOR_KEY, "ada", "--partition", "100", "--group", "1") == (
        0, f"Put ada in group 1 of {where}.\n", "")
    assert run(capsys, "groups", "assign", SELECTOR_KEY, "ada", "--partition", "100", "--group", "0")[1] == (
        f"Put ada in group 0 of {where} (was in group 1).\n")
    assert run(capsys, "groups", "assign", SELECTOR_KEY, "ada", "--partition", "100", "--group", "0")[1] == (
        f"ada is in group 0 of {where} already: nothing changed.\n")
    status, out, _ = run(capsys, "groups", "assign", SELECTOR_KEY, "bob", "--partition", "50", "--group", "2", "--json")
    assert json.loads(out) == {"course_key": SELECTOR_KEY, "username": "bob", "user_id": bob.id, "partition_id": 50,
                               "group_id": 2, "previous_group_id": None, "changed": True}
    assert run(capsys, "groups", "list", SELECTOR_KEY)[1].splitlines() == [
        "partition 50:", f"  group 2: bob ({bob.id})", "partition 100:", f"  group 0: ada ({ada.id})",
    ]
    status, out, _ = run(capsys, "groups", "list", SELECTOR_KEY, "--partition", "100", "--json")
    assert json.loads(out) == [{"partition_id": 100, "group_id": 0, "user_id": ada.id, "username": "ada"}]
    assert run(capsys, "groups", "remove", SELECTOR_KEY, "ada", "--partition", "100")[1] == (
        f"Took ada out of their group of {where}.\n")
    assert run(capsys, "groups", "remove", SELECTOR_KEY, "ada", "--partition", "100")[1] == (
        f"ada is in no group of {where}: nothing changed.\n")
    assert run(capsys, "groups", "list", SELECTOR_KEY, "--partition", "100")[1] == (
        f"No learner is in a group of {SELECTOR_KEY} in partition 100.\n")


def test_a_missing_partition_option_is_a_usage_error(selector_course, make_user, capsys):
    make_user("ada")
    with pytest.raises(SystemExit) as exited:
        cli.main(["groups", "assign", SELECTOR_KEY, "ada", "--group", "1"])
    assert exited.value.code == 2
    assert "--partition" in capsys.readouterr().err
    assert PartitionGroup.objects.count() == 0


def test_the_management_commands_run_the_cli_code(courses, selector_course, make_user):
    ada = make_user("ada")
    out = io.StringIO()
    call_command("lc_runtime_roles", "grant", LEAF_KEY, "ada", "instructor", stdout=out)
    assert out.getvalue() == f"Granted instructor in {LEAF_KEY} to ada.\n"
    out = io.StringIO()
    call_command("lc_runtime_roles", "list", LEAF_KEY, "--json", stdout=out)
    assert json.loads(out.getvalue()) == [{"role": "instructor", "user_id": ada.id, "username": "ada"}]
    out = io.StringIO()
    call_command("lc_runtime_groups", "assign", SELECTOR_KEY, "ada", "--partition", "100", "--group", "1", stdout=out)
    assert api.list_groups(SELECTOR_KEY) == {100: {1: [ada.id]}}
    before = stored_rows()
    with pytest.raises(CommandError, match="'boss' is not a course role") as refused:
        call_command("lc_runtime_roles", "grant", LEAF_KEY, "ada", "boss", stdout=io.StringIO())
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("lc_runtime_groups", "remove", SELECTOR_KEY, "nobody", "--partition", "100", stdout=io.StringIO())
    assert stored_rows() == before


def test_draft_and_staff_keep_a_users_own_role_and_promote_anyone_else_for_the_command_only(courses, user_with,
                                                                                            capsys):
    instructor, limited, learner = user_with("instructor"), user_with("limited_staff"), user_with(None)
    assert cli._user(instructor.username, course_key=DEMO_KEY, acting_as="author").is_staff is False
    assert cli._user(learner.username, course_key=DEMO_KEY, acting_as="author").is_staff is True
    assert cli._user(limited.username, course_key=DEMO_KEY, acting_as="author").is_staff is True
    assert cli._user(limited.username, course_key=DEMO_KEY, acting_as="staff").is_staff is False
    assert cli._user(learner.username, course_key=DEMO_KEY, acting_as="staff").is_staff is True
    status, out, err = run(capsys, "tree", DEMO_KEY, "--user", learner.username, "--staff")
    assert status == 0 and err == "" and f"[{PROBLEM}]" in out
    status, out, _ = run(capsys, "render", usage(DEMO_KEY, "vertical", "something-new"), "--user",
                         instructor.username, "--draft", "--text")
    assert status == 0 and "A block from the future" in out
    assert not get_user_model().objects.filter(is_staff=True).exists()  # nobody was saved as staff


def test_a_draft_command_refused_by_a_hosts_provider_is_one_line(courses, make_user, settings, capsys):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "ROLES": "tests.contract.test_roles:provider_by_username"}
    make_user("ada")
    status, out, err = run(capsys, "tree", LEAF_KEY, "--user", "ada", "--draft")
    assert (status, out) == (2, "")
    assert err == (f"lc-runtime: Only the course's staff and instructors may use a draft runtime of {LEAF_KEY} "
                   "(grant a role with 'lc-runtime roles grant')\n")
    assert run(capsys, "tree", LEAF_KEY, "--user", "ina", "--draft")[0] == 0  # the provider's instructor
