"""
Capa problems with Python: codejail by default (none is configured here, so capa shows its own
message), in-process with ``LC_RUNTIME["UNSAFE_CODE_EXECUTION"]`` (or edx-platform's
``COURSES_WITH_UNSAFE_CODE``), and in both the course's ``python_lib.zip`` from its static files.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from webob import Request

from lc_runtime import api
from lc_runtime.runtime.services import SandboxService
from tests.conftest import DEMO_KEY, shared_olx, usage
from tests.contract.test_assets import ASSETS_COURSE, ASSETS_KEY

COMPUTED = usage(ASSETS_KEY, "problem", "computed-answer")
SCRIPT_UNIT = usage(ASSETS_KEY, "vertical", "script-unit")
CAPAS_MESSAGE = "Could not format HTML for problem. Contact course staff"
NO_JAIL = "safe_exec has not been configured for Python"
ANSWER_FIELD = "input_computed-answer_2_1"


def python_lib(days: int) -> bytes:
    """A python_lib.zip whose ``orbits.martian_year_days()`` returns ``days``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed timestamp: the same library must be the same bytes, whenever the test builds it.
        member = zipfile.ZipInfo("orbits.py", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(member, f"def martian_year_days():\n    return {days}\n")
    return buffer.getvalue()


@pytest.fixture
def assets_course(db):
    return api.import_olx(ASSETS_COURSE, strict=True)


@pytest.fixture
def unsafe(settings):
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "UNSAFE_CODE_EXECUTION": True}


def render(user, usage_key: str, view: str = "student_view", mode: str = "published") -> str:
    runtime = api.get_runtime(user, course_key=ASSETS_KEY, mode=mode)
    return runtime.render(runtime.get_block(usage_key), view).content


def check(user, answer: str) -> dict:
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=ASSETS_KEY)
        request = Request.blank("/", POST={ANSWER_FIELD: answer})
        response = runtime.handle(runtime.get_block(COMPUTED), "xmodule_handler", request, "problem_check")
    return response.json


def test_without_a_sandbox_a_script_shows_capas_own_message_and_the_unit_renders(assets_course, make_user):
    ada = make_user("ada")
    html = render(ada, SCRIPT_UNIT)
    assert CAPAS_MESSAGE in html
    assert f'data-usage="{COMPUTED}"' in html  # the problem's own wrapper: capa handled it, nothing crashed
    assert NO_JAIL in render(make_user("sam", is_staff=True), COMPUTED, "author_view")  # the preview says why
    assert SandboxService(ASSETS_KEY).can_execute_unsafe_code() is False  # so capa asks codejail


def test_with_unsafe_execution_the_script_runs_in_process_with_the_courses_library(assets_course, make_user, unsafe):
    ada = make_user("ada")
    html = render(ada, SCRIPT_UNIT)
    assert CAPAS_MESSAGE not in html and "How many Earth days is a Martian year?" in html
    assert check(ada, "687")["success"] == "correct"  # 687 came from orbits.py inside python_lib.zip
    assert check(ada, "365")["success"] == "incorrect"


def test_a_changed_library_reaches_the_sandbox_once_published_and_drafts_first(assets_course, make_user, unsafe):
    api.save_asset(ASSETS_KEY, "python_lib.zip", python_lib(700))
    assert SandboxService(ASSETS_KEY).get_python_lib_zip() == (ASSETS_COURSE / "static" / "python_lib.zip").read_bytes()
    assert SandboxService(ASSETS_KEY, mode="draft").get_python_lib_zip() == python_lib(700)
    api.publish(ASSETS_KEY)
    ada = make_user("ada")
    assert check(ada, "700")["success"] == "correct"


def test_a_problem_whose_library_is_gone_shows_capas_message(assets_course, make_user, unsafe):
    api.delete_asset(ASSETS_KEY, "python_lib.zip", publish=True)
    assert SandboxService(ASSETS_KEY).get_python_lib_zip() is None
    assert CAPAS_MESSAGE in render(make_user("ada"), SCRIPT_UNIT)


def test_courses_without_a_library_give_none_and_read_it_once_per_runtime(demo_course, django_assert_num_queries):
    sandbox = SandboxService(DEMO_KEY)
    with django_assert_num_queries(1):
        assert sandbox.get_python_lib_zip() is None
        assert sandbox.get_python_lib_zip() is None


def test_edx_platforms_courses_with_unsafe_code_setting_is_honoured(settings):
    settings.COURSES_WITH_UNSAFE_CODE = [r"course-v1:LcX\+Assets\+.*"]
    assert SandboxService(ASSETS_KEY).can_execute_unsafe_code() is True
    assert SandboxService(DEMO_KEY).can_execute_unsafe_code() is False


def test_a_shared_course_problem_imports_its_python_lib_zip(db, make_user, unsafe):
    """HarvardX's "Text Logger" problem imports HXGraders from the course's own python_lib.zip."""
    result = api.import_olx(shared_olx("harvardx-studio-advanced"))
    runtime = api.get_runtime(make_user("ada"), course_key=result.course_key)
    problem = runtime.get_block(usage(result.course_key, "problem", "3139500d17204454b9605e24e1ed5a41"))
    html = runtime.render(problem, "student_view").content
    assert CAPAS_MESSAGE not in html and "Text Logger" in html
