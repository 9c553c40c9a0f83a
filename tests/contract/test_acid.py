"""
acid-xblock, the XBlock runtime conformance block, inside a course stored in Learning Core.

acid decides pass or fail in its JavaScript (acid.js, acid_parent.js). These tests do in Python what
those scripts do in a browser (../shared/reference/xblock-runtime-api.md §6.3-6.4): render the
blocks, then for every storage-test row POST to the server-made handler URL, then to the URL the
client-side runtime builds from the same base, fetch the local resource, and compare the parent's
child count with the acid children rendered. Learner scopes are checked in a published (LMS)
runtime; authored scopes and the unnamed scope combinations in a draft (Studio) runtime. Every
request goes through the real handler and resource views.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree
from lxml import html as lxml_html
from xblock.fields import BlockScope, Scope, UserScope

from lc_runtime import api
from lc_runtime.models import LearnerState
from tests.conftest import usage

ACID_COURSE = Path(__file__).parents[1] / "fixtures" / "acid-course"
ACID_KEY = "course-v1:LcX+Acid+2026"
UNIT = usage(ACID_KEY, "vertical", "acid-unit")
PARENT = usage(ACID_KEY, "acid_parent", "acid-parent")
STANDALONE = usage(ACID_KEY, "acid", "acid-standalone")

# What acid's ``enabled_fields`` tests in each view; any other view (author_view) tests all 18 scopes.
STUDENT_SCOPES = {"user_state", "user_state_summary", "preferences", "user_info"}
STUDIO_SCOPES = {"content", "settings"}
ALL_SCOPES = {scope.name for scope in Scope.scopes()}
# Scopes whose values are content: one for every learner, edited in Studio, published with the course.
AUTHORED_SCOPE_NAMES = {
    scope.name for scope in Scope.scopes()
    if scope.user is UserScope.NONE and scope.block in (BlockScope.USAGE, BlockScope.DEFINITION)
}
INIT_FUNCTIONS = {"acid": "AcidBlock", "acid_parent": "AcidParentBlock"}


@dataclass(frozen=True)
class StorageRow:
    """One ``tr.scope-storage-test`` of a rendered acid block."""

    view: str
    usage_id: str
    block_type: str
    scope: str
    handler_url: str
    value: str

    def label(self) -> str:
        return f"{self.view} {self.usage_id} scope={self.scope}"


@dataclass
class AcidRun:
    """What acid.js would have marked: every failure, and the value each scope holds at the end."""

    failures: list[str] = field(default_factory=list)
    final_values: dict[tuple[str, str], int] = field(default_factory=dict)


@pytest.fixture
def acid_course(db):
    result = api.import_olx(ACID_COURSE, strict=True)
    assert result.problems == []
    assert result.blocks_by_type["acid"] == 3 and result.blocks_by_type["acid_parent"] == 1
    return result


@pytest.fixture
def learner(make_user):
    return make_user("ada")


@pytest.fixture
def author(make_user):
    return make_user("sam", is_staff=True)


def render(user, mode: str, block_key: str, view: str):
    """The fragment of ``view`` of a block, rendered in one unit of work, as a page request would."""
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=ACID_KEY, mode=mode)
        return runtime.render(runtime.get_block(block_key), view)


def parse(page: str):
    return lxml_html.fragment_fromstring(page, create_parent="div")


def acid_wrappers(tree):
    """Every rendered acid and acid_parent block (its runtime wrapper div), outermost first."""
    return tree.xpath('//div[@data-usage][@data-block-type="acid" or @data-block-type="acid_parent"]')


def storage_rows(page: str, view: str) -> list[StorageRow]:
    """The storage-test rows of every acid block in ``page``, each tied to the block that rendered it."""
    rows = []
    for wrapper in acid_wrappers(parse(page)):
        for tr in wrapper.xpath('.//tr[contains(concat(" ", @class, " "), " scope-storage-test ")]'):
            if tr.xpath("ancestor::div[@data-usage][1]")[0] is not wrapper:
                continue  # a nested child's row: counted with the child
            rows.append(StorageRow(
                view=view,
                usage_id=wrapper.get("data-usage"),
                block_type=wrapper.get("data-block-type"),
                scope=tr.get("data-scope"),
                handler_url=tr.get("data-handler-url"),
                value=tr.get("data-value"),
            ))
    return rows


def client_side_handler_url(server_url: str, handler: str, suffix: str, query: str) -> str:
    """
    What ``runtime.handlerUrl(element, handler, suffix, query)`` builds in the browser: the block's
    handler base (the signed part of its handler URLs, up to the handler name), then handler name,
    suffix and query.
    """
    path = urlsplit(server_url).path
    base = path[: path.index("/check_storage/") + 1]
    url = f"{base}{handler}/{suffix}"
    return f"{url}?{query}" if query else url


def post_json(client, url: str, data: dict) -> tuple[int, dict | str]:
    response = client.post(url, data)
    body = response.content.decode()
    try:
        return response.status_code, json.loads(body)
    except ValueError:
        return response.status_code, body


def run_storage_checks(client, rows: list[StorageRow], run: AcidRun) -> None:
    """acid.js ``scopeTests``: the four marks of each row (server-side, then client-side handler URL)."""
    for row in rows:
        status, ret = post_json(client, row.handler_url, {"VALUE": row.value})
        if status != 200 or not isinstance(ret, dict):
            run.failures.append(f"{row.label()}: server-side handler_url gave HTTP {status}: {ret!r:.300}")
            continue
        if ret.get("status") != "ok":
            run.failures.append(f"{row.label()}: server-side handler_url failed: {ret.get('message')}")
            continue
        url = client_side_handler_url(row.handler_url, "check_storage", ret["suffix"], ret["query"])
        status, again = post_json(client, url, {"VALUE": ret["value"]})
        if status != 200 or not isinstance(again, dict):
            run.failures.append(
                f"{row.label()}: client-side handler_url {url} returned HTTP {status}: {again!r:.300}"
            )
            continue
        if again.get("status") != "ok":
            run.failures.append(f"{row.label()}: client-side handler_url failed: {again.get('message')}")
            continue
        run.final_values[(row.usage_id, row.scope)] = again["value"]


def run_resource_checks(client, tree, view: str, run: AcidRun) -> None:
    """acid.js ``resourceTests``: GET each data-local-resource-url, expect ``test_data == "success"``."""
    urls = tree.xpath("//div[@data-local-resource-url]/@data-local-resource-url")
    if not urls:
        run.failures.append(f"{view}: no data-local-resource-url rendered")
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            run.failures.append(f"{view}: local resource {url} returned HTTP {response.status_code}")
            continue
        data = json.loads(b"".join(response.streaming_content) if response.streaming else response.content)
        if data.get("test_data") != "success":
            run.failures.append(f"{view}: local resource {url} returned {data!r}")


def run_child_checks(tree, view: str, run: AcidRun) -> None:
    """acid_parent.js ``.child-counts-match``: data-acid-child-count vs the acid children rendered."""
    parents = tree.xpath('//div[@data-usage][@data-block-type="acid_parent"]')
    if len(parents) != 1:
        run.failures.append(f"{view}: {len(parents)} acid_parent blocks rendered, expected 1")
    for parent in parents:
        declared = parent.xpath(".//div[@data-acid-child-count]/@data-acid-child-count")
        rendered = parent.xpath('.//div[contains(@class, "acid-children")]/div[@data-block-type="acid"]')
        if declared != [str(len(rendered))] or len(rendered) != 2:
            run.failures.append(f"{view}: data-acid-child-count={declared}, acid children={len(rendered)}")


def run_init_checks(fragment, tree, view: str, run: AcidRun) -> None:
    """acid.js ``.js-init-run``, as far as the server decides it: each block names its init function
    in its wrapper, and the page ships that function's code."""
    javascript = "\n".join(
        r.data for r in fragment.resources if r.kind == "text" and r.mimetype == "application/javascript"
    )
    for wrapper in acid_wrappers(tree):
        expected = INIT_FUNCTIONS[wrapper.get("data-block-type")]
        if wrapper.get("data-init") != expected:
            run.failures.append(f"{view} {wrapper.get('data-usage')}: data-init={wrapper.get('data-init')!r}")
        if f"function {expected}(" not in javascript:
            run.failures.append(f"{view}: the page does not ship {expected}()")


def run_acid(client, user, mode: str, view: str, blocks: list[str]) -> tuple[AcidRun, list[StorageRow]]:
    """Render ``view`` of ``blocks`` for ``user`` and run every check acid's scripts would."""
    client.force_login(user)
    run = AcidRun()
    all_rows = []
    for key in blocks:
        fragment = render(user, mode, key, view)
        tree = parse(fragment.content)
        rows = storage_rows(fragment.content, view)
        all_rows += rows
        run_storage_checks(client, rows, run)
        run_resource_checks(client, tree, view, run)
        run_init_checks(fragment, tree, view, run)
        if key != STANDALONE:
            run_child_checks(tree, view, run)
    return run, all_rows


def scopes_by_block(rows: list[StorageRow]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.usage_id, set()).add(row.scope)
    return found


VIEWS = [
    # (mode, view, blocks rendered, scopes each acid block tests in that view)
    pytest.param("published", "student_view", [UNIT], STUDENT_SCOPES, id="student_view-learner"),
    pytest.param("draft", "studio_view", [PARENT, STANDALONE], STUDIO_SCOPES, id="studio_view-author"),
    pytest.param("draft", "author_view", [UNIT], ALL_SCOPES, id="author_view-author"),
]


@pytest.mark.parametrize(("mode", "view", "blocks", "scopes"), VIEWS)
def test_acid_passes_every_check(acid_course, learner, author, client, mode, view, blocks, scopes):
    user = learner if mode == "published" else author
    run, rows = run_acid(client, user, mode, view, blocks)

    # The parent, its two children and the standalone block each ran every scope test of the view.
    tested = scopes_by_block(rows)
    assert len(tested) == 4, sorted(tested)
    for usage_id, names in tested.items():
        assert names == scopes, f"{view} {usage_id}: tested scopes {sorted(names)}, expected {sorted(scopes)}"
    assert len(run.final_values) == len(rows) or run.failures
    assert run.failures == [], f"{len(run.failures)} acid check(s) failed:\n" + "\n".join(run.failures)


def test_learners_do_not_see_each_others_state(acid_course, learner, make_user, client):
    run, _ = run_acid(client, learner, "published", "student_view", [UNIT])
    assert run.failures == [], "\n".join(run.failures)
    key = STANDALONE

    own = api.get_runtime(learner, course_key=ACID_KEY).get_block(key)
    assert own.user_state == {key: run.final_values[(key, "user_state")]}
    assert own.preferences[key] == run.final_values[(key, "preferences")]
    assert own.user_info[key] == run.final_values[(key, "user_info")]

    other = api.get_runtime(make_user("bob"), course_key=ACID_KEY).get_block(key)
    assert other.user_state == {}, "user_state leaked from one learner to another"
    assert other.preferences == {}, "preferences leaked from one learner to another"
    assert other.user_info == {}, "user_info leaked from one learner to another"
    # user_state_summary is the one learner scope shared by every learner of the block.
    assert other.user_state_summary == {key: run.final_values[(key, "user_state_summary")]}


def test_author_state_stays_out_of_content(acid_course, author, learner, client):
    """In Studio the author is also a user: their learner-scoped values must not become content."""
    run, _ = run_acid(client, author, "draft", "author_view", [UNIT])
    assert run.failures == [], "\n".join(run.failures)
    key = STANDALONE
    # The preview's learner scopes live in the preview store, never in the learners' table.
    assert not LearnerState.objects.exists(), "an author's preview state reached the learner-state table"
    preview = api.get_runtime(author, course_key=ACID_KEY, mode="draft").get_block(key)
    assert preview.user_state == {key: run.final_values[(key, "user_state")]}

    draft = api.get_runtime(author, course_key=ACID_KEY, mode="draft")
    olx = draft.tree.blocks[("acid", "acid-standalone")].olx
    stored = etree.fromstring(olx).attrib
    learner_scopes = ALL_SCOPES - AUTHORED_SCOPE_NAMES
    assert not learner_scopes & set(stored), f"learner-scoped fields written into the OLX: {olx}"
    assert set(stored) >= AUTHORED_SCOPE_NAMES, olx

    api.publish(ACID_KEY)
    published = api.get_runtime(learner, course_key=ACID_KEY).get_block(key)
    for scope in sorted(AUTHORED_SCOPE_NAMES):
        assert getattr(published, scope) == {key: run.final_values[(key, scope)]}, scope
    # Every learner scope — the ones shared by all learners or across courses included — keeps the
    # author's preview apart from the published course, for learners and for the author as a learner.
    as_learner = api.get_runtime(author, course_key=ACID_KEY).get_block(key)
    for scope in sorted(learner_scopes):
        assert getattr(published, scope) == {}, f"{scope}: the author's value reached a learner"
        assert getattr(as_learner, scope) == {}, f"{scope}: the author's preview reached their own learner state"


def test_acid_aside_passes_every_check(acid_course, learner, client, settings):
    """With acid_aside allowed, it decorates every block's student_view and its own checks pass."""
    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "ASIDE_TYPES": ["acid_aside"]}
    client.force_login(learner)
    fragment = render(learner, "published", UNIT, "student_view")
    tree = parse(fragment.content)
    asides = tree.xpath('//div[@data-usage][@data-block-type="acid_aside"]')
    decorated = {aside.get("data-block_id") for aside in asides}
    rendered_blocks = set(tree.xpath('//div[@data-usage][@data-block-type!="acid_aside"]/@data-usage'))
    # One aside per rendered block: the unit, acid_parent, its two children and the standalone acid.
    assert decorated == rendered_blocks and len(asides) == 5, (sorted(decorated), sorted(rendered_blocks))

    rows = [
        StorageRow(
            view="student_view (aside)",
            usage_id=aside.get("data-usage"),
            block_type="acid_aside",
            scope=tr.get("data-scope"),
            handler_url=tr.get("data-handler-url"),
            value=tr.get("data-value"),
        )
        for aside in asides
        for tr in aside.xpath('.//tr[contains(concat(" ", @class, " "), " scope-storage-test ")]')
    ]
    assert {row.scope for row in rows} == STUDENT_SCOPES
    assert len(rows) == 5 * len(STUDENT_SCOPES)
    run = AcidRun()
    run_storage_checks(client, rows, run)
    run_resource_checks(client, tree, "student_view (aside)", run)
    # acid.js's .acid-dom check: an aside told it decorates an acid block (test_aside) finds that
    # block's element, typed "acid". acid marks it failed on acid_parent in every runtime (AcidParentBlock
    # is an AcidBlock subclass, typed "acid_parent"): what the runtime owes is the right element.
    for aside in asides:
        args = json.loads(aside.xpath('./script[@type="json/xblock-args"]/text()')[0])
        [block_type] = tree.xpath(f'//div[@data-usage="{aside.get("data-block_id")}"]/@data-block-type')
        if args["test_aside"] != (block_type in ("acid", "acid_parent")):
            run.failures.append(f"aside on {aside.get('data-block_id')}: test_aside={args['test_aside']}")
    assert run.failures == [], "\n".join(run.failures)


def test_no_aside_attaches_itself(acid_course, learner):
    """Installed asides decorate nothing unless LC_RUNTIME["ASIDE_TYPES"] names them."""
    fragment = render(learner, "published", UNIT, "student_view")
    assert 'data-block-type="acid_aside"' not in fragment.content
