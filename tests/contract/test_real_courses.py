"""
The real course exports in ../shared/olx: each imports, and every block of its published tree renders
for a learner.

Each course is imported and walked once (the 600-odd blocks HarvardX keeps outside split tests take
seconds to import and render), inside a transaction that is rolled back when the course's tests are
done, so nothing leaks into other tests. The walk starts at the course root and follows
``get_children``; every unit and every leaf renders its ``student_view`` in a published runtime for
a learner, and what it rendered (or the error it raised) is kept for the tests to check.

Selectors (split_test, library_content) show a learner its Variant; the walk also visits the rest of
their pools, so every block renders. The third-party blocks of the ``[blocks]`` extra render as
themselves where installed (``make test`` installs them), except edx_sga, whose package imports
edx-platform and so renders a notice that says so; types with no package (azure_media_services, rate,
library_sourced) render as a placeholder notice.

Sandbox: Python in capa problems runs only with ``LC_RUNTIME["UNSAFE_CODE_EXECUTION"]`` (off in the
test settings) or a configured codejail (none here). A problem with a Python ``<script>`` runs it when
it is built, so it shows capa's own "Could not format HTML for problem" message, and its Studio
preview (``author_view``) names the cause. Python in ``<answer>`` runs only on submit, so those
problems render. Every other problem renders without capa's error banners.
"""

from __future__ import annotations

import importlib.util
import traceback
from collections import Counter
from dataclasses import dataclass, field
from importlib.metadata import entry_points

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import transaction

from lc_runtime import api
from lc_runtime.blocks.placeholder import PlaceholderBlock, UnavailableBlock
from lc_runtime.content.roles.api import STAFF, grant_role
from lc_runtime.olx.parsing import parse_olx
from tests.conftest import shared_olx

OUTLINE_TYPES = ("course", "chapter", "sequential")
CAPA_BANNERS = ("Could not format HTML for problem", "Error formatting HTML", "Failed to generate HTML")
SANDBOX_OFF_MESSAGE = "Could not format HTML for problem. Contact course staff"
SANDBOX_OFF_CAUSE = "safe_exec has not been configured for Python"
# Core and PyPI blocks that are installed here: they must never fall back to the placeholder.
REAL_TYPES = {
    "html", "problem", "video", "poll", "survey", "done", "discussion", "word_cloud", "annotatable", "lti",
}


def third_party(block_type: str, module: str, class_name: str) -> str:
    """The class a third-party type renders as: its own where its package is installed, else the placeholder."""
    if importlib.util.find_spec(module) is None:
        return "PlaceholderBlock"
    REAL_TYPES.add(block_type)
    return class_name


# Installed, but its package imports edx-platform's modules: a notice says which (docs/blocks.md).
NEEDS_EDX_PLATFORM = {"edx_sga"}

@dataclass(frozen=True)
class Expected:
    """What one course imports and renders as."""

    blocks_by_type: dict[str, int]
    import_problems: list[tuple[str, str | None, int | None, str | None]]  # message, file, line, block
    rendered_by_class: dict[tuple[str, str], int]
    needs_sandbox: set[str]  # block ids of the problems that run Python when they are built


EXPECTED: dict[str, Expected] = {
    "oxa-kitchen-sink": Expected(
        blocks_by_type={
            "course": 1, "chapter": 4, "sequential": 15, "vertical": 16,
            "problem": 14, "video": 1, "azure_media_services": 3,
        },
        import_problems=[],
        rendered_by_class={
            ("vertical", "VerticalBlock"): 16,
            ("problem", "ProblemBlock"): 14,
            ("video", "VideoBlock"): 1,
            ("azure_media_services", "PlaceholderBlock"): 3,
        },
        needs_sandbox={
            "5ce2d6d80b6b4cfc90ba2774a5a16949",  # jsinput graded by a Python cfn
            "8c9ee892599b456fa9892a00b077d942",  # customresponse, "Custom Python-Evaluated Input"
            "2957ab77ba7249758384d63cda91d53a",  # formularesponse whose answers are set in <script>
        },
    ),
    "harvardx-studio-advanced": Expected(
        # All 909 blocks: 296 of them inside the 30 split tests' pools.
        blocks_by_type={
            "course": 1, "chapter": 9, "sequential": 47, "vertical": 286, "html": 315, "problem": 76,
            "video": 17, "poll": 121, "survey": 3, "discussion": 2, "word_cloud": 1,
            "split_test": 30, "openassessment": 1,
        },
        import_problems=[],
        rendered_by_class={
            ("vertical", "VerticalBlock"): 286,
            ("html", "HtmlBlock"): 315,
            ("problem", "ProblemBlock"): 76,
            ("video", "VideoBlock"): 17,
            ("poll", "PollBlock"): 121,
            ("survey", "SurveyBlock"): 3,
            ("discussion", "DiscussionXBlock"): 2,
            ("word_cloud", "WordCloudBlock"): 1,
            ("split_test", "SplitTestSelectorBlock"): 30,
            ("openassessment", third_party("openassessment", "openassessment", "OpenAssessmentBlock")): 1,
        },
        needs_sandbox={
            "1977e51ee7e04d3a99cb0eb4e526834e",
            "4fd5121580eb4294a20bbd39a0969716",
            "5260409f0a2744599c9d2316c35a573f",
            "e7a4489af52a43d4ba319cec7e219246",
            "823babd399f84f95af7eaa5b65dd6807",  # random.randint in the script
            "3139500d17204454b9605e24e1ed5a41",  # imports HXGraders from the course's python_lib.zip
            "2ba029be57bf473e9ddf7a4abc2de4f3",  # Python 2 code: would fail even with a sandbox
        },
    ),
    "openedx-test-course": Expected(
        # All 89 blocks: 28 of them inside split tests' and item banks' pools.
        blocks_by_type={
            "course": 1, "chapter": 2, "sequential": 3, "vertical": 28, "html": 17, "problem": 19, "video": 3,
            "annotatable": 1, "done": 1, "lti": 1, "poll": 1, "survey": 1,
            "split_test": 2, "library_content": 2, "library_sourced": 1, "lti_consumer": 1,
            "edx_sga": 1, "google-calendar": 1, "google-document": 1, "rate": 1, "scorm": 1,
        },
        import_problems=[],
        rendered_by_class={
            ("vertical", "VerticalBlock"): 28,
            ("html", "HtmlBlock"): 17,
            ("problem", "ProblemBlock"): 19,
            ("video", "VideoBlock"): 3,
            ("annotatable", "AnnotatableBlock"): 1,
            ("done", "DoneXBlock"): 1,
            ("lti", "LTIBlock"): 1,
            ("poll", "PollBlock"): 1,
            ("survey", "SurveyBlock"): 1,
            ("split_test", "SplitTestSelectorBlock"): 2,
            ("library_content", "LibraryContentSelectorBlock"): 2,
            ("library_sourced", "PlaceholderBlock"): 1,
            ("lti_consumer", third_party("lti_consumer", "lti_consumer", "LtiConsumerXBlock")): 1,
            ("edx_sga", "UnavailableBlock" if importlib.util.find_spec("edx_sga") else "PlaceholderBlock"): 1,
            ("google-calendar", third_party("google-calendar", "google_drive", "GoogleCalendarBlock")): 1,
            ("google-document", third_party("google-document", "google_drive", "GoogleDocumentBlock")): 1,
            ("rate", "PlaceholderBlock"): 1,
            ("scorm", third_party("scorm", "openedxscorm", "ScormXBlock")): 1,
        },
        needs_sandbox=set(),
    ),
}


@dataclass
class Rendered:
    """One block of a walked course: its class and its student_view HTML (or the error it raised)."""

    usage_key: str
    block_type: str
    block_id: str
    class_name: str
    is_placeholder: bool
    children: list[str] = field(default_factory=list)
    olx: str | None = None
    html: str | None = None
    error: str | None = None
    author_html: str | None = None


@dataclass
class WalkedCourse:
    """An imported course and what each block of its published tree rendered."""

    name: str
    result: api.ImportResult
    blocks: list[Rendered] = field(default_factory=list)

    @property
    def expected(self) -> Expected:
        return EXPECTED[self.name]

    def rendered(self) -> list[Rendered]:
        return [b for b in self.blocks if b.block_type not in OUTLINE_TYPES]

    def of_type(self, block_type: str) -> list[Rendered]:
        return [b for b in self.blocks if b.block_type == block_type]


def _walk(name: str) -> WalkedCourse:
    caches["default"].clear()  # capa caches safe_exec results there: start clean
    result = api.import_olx(shared_olx(name))
    # Course staff reach every block of the outline (what learners may reach is test_access.py's); like a
    # learner, they see their own Variant of a selector.
    learner = get_user_model().objects.create_user(username=f"staff-{name}", email=f"{name}@example.com")
    grant_role(learner.id, result.course_key, STAFF)
    runtime = api.get_runtime(learner, course_key=result.course_key, mode="published")
    # The learner reaches only its Variants' members; a system runtime (no user) reaches whole pools.
    system = api.get_runtime(None, course_key=result.course_key, mode="published")
    walked = WalkedCourse(name, result)

    def visit(block) -> None:
        scope_ids = block.scope_ids
        block_class = getattr(type(block), "unmixed_class", type(block))
        entry = Rendered(
            usage_key=str(scope_ids.usage_id),
            block_type=scope_ids.block_type,
            block_id=scope_ids.usage_id.block_id,
            class_name=block_class.__name__,
            is_placeholder=issubclass(block_class, PlaceholderBlock),
        )
        walked.blocks.append(entry)
        children = block.get_children() if block.has_children else []
        entry.children = [str(child.scope_ids.usage_id) for child in children]
        if entry.block_type not in OUTLINE_TYPES:
            entry.olx = runtime.tree.blocks[(entry.block_type, entry.block_id)].olx
            try:
                entry.html = block.runtime.render(block, "student_view").content
            except Exception:  # kept, so that one test reports every failure at once
                entry.error = traceback.format_exc()
            if entry.block_type == "problem" and entry.html and SANDBOX_OFF_MESSAGE in entry.html:
                entry.author_html = block.runtime.render(block, "author_view").content
        # A selector shows this learner its Variant; the walk visits its whole pool, so every block renders:
        # the members this learner gets as the learner, the others through the system runtime.
        record = runtime.tree.blocks[(entry.block_type, entry.block_id)]
        if record.pool_entity_id is not None:
            mine = {child.scope_ids.usage_id for child in children}
            children = [
                runtime.get_block(key) if key in mine else system.get_block(key)
                for key in (runtime.usage_key_of(ref) for ref in record.children)
            ]
        for child in children:
            visit(child)

    visit(runtime.get_block(runtime.root_usage_key))
    return walked


def runs_python_when_built(problem_olx: str) -> bool:
    """True when capa runs Python as it builds the problem: a non-empty ``<script>`` that is not JS or Perl."""
    for script in parse_olx(problem_olx).iter("script"):
        kind = script.get("type") or ""
        if "javascript" not in kind and "perl" not in kind and (script.text or "").strip():
            return True
    return False


# pytest-django creates the test database only for modules with tests marked django_db.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module", params=list(EXPECTED))
def course(request, django_db_setup, django_db_blocker) -> WalkedCourse:
    """A course imported and walked once, in a transaction rolled back when its tests are done."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _walk(request.param)
        transaction.set_rollback(True)


def test_import_reports_blocks_and_problems(course):
    result = course.result
    assert result.blocks_by_type == course.expected.blocks_by_type
    reported = [(problem.message, problem.file, problem.line, problem.block) for problem in result.problems]
    print(f"\n{course.name}: import problems {[str(problem) for problem in result.problems]}")
    assert reported == course.expected.import_problems
    assert result.published is not None and result.published.entities_published > 0


def test_every_unit_and_leaf_renders(course):
    failures = {b.usage_key: b.error for b in course.rendered() if b.error}
    assert failures == {}
    rendered_by_class = Counter((b.block_type, b.class_name) for b in course.rendered())
    print(f"\n{course.name}: " + ", ".join(f"{t} as {c}: {n}" for (t, c), n in sorted(rendered_by_class.items())))
    assert rendered_by_class == course.expected.rendered_by_class
    walked_types = Counter(b.block_type for b in course.blocks)
    assert walked_types == course.expected.blocks_by_type  # the walk reached every imported block


def test_units_render_their_children_in_order(course):
    for unit in course.of_type("vertical"):
        assert 'class="lc-vertical"' in unit.html
        positions = [unit.html.find(f'data-usage="{child}"') for child in unit.children]
        assert -1 not in positions, unit.usage_key
        assert positions == sorted(positions), unit.usage_key


def test_unknown_block_types_render_a_placeholder_notice(course):
    for block in course.rendered():
        if not block.is_placeholder:
            continue
        if block.class_name == UnavailableBlock.__name__:
            assert block.block_type in NEEDS_EDX_PLATFORM
            assert f'<div class="lc-placeholder lc-unavailable" data-block-type="{block.block_type}">' in block.html
            assert "which only edx-platform provides" in block.html
        else:
            assert f"No XBlock is installed for the block type <code>{block.block_type}</code>" in block.html
            assert f'<div class="lc-placeholder" data-block-type="{block.block_type}">' in block.html
        assert block.olx.startswith(f"<{block.block_type}")  # the OLX is kept for export


def test_no_block_of_an_installed_package_renders_as_a_placeholder(course):
    installed_types = {entry_point.name for entry_point in entry_points(group="xblock.v1")}
    for block in course.rendered():
        if block.is_placeholder and block.block_type not in NEEDS_EDX_PLATFORM:
            assert block.block_type not in installed_types, block.usage_key


def test_installed_block_types_render_with_their_real_classes(course):
    for block in course.rendered():
        if block.block_type in REAL_TYPES:
            assert not block.is_placeholder, block.usage_key
            assert "lc-placeholder" not in block.html, block.usage_key


def test_problems_render_without_capa_error_banners(course):
    with_banner = {
        b.block_id for b in course.of_type("problem") if any(banner in b.html for banner in CAPA_BANNERS)
    }
    assert with_banner == course.expected.needs_sandbox


def test_problems_that_need_a_sandbox_show_capas_own_message(course):
    needs_sandbox = {b.block_id for b in course.of_type("problem") if runs_python_when_built(b.olx)}
    assert needs_sandbox == course.expected.needs_sandbox
    for problem in course.of_type("problem"):
        if problem.block_id in needs_sandbox:
            assert SANDBOX_OFF_MESSAGE in problem.html
            assert SANDBOX_OFF_CAUSE in problem.author_html  # the Studio preview says why


@pytest.mark.parametrize("course", ["oxa-kitchen-sink"], indirect=True)
def test_sandbox_problems_render_once_python_may_run(course, make_user, settings):
    """The three oxa problems fail only for want of a sandbox: their (short, harmless) scripts run in-process."""
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "UNSAFE_CODE_EXECUTION": True}
    caches["default"].clear()
    try:
        runtime = api.get_runtime(make_user("unsafe-ada"), course_key=course.result.course_key)
        for problem in course.of_type("problem"):
            if problem.block_id in course.expected.needs_sandbox:
                html = runtime.render(runtime.get_block(problem.usage_key), "student_view").content
                assert not any(banner in html for banner in CAPA_BANNERS), problem.usage_key
    finally:
        caches["default"].clear()  # results computed with Python allowed must not serve later renders


THIRD_PARTY_TYPES = {"openassessment", "lti_consumer", "google-calendar", "google-document", "scorm", "recommender"}


def test_third_party_blocks_render_for_a_learner_and_in_their_units_author_view(course, make_user):
    """Each installed third-party block of the course: its learner view as a learner, its unit's author view."""
    blocks = [b for b in course.rendered() if b.block_type in THIRD_PARTY_TYPES and not b.is_placeholder]
    if not blocks:
        pytest.skip(f"{course.name} has no third-party block whose package is installed")
    course_key = course.result.course_key
    learner = make_user(f"learner-{course.name}")
    author = make_user(f"author-{course.name}")
    grant_role(author.id, course_key, STAFF)
    learner_runtime = api.get_runtime(learner, course_key=course_key)
    author_runtime = api.get_runtime(author, course_key=course_key, mode="draft")
    parents = {child: b.usage_key for b in course.blocks for child in b.children}
    for block in blocks:
        html = learner_runtime.render(learner_runtime.get_block(block.usage_key), "student_view").content
        assert "lc-placeholder" not in html, block.usage_key
        unit = author_runtime.get_block(parents[block.usage_key])
        author_html = author_runtime.render(unit, "author_view").content
        own = author_html.split(f'data-usage="{block.usage_key}"', 1)[1].split(' data-usage="', 1)[0]
        assert "lc-placeholder" not in own and "This block cannot be shown here" not in own, block.usage_key
