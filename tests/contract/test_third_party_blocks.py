"""
The third-party XBlocks of the ``[blocks]`` extra (docs/blocks.md, "Third-party blocks"): each renders its
learner view and its author view, ORA2 takes a learner's essay through its handler, and a block whose package
needs edx-platform says which piece it lacks. A package that is not installed skips its tests, saying so.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from django.test import Client
from submissions import api as submissions_api

from lc_runtime import api
from lc_runtime.blocks.placeholder import PlaceholderBlock, UnavailableBlock
from lc_runtime.content.roles.api import STAFF, grant_role
from tests.conftest import ROOT, usage

HOST_COURSE = ROOT / "tests" / "fixtures" / "host-course"
HOST_KEY = "course-v1:LcX+Host+2026"
ESSAY = usage(HOST_KEY, "openassessment", "essay")
THIRD_PARTY_UNIT = usage(HOST_KEY, "vertical", "third-party-unit")

# block type -> (module the package installs, block id in host-course, text its learner view shows)
RUNNING = {
    "openassessment": ("openassessment", "essay", "Why the sky is blue"),
    "google-document": ("google_drive", "doc", "docs.google.com/presentation"),
    "google-calendar": ("google_drive", "calendar", "www.google.com/calendar/embed"),
    "lti_consumer": ("lti_consumer", "tool", "An external tool"),
    "scorm": ("openedxscorm", "package", "scorm_version"),
    "recommender": ("recommender", "resources", "recommender_"),
}
# block type -> (module, block id, every edx-platform module its package imports where it fails)
NEEDS_EDX_PLATFORM = {
    "edx_sga": ("edx_sga", "assignment", (
        "lms.djangoapps.courseware.models, openedx.core.lib.safe_lxml, common.djangoapps.student.models, "
        "xmodule.contentstore.content, xmodule.util.duedate (imported by edx_sga/sga.py)"
    )),
    "staffgradedxblock": ("staff_graded", "staff-graded", (
        "lms.djangoapps.grades, openedx.core.djangoapps.course_groups.cohorts (imported by bulk_grades/api.py)"
    )),
}


def installed(module: str):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None, reason=f"{module} is not installed (pip install -e '.[blocks]')"
    )


@pytest.fixture
def host_course(db):
    return api.import_olx(HOST_COURSE)


@pytest.fixture
def ada(host_course, make_user):
    return make_user("ada")


@pytest.fixture
def author(host_course, make_user):
    user = make_user("author")
    grant_role(user.id, HOST_KEY, STAFF)
    return user


@pytest.mark.parametrize(
    ("block_type", "module", "block_id", "shown"),
    [pytest.param(block_type, *expected, marks=installed(expected[0])) for block_type, expected in RUNNING.items()],
)
def test_a_third_party_block_renders_for_learners_and_authors(ada, author, block_type, module, block_id, shown):
    key = usage(HOST_KEY, block_type, block_id)
    learner_runtime = api.get_runtime(ada, course_key=HOST_KEY)
    block = learner_runtime.get_block(key)
    assert not isinstance(block, PlaceholderBlock)
    assert type(block).unmixed_class.__module__.split(".")[0] == module
    html = learner_runtime.render(block, "student_view").body_html()
    assert shown in html
    assert "lc-placeholder" not in html

    # Studio shows a unit's children in their author view (their student view where they have none).
    author_runtime = api.get_runtime(author, course_key=HOST_KEY, mode="draft")
    unit = usage(HOST_KEY, "vertical", "essay-unit" if block_type == "openassessment" else "third-party-unit")
    author_html = author_runtime.render(author_runtime.get_block(unit), "author_view").body_html()
    block_html = author_html.split(f'data-usage="{key}"', 1)[1].split(' data-usage="', 1)[0]
    assert "lc-placeholder" not in block_html
    assert "This block cannot be shown here" not in block_html


@pytest.mark.parametrize(
    ("block_type", "module", "block_id", "missing"),
    [
        pytest.param(block_type, *expected, marks=installed(expected[0]))
        for block_type, expected in NEEDS_EDX_PLATFORM.items()
    ],
)
def test_a_block_whose_package_needs_edx_platform_says_what_it_lacks(ada, block_type, module, block_id, missing):
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    block = runtime.get_block(usage(HOST_KEY, block_type, block_id))
    assert isinstance(block, UnavailableBlock)
    html = runtime.render(block, "student_view").body_html()
    assert f"needs the modules {missing}, which only edx-platform provides" in html
    # Its OLX is kept whole, so the course exports as it came.
    assert block.olx.startswith(f"<{block_type} ")


def post_json(user, key: str, handler: str, data: dict) -> object:
    runtime = api.get_runtime(user, course_key=HOST_KEY)
    client = Client()
    client.force_login(user)
    response = client.post(
        runtime.handler_url(runtime.get_block(key), handler), data=json.dumps(data), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()


@installed("openassessment")
def test_ora2_takes_a_learners_essay_through_its_handler(ada, make_user):
    essay = "Sunlight scatters off the air's molecules, blue most of all."
    assert post_json(ada, ESSAY, "submit", {"submission": [essay]})[0] is True

    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    student_item = {
        "student_id": runtime.anonymous_student_id, "course_id": HOST_KEY, "item_id": ESSAY,
        "item_type": "openassessment",
    }
    (submission,) = submissions_api.get_submissions(student_item)
    assert submission["answer"]["parts"] == [{"text": essay}]
    # The learner's own state points at it, and their response step shows it back.
    block = runtime.get_block(ESSAY)
    assert block.submission_uuid == submission["uuid"]
    client = Client()
    client.force_login(ada)
    shown = client.get(runtime.handler_url(block, "render_submission")).content.decode()
    assert "blue most of all" in shown

    # A second submission is refused; another learner's essay is their own.
    assert post_json(ada, ESSAY, "submit", {"submission": ["again"]})[1] == "ENOMULTI"
    bob = make_user("bob")
    assert post_json(bob, ESSAY, "submit", {"submission": ["Rayleigh."]})[0] is True
    assert len(submissions_api.get_submissions(student_item)) == 1


@installed("openassessment")
def test_ora2_refuses_a_malformed_submission_and_stores_nothing(ada):
    assert post_json(ada, ESSAY, "submit", {"submission": "not a list"})[:2] == [False, "EBADARGS"]
    assert post_json(ada, ESSAY, "submit", {})[:2] == [False, "EBADARGS"]
    runtime = api.get_runtime(ada, course_key=HOST_KEY)
    assert runtime.get_block(ESSAY).submission_uuid is None


@pytest.mark.parametrize(
    ("module", "block_type", "block_id", "handler", "data", "answer"),
    [
        pytest.param(
            "google_drive", "google-document", "doc", "publish_event",
            {"event_type": "edx.googlecomponent.document.displayed", "url": "https://docs.google.com/x"},
            {"result": "success"}, marks=installed("google_drive"),
        ),
        pytest.param(
            "openedxscorm", "scorm", "package", "scorm_set_value",
            {"name": "cmi.core.lesson_status", "value": "completed"},
            {"result": "success", "completion_status": "completed"}, marks=installed("openedxscorm"),
        ),
    ],
)
def test_third_party_handlers_run_and_keep_their_state(ada, module, block_type, block_id, handler, data, answer):
    key = usage(HOST_KEY, block_type, block_id)
    assert post_json(ada, key, handler, data) == answer


@installed("openedxscorm")
def test_scorm_keeps_a_learners_values(ada, make_user):
    key = usage(HOST_KEY, "scorm", "package")
    assert post_json(ada, key, "scorm_get_value", {"name": "cmi.core.lesson_status"}) == {"value": "not attempted"}
    post_json(ada, key, "scorm_set_value", {"name": "cmi.core.lesson_status", "value": "completed"})
    assert post_json(ada, key, "scorm_get_value", {"name": "cmi.core.lesson_status"}) == {"value": "completed"}
    bob = make_user("bob")
    assert post_json(bob, key, "scorm_get_value", {"name": "cmi.core.lesson_status"}) == {"value": "not attempted"}
