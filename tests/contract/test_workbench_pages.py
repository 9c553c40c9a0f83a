"""
The workbench's pages without a browser (tests/browser/ drives them in chromium): who may see what, the
outline's Variants and hidden entries, the handler bases a page gives its blocks, bad keys, and
``lc-runtime users create``.
"""

from __future__ import annotations

import json
import re

import pytest

from lc_runtime import api, cli
from tests.conftest import SELECTOR_COURSE, SELECTOR_KEY, usage

AB_UNIT = usage(SELECTOR_KEY, "vertical", "unit_ab")


@pytest.fixture
def course(db):
    return api.import_olx(SELECTOR_COURSE)


def test_pages_need_a_signed_in_user(course, client):
    for path in ("/", f"/course/{SELECTOR_KEY}/", f"/block/{AB_UNIT}/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_staff_see_a_learners_outline_variants_and_what_is_hidden(course, client, make_user):
    ada = make_user("ada")
    api.assign_group(SELECTOR_KEY, ada, 100, 1)
    client.force_login(make_user("sam", is_staff=True))
    page = client.get(f"/course/{SELECTOR_KEY}/?as=ada").content.decode()
    assert "Showing the outline of <strong>ada</strong>" in page
    assert re.search(r"<code>block-v1:LcX\+Sel\+2026\+type@split_test\+block@ab</code> \(split_test[^)]*\): "
                     r"<code>group_b</code>", page)
    assert "Publish the draft" in page
    assert client.get(f"/course/{SELECTOR_KEY}/?as=nobody-by-this-name").status_code == 404  # staff are told


def test_a_learner_may_not_view_as_someone_else(course, client, make_user):
    make_user("bob")
    client.force_login(make_user("ada"))
    assert client.get(f"/course/{SELECTOR_KEY}/?as=bob").status_code == 403
    # A name that does not exist is refused alike: a learner cannot learn which usernames exist.
    assert client.get(f"/course/{SELECTOR_KEY}/?as=nobody-by-this-name").status_code == 403
    assert client.get(f"/block/{AB_UNIT}/?as=nobody-by-this-name").status_code == 403
    assert client.get(f"/block/{AB_UNIT}/?mode=draft").status_code == 403
    assert client.post(f"/course/{SELECTOR_KEY}/publish/").status_code == 403


def test_a_block_page_gives_each_block_its_handler_base(course, client, make_user):
    ada = make_user("ada")
    client.force_login(ada)
    page = client.get(f"/block/{AB_UNIT}/").content.decode()
    bases = json.loads(re.search(r'<script type="application/json" id="wb-handler-bases">(.*?)</script>', page,
                                 flags=re.DOTALL).group(1))
    assert AB_UNIT in bases
    runtime = api.get_runtime(ada, course_key=SELECTOR_KEY)
    unit = runtime.get_block(AB_UNIT)
    assert bases[AB_UNIT] == runtime.handler_base_url(unit)
    assert bases[AB_UNIT].startswith(f"/lc-runtime/handler/published/session/{AB_UNIT}/{ada.id}/")
    assert bases[AB_UNIT].endswith("/") and set(bases) >= {AB_UNIT, usage(SELECTOR_KEY, "html", "intro")}


def test_bad_keys_are_404(course, client, make_user):
    client.force_login(make_user("ada"))
    assert client.get("/course/not-a-key/").status_code == 404
    assert client.get("/course/course-v1:No+Such+Run/").status_code == 404
    assert client.get("/block/block-v1:LcX+Sel+2026+type@html+block@nowhere/").status_code == 404
    assert client.get("/workbench-static/elsewhere/x.js").status_code == 404
    assert client.get("/workbench-static/lc_runtime/../../../views.py").status_code in (400, 404)


def test_the_pages_scripts_come_from_the_site_not_a_cdn(course, client, make_user):
    client.force_login(make_user("ada"))
    page = client.get(f"/block/{AB_UNIT}/").content.decode()
    sources = re.findall(r'<script[^>]* src="([^"]+)"', page) + re.findall(r'<link[^>]* href="([^"]+)"', page)
    assert sources and all(source.startswith("/") for source in sources)
    assert client.get("/workbench-static/jquery/jquery.min.js").status_code == 200


def test_users_create_makes_learners_and_staff_who_can_sign_in(db, capsys, client):
    assert cli.main(["users", "create", "ada", "--password", "a-long-password"]) == 0
    assert cli.main(["users", "create", "sam", "--staff", "--password", "a-long-password"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Created learner ada", "Created staff user sam"]
    assert client.login(username="sam", password="a-long-password")
    assert cli.main(["users", "create", "ada", "--password", "x"]) == 2
    assert "a user 'ada' exists already" in capsys.readouterr().err


def test_the_outline_and_a_unit_cost_a_fixed_number_of_queries(course, client, make_user, django_assert_num_queries):
    """Once the course is loaded: session, user, run, roles, dates, groups, Variants (and state for a unit)."""
    client.force_login(make_user("ada"))
    client.get(f"/course/{SELECTOR_KEY}/")  # the first visit draws the learner's Variants
    # Eight, and a savepoint around them: the run's existence, then one runtime for the outline and the Variants.
    with django_assert_num_queries(10):
        assert client.get(f"/course/{SELECTOR_KEY}/").status_code == 200
    with django_assert_num_queries(10):
        assert client.get(f"/block/{AB_UNIT}/").status_code == 200


def test_viewing_as_a_learner_costs_a_fixed_number_of_queries(course, client, make_user, django_assert_num_queries):
    """
    The learner's own pages' queries, plus the learner's row and the viewer's roles (asked once) and, on
    the outline, the users staff may pick.
    """
    client.force_login(make_user("ada"))
    client.get(f"/course/{SELECTOR_KEY}/")  # the learner's Variants are drawn and stored
    client.force_login(make_user("sam", is_staff=True))
    client.get(f"/course/{SELECTOR_KEY}/?as=ada")  # the staff user's first visit: nothing of theirs is stored
    with django_assert_num_queries(10 + 3):
        assert client.get(f"/course/{SELECTOR_KEY}/?as=ada").status_code == 200
    with django_assert_num_queries(10 + 2):
        assert client.get(f"/block/{AB_UNIT}/?as=ada").status_code == 200
