"""
Static files: the contentstore-like API, import of an export's ``static/`` folder (idempotent, one
transaction), serving with the right headers to the right people, ``/static/`` links rewritten in
rendered blocks, hostile paths refused, and every static file of the shared courses imported.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import shutil
from html import unescape
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client
from openedx_content.models_api import PublishableEntityVersion
from web_fragments.fragment import Fragment
from xblock.exceptions import NoSuchUsage

from lc_runtime import api
from lc_runtime.content.assets.api import asset_name, guess_content_type
from lc_runtime.runtime.services import ReplaceURLService
from lc_runtime.runtime.static_urls import replace_urls
from tests.conftest import DEMO_KEY, ROOT, shared_olx, usage

ASSETS_COURSE = ROOT / "tests" / "fixtures" / "assets-course"
ASSETS_KEY = "course-v1:LcX+Assets+2026"
FIXTURE_FILES = {"Lecture notes.txt", "guide.html", "images/orbit.png", "python_lib.zip"}
BASE = f"/lc-runtime/assets/{ASSETS_KEY}/"
DRAFT_BASE = f"/lc-runtime/assets/draft/{ASSETS_KEY}/"
PNG = (ASSETS_COURSE / "static" / "images" / "orbit.png").read_bytes()


def row_counts() -> dict[str, int]:
    """Rows of every lc-runtime and openedx-core table: equal before and after a refused write."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("lc_runtime", "openedx_content")
    }


def versions() -> int:
    return PublishableEntityVersion.objects.count()


def copy_course(tmp_path: Path) -> Path:
    target = tmp_path / "assets-course"
    shutil.copytree(ASSETS_COURSE, target)
    return target


@pytest.fixture
def assets_course(db):
    """The fixture course with static files, imported and published."""
    result = api.import_olx(ASSETS_COURSE, strict=True)
    assert result.problems == []
    return result


@pytest.fixture
def learner(make_user):
    return make_user("ada")


@pytest.fixture
def staff(make_user):
    return make_user("sam", is_staff=True)


# ---- the Python API


def test_save_find_read_list_and_delete_round_trip(demo_course):
    saved = api.save_asset(DEMO_KEY, "images/Mars orbit.png", PNG)
    assert (saved.path, saved.name, saved.content_type, saved.size) == (
        "images/Mars orbit.png", "images_Mars_orbit.png", "image/png", len(PNG)
    )
    assert api.find_asset(DEMO_KEY, "images/Mars orbit.png") is None  # a draft: learners see nothing yet
    assert api.find_asset(DEMO_KEY, "images/Mars orbit.png", mode="draft").read() == PNG

    api.publish(DEMO_KEY)
    published = api.find_asset(DEMO_KEY, "images/Mars orbit.png")
    assert published.read() == PNG and published.version_num == 1
    # edx-platform's spelling of the name finds the same file
    assert api.find_asset(DEMO_KEY, "images_Mars_orbit.png").path == "images/Mars orbit.png"
    assert [asset.path for asset in api.list_assets(DEMO_KEY)] == ["images/Mars orbit.png"]
    assert api.asset_url(DEMO_KEY, "images/Mars orbit.png") == (
        "/lc-runtime/assets/course-v1:LcX+Demo+2026/images/Mars%20orbit.png"
    )

    assert api.delete_asset(DEMO_KEY, "images/Mars orbit.png") is True
    assert api.find_asset(DEMO_KEY, "images/Mars orbit.png", mode="draft") is None
    assert api.find_asset(DEMO_KEY, "images/Mars orbit.png") is not None  # until the deletion is published
    api.publish(DEMO_KEY)
    assert api.find_asset(DEMO_KEY, "images/Mars orbit.png") is None
    assert api.list_assets(DEMO_KEY) == []
    assert api.delete_asset(DEMO_KEY, "images/Mars orbit.png") is False


@pytest.mark.parametrize("name", ["save_asset", "asset_url"])
def test_docstring_examples_hold(demo_course, name):
    [example] = doctest.DocTestFinder().find(getattr(api, name), name, globs={**vars(api), "png_bytes": PNG})
    runner = doctest.DocTestRunner()
    runner.run(example)
    assert runner.summarize(verbose=False) == (0, len(example.examples))


def test_saving_the_same_bytes_makes_no_version_and_changed_bytes_exactly_one(demo_course):
    api.save_asset(DEMO_KEY, "notes.txt", b"first", publish=True)
    before = versions()
    again = api.save_asset(DEMO_KEY, "notes.txt", b"first", publish=True)
    assert versions() == before and again.version_num == 1
    changed = api.save_asset(DEMO_KEY, "notes.txt", b"second", publish=True)
    assert versions() == before + 1 and changed.version_num == 2
    assert api.find_asset(DEMO_KEY, "notes.txt").read() == b"second"
    # A new content type or a lock is a change too; each is one version.
    api.save_asset(DEMO_KEY, "notes.txt", b"second", "text/markdown", publish=True)
    locked = api.save_asset(DEMO_KEY, "notes.txt", b"second", "text/markdown", locked=True, publish=True)
    assert versions() == before + 3
    assert (locked.content_type, locked.locked, locked.version_num) == ("text/markdown", True, 4)


def test_publishing_one_file_leaves_the_rest_of_the_draft_alone(demo_course):
    api.save_asset(DEMO_KEY, "a.txt", b"a")
    api.save_asset(DEMO_KEY, "b.txt", b"b", publish=True)
    assert [asset.path for asset in api.list_assets(DEMO_KEY)] == ["b.txt"]
    assert [asset.path for asset in api.list_assets(DEMO_KEY, mode="draft")] == ["a.txt", "b.txt"]


def test_two_paths_with_one_asset_name_are_both_kept(demo_course):
    api.save_asset(DEMO_KEY, "a b.txt", b"spaced", publish=True)
    api.save_asset(DEMO_KEY, "a_b.txt", b"underscored", publish=True)
    assert {asset.path: asset.read() for asset in api.list_assets(DEMO_KEY)} == {
        "a b.txt": b"spaced", "a_b.txt": b"underscored"
    }
    assert api.find_asset(DEMO_KEY, "a b.txt").read() == b"spaced"  # each spelling finds its own file
    assert api.find_asset(DEMO_KEY, "a_b.txt").read() == b"underscored"
    api.delete_asset(DEMO_KEY, "a_b.txt", publish=True)
    assert api.find_asset(DEMO_KEY, "a_b.txt").read() == b"spaced"  # the name now means the other one


def test_names_differing_in_case_are_different_files(demo_course):
    api.save_asset(DEMO_KEY, "Orbit.png", b"upper", publish=True)
    api.save_asset(DEMO_KEY, "orbit.png", b"lower", publish=True)
    assert {asset.path: asset.read() for asset in api.list_assets(DEMO_KEY)} == {
        "Orbit.png": b"upper", "orbit.png": b"lower"
    }
    assert api.find_asset(DEMO_KEY, "orbit.png").read() == b"lower"


@pytest.mark.parametrize(
    "path",
    [
        "../settings.py", "a/../../b.png", "/etc/passwd", "a//b.png", "a/./b.png", "a/", "", " x.png", "x.png ",
        "a\\b.png", "x\x00.png", "x\n.png", "x" * 401,
    ],
)
def test_hostile_or_malformed_paths_are_refused_and_write_nothing(demo_course, path):
    before = row_counts()
    with pytest.raises(api.InvalidAssetPath):
        api.save_asset(DEMO_KEY, path, b"data")
    with pytest.raises(api.InvalidAssetPath):
        api.find_asset(DEMO_KEY, path)
    with pytest.raises(api.InvalidAssetPath):
        api.delete_asset(DEMO_KEY, path)
    assert row_counts() == before


def test_bad_input_gets_a_clear_error_and_writes_nothing(demo_course):
    before = row_counts()
    with pytest.raises(api.InvalidKey):
        api.save_asset("not a key", "a.png", PNG)
    with pytest.raises(api.CourseNotFound):
        api.save_asset("course-v1:LcX+Nothing+2026", "a.png", PNG)
    with pytest.raises(api.CourseNotFound):
        api.list_assets("course-v1:LcX+Nothing+2026")
    with pytest.raises(api.InvalidContentType):
        api.save_asset(DEMO_KEY, "a.png", PNG, "image/png; charset=binary")
    with pytest.raises(api.AssetError, match="must be bytes"):
        api.save_asset(DEMO_KEY, "a.txt", "text, not bytes")
    with pytest.raises(api.AssetTooLarge, match="50,000,000"):
        api.save_asset(DEMO_KEY, "huge.bin", bytes(50_000_001))
    assert row_counts() == before


def test_content_types_are_guessed_as_edx_platform_does():
    assert guess_content_type("x.PNG") == "image/png"
    assert guess_content_type("captions.srt") == "application/octet-stream"
    assert guess_content_type("captions.vtt") == "text/vtt"
    assert guess_content_type("course.tar.gz") == "application/gzip"
    assert guess_content_type("no-extension") == "application/octet-stream"
    assert asset_name("images/Why use CSS (1).png") == "images_Why_use_CSS__1_.png"


# ---- import


def test_import_stores_every_static_file_with_its_policy(assets_course):
    assert assets_course.static_files.files == 4
    assert assets_course.static_files.created == 4
    stored = {asset.path: asset for asset in api.list_assets(ASSETS_KEY)}
    assert set(stored) == FIXTURE_FILES
    for path, asset in stored.items():
        assert asset.read() == (ASSETS_COURSE / "static" / path).read_bytes()
    assert stored["Lecture notes.txt"].locked  # policies/assets.json locks it
    assert (stored["Lecture notes.txt"].content_type, stored["guide.html"].content_type) == ("text/plain", "text/html")
    assert stored["python_lib.zip"].content_type == "application/zip"
    assert assets_course.as_dict()["static_files"]["files"] == 4


def test_reimporting_unchanged_files_makes_no_version_and_one_changed_file_exactly_one(assets_course, tmp_path):
    course = copy_course(tmp_path)
    before = versions()
    again = api.import_olx(course)
    assert (again.static_files.unchanged, again.static_files.created, again.static_files.updated) == (4, 0, 0)
    assert versions() == before and again.published.entities_published == 0

    (course / "static" / "guide.html").write_text("<p>A new guide</p>")
    changed = api.import_olx(course)
    assert (changed.static_files.updated, changed.static_files.unchanged) == (1, 3)
    assert versions() == before + 1
    assert api.find_asset(ASSETS_KEY, "guide.html").read() == b"<p>A new guide</p>"


def test_a_file_gone_from_the_export_leaves_the_draft_and_ignored_files_are_skipped(assets_course, tmp_path):
    course = copy_course(tmp_path)
    (course / "static" / "guide.html").unlink()
    (course / "static" / ".DS_Store").write_bytes(b"\x00\x00")
    (course / "static" / "images" / "._orbit.png").write_bytes(b"\x00")
    result = api.import_olx(course)
    assert (result.static_files.deleted, result.static_files.skipped, result.static_files.files) == (1, 2, 3)
    assert {asset.path for asset in api.list_assets(ASSETS_KEY)} == FIXTURE_FILES - {"guide.html"}


def test_import_reports_progress_for_each_static_file(db):
    seen: list[str] = []
    api.import_olx(ASSETS_COURSE, progress=seen.append)
    assert seen.count("static") == 4


def test_a_link_leading_outside_the_export_is_reported_and_not_imported(db, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not course content")
    course = copy_course(tmp_path)
    os.symlink(secret, course / "static" / "leak.txt")
    result = api.import_olx(course)
    assert [(problem.file, problem.message) for problem in result.problems] == [
        ("static/leak.txt", "static file is a link that leads outside the export: not imported")
    ]
    assert api.find_asset(ASSETS_KEY, "leak.txt") is None


def test_a_link_to_a_folder_is_not_followed_even_when_it_loops(db, tmp_path):
    course = copy_course(tmp_path)
    os.symlink(course / "static", course / "static" / "images" / "loop")
    result = api.import_olx(course)
    assert [(problem.file, problem.message) for problem in result.problems] == [
        ("static/images/loop", "static folder is a link: not followed, its files are not imported")
    ]
    assert {asset.path for asset in api.list_assets(ASSETS_KEY)} == FIXTURE_FILES


def test_the_import_is_one_transaction_static_files_included(db, tmp_path):
    course = copy_course(tmp_path)
    (tmp_path / "secret.txt").write_text("x")
    os.symlink(tmp_path / "secret.txt", course / "static" / "leak.txt")
    before = row_counts()
    with pytest.raises(api.StrictImportError, match="static/leak.txt"):
        api.import_olx(course, strict=True)  # the problem is found after the files before it were stored
    assert row_counts() == before


def test_a_malformed_asset_policy_refuses_the_import(db, tmp_path):
    course = copy_course(tmp_path)
    (course / "policies" / "assets.json").write_text('{"guide.html": ')
    before = row_counts()
    with pytest.raises(api.OlxError, match="policies/assets.json"):
        api.import_olx(course)
    assert row_counts() == before


def test_an_unknown_policy_content_type_falls_back_to_the_guess(db, tmp_path):
    course = copy_course(tmp_path)
    policy = json.loads((course / "policies" / "assets.json").read_text())
    policy["guide.html"]["contentType"] = "text/html; charset=utf-8"
    (course / "policies" / "assets.json").write_text(json.dumps(policy))
    api.import_olx(course)
    assert api.find_asset(ASSETS_KEY, "guide.html").content_type == "text/html"


# ---- serving


def test_a_published_file_is_served_with_its_headers_in_one_query(assets_course, django_assert_num_queries):
    client = Client()
    # The file's own query; the unit-of-work middleware's savepoint and its release.
    with django_assert_num_queries(3) as captured:
        response = client.get(BASE + "images/orbit.png")
    assert len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]) == 1
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    asset = api.find_asset(ASSETS_KEY, "images/orbit.png")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(PNG))
    assert response["ETag"] == f'"{asset.hash_digest}"'
    assert response["Last-Modified"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "public, max-age=300"
    assert 'filename="orbit.png"' in response["Content-Disposition"]

    cached = client.get(BASE + "images/orbit.png", HTTP_IF_NONE_MATCH=response["ETag"])
    assert cached.status_code == 304 and cached["ETag"] == response["ETag"]


def test_file_names_with_spaces_and_edx_spellings_are_served(assets_course):
    client = Client()
    for spelling in ("guide.html", "Lecture%20notes.txt", "Lecture_notes.txt"):
        response = client.get(BASE + spelling)
        if spelling.startswith("Lecture"):
            assert response.status_code == 403  # locked: logged-in users only
        else:
            assert response.status_code == 200 and response["Content-Type"] == "text/html"


@pytest.mark.parametrize(
    "url",
    [
        BASE + "nothing-here.png",
        BASE + "images/../../../settings.py",
        BASE + "images/%2e%2e/%2e%2e/secret",
        BASE + "images%5Corbit.png",
        "/lc-runtime/assets/course-v1:LcX+Nothing+2026/images/orbit.png",
        "/lc-runtime/assets/not-a-key/images/orbit.png",
    ],
)
def test_missing_files_unknown_courses_and_hostile_paths_are_404(assets_course, url):
    assert Client().get(url).status_code == 404


def test_drafts_are_served_to_staff_only_and_never_at_the_published_url(assets_course, learner, staff):
    api.save_asset(ASSETS_KEY, "draft-only.txt", b"not yet")
    anonymous, as_learner, as_staff = Client(), Client(), Client()
    as_learner.force_login(learner)
    as_staff.force_login(staff)
    for client in (anonymous, as_learner, as_staff):
        assert client.get(BASE + "draft-only.txt").status_code == 404
    assert anonymous.get(DRAFT_BASE + "draft-only.txt").status_code == 403
    assert as_learner.get(DRAFT_BASE + "draft-only.txt").status_code == 403
    response = as_staff.get(DRAFT_BASE + "draft-only.txt")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"not yet"
    assert response["Cache-Control"] == "private, no-cache"


def test_locked_files_go_to_logged_in_users_only(assets_course, learner):
    assert Client().get(BASE + "Lecture%20notes.txt").status_code == 403
    client = Client()
    client.force_login(learner)
    response = client.get(BASE + "Lecture%20notes.txt")
    assert response.status_code == 200 and response["Content-Type"] == "text/plain"
    assert response["Cache-Control"].startswith("private")


def test_relative_links_between_static_files_resolve(assets_course):
    guide = Client().get(BASE + "guide.html")
    relative = re.search(r'src="([^"]+)"', b"".join(guide.streaming_content).decode())[1]
    response = Client().get(BASE + relative)  # guide.html's folder is the course's static folder
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


# ---- rendering: /static/, /jump_to_id/ and /course/ links


def _links(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", unescape(html))


def test_html_and_problem_links_are_rewritten_and_resolve(assets_course, learner):
    runtime = api.get_runtime(learner, course_key=ASSETS_KEY)
    html = runtime.render(runtime.get_block(usage(ASSETS_KEY, "vertical", "files-unit")), "student_view").content
    links = _links(html)
    assert "/static/" not in " ".join(link for link in links if not link.startswith(BASE))
    assert f"{BASE}images/orbit.png" in links
    assert f"{BASE}Lecture notes.txt" in links and f"{BASE}guide.html" in links
    assert f"/lc-runtime/jump_to_id/{ASSETS_KEY}/computed-answer" in links  # from the html block
    assert f"/lc-runtime/jump_to_id/{ASSETS_KEY}/orbit-page" in links  # from the problem
    assert f"/courses/{ASSETS_KEY}/progress" in links
    problem_html = runtime.render(runtime.get_block(usage(ASSETS_KEY, "problem", "orbit-question")), "student_view")
    assert f"{BASE}images/orbit.png" in _links(unescape(problem_html.content))  # capa's own HTML, rewritten

    client = Client()
    client.force_login(learner)
    assert client.get(f"{BASE}images/orbit.png").status_code == 200
    assert client.get(f"{BASE}Lecture notes.txt").status_code == 200
    assert client.get(f"{BASE}images/missing-platform-logo.png").status_code == 404  # no such file anywhere
    jumped = client.get(f"/lc-runtime/jump_to_id/{ASSETS_KEY}/orbit-page")
    assert jumped.status_code == 200
    assert f'data-usage="{usage(ASSETS_KEY, "vertical", "files-unit")}"' in jumped.content.decode()
    jumped = client.get(f"/lc-runtime/jump_to_id/{ASSETS_KEY}/files-sequence")  # a container: its first unit
    assert f'data-usage="{usage(ASSETS_KEY, "vertical", "files-unit")}"' in jumped.content.decode()
    jumped = client.get(f"/lc-runtime/jump_to_id/{ASSETS_KEY}/script-unit")  # a unit: itself
    assert f'data-usage="{usage(ASSETS_KEY, "vertical", "script-unit")}"' in jumped.content.decode()
    assert client.get(f"/lc-runtime/jump_to_id/{ASSETS_KEY}/no-such-block").status_code == 404


def test_a_draft_runtime_links_to_draft_files(assets_course, staff):
    api.save_asset(ASSETS_KEY, "images/orbit.png", PNG + b"\x00")  # a newer draft
    runtime = api.get_runtime(staff, course_key=ASSETS_KEY, mode="draft")
    html = runtime.render(runtime.get_block(usage(ASSETS_KEY, "html", "orbit-page")), "student_view").content
    assert f"{DRAFT_BASE}images/orbit.png" in _links(html)
    client = Client()
    client.force_login(staff)
    assert b"".join(client.get(f"{DRAFT_BASE}images/orbit.png").streaming_content) == PNG + b"\x00"


def test_editors_keep_portable_links_so_saving_never_stores_served_urls(assets_course, staff):
    # xblocks-contrib's html block has no editor of its own yet: wrap an editor's fragment as the runtime does.
    runtime = api.get_runtime(staff, course_key=ASSETS_KEY, mode="draft")
    block = runtime.get_block(usage(ASSETS_KEY, "html", "orbit-page"))
    editor = Fragment('<textarea>&lt;img src="/static/images/orbit.png"&gt;</textarea><a href="/static/x.png">x</a>')
    assert runtime.wrap_xblock(block, "studio_view", editor, None).content.count('"/static/') == 2
    preview = runtime.wrap_xblock(block, "author_view", editor, None).content
    assert f'href="{DRAFT_BASE}x.png"' in preview


def test_replace_urls_follows_edx_platforms_rules(settings):
    key = ASSETS_KEY
    text = (
        '<img src="/static/a.png"> <a href=\'/static/b c.pdf\'>b</a> {\\"url\\": \\"/static/d.js\\"} '
        'url(/static/unquoted.png) <a href="/jump_to_id/abc">j</a> <a href="/course/info">i</a> "/static/"'
    )
    rewritten = replace_urls(text, key)
    assert f'src="{BASE}a.png"' in rewritten
    assert f"href='{BASE}b c.pdf'" in rewritten
    assert f'\\"{BASE}d.js\\"' in rewritten  # inside JSON in HTML, as edx-platform does
    assert "url(/static/unquoted.png)" in rewritten  # unquoted: left alone, as edx-platform does
    assert f'href="/lc-runtime/jump_to_id/{key}/abc"' in rewritten
    assert f'href="/courses/{key}/info"' in rewritten
    assert replace_urls(rewritten, key) == rewritten  # rewriting twice is rewriting once
    assert f'"{BASE}"' in rewritten  # the folder itself: scripts append file names to it

    static_only = replace_urls(text, key, static_only=True)
    assert 'href="/jump_to_id/abc"' in static_only and f'src="{BASE}a.png"' in static_only

    # JSON that a Django template escaped into an attribute (the video block's HTML5 sources): rewritten too.
    escaped = (
        'data-metadata="{&quot;sources&quot;: [&quot;/static/clip.webm&quot;], &quot;x&quot;: &#34;/static/e&#34;}"'
    )
    assert replace_urls(escaped, key) == (
        f'data-metadata="{{&quot;sources&quot;: [&quot;{BASE}clip.webm&quot;], &quot;x&quot;: &#34;{BASE}e&#34;}}"'
    )

    settings.LC_RUNTIME = {**settings.LC_RUNTIME, "JUMP_TO_ID_BASE_URL": "https://lms.example.com/courses/{course_key}/jump_to_id/"}
    assert f'href="https://lms.example.com/courses/{key}/jump_to_id/abc"' in replace_urls(text, key)

    service = ReplaceURLService(None, key)
    assert service.replace_urls('"/static/a.png"') == f'"{BASE}a.png"'
    with pytest.raises(TypeError):
        service.replace_urls(["a list", "of answers"])


def test_host_static_files_win_over_course_files_as_in_edx_platform(settings, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "logo.png").write_bytes(PNG)
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django.contrib.staticfiles"]
    settings.STATIC_ROOT = str(tmp_path)
    settings.STATIC_URL = "/lms-static/"
    rewritten = replace_urls('<img src="/static/images/logo.png"><img src="/static/images/course.png">', ASSETS_KEY)
    assert rewritten == f'<img src="/lms-static/images/logo.png"><img src="{BASE}images/course.png">'


# ---- the shared courses


# /static/ links whose file the export does not hold: edx-platform's own images, files never uploaded.
LINKED_BUT_NOT_IN_THE_EXPORT = {
    "harvardx-studio-advanced": [
        "DemoX-D01_1.srt", "DemoX-D01_1_uk.srt", "edx_demo_course.tar.gz", "filename.srt",
        "images/placeholder-faculty.png",
    ],
    "openedx-test-course": [],
    "oxa-kitchen-sink": ["images/placeholder-faculty.png", "images/placeholder-image.png"],
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(LINKED_BUT_NOT_IN_THE_EXPORT))
def test_every_static_file_of_the_shared_courses_is_imported(name):
    folder = shared_olx(name)
    result = api.import_olx(folder)
    on_disk = {
        str(path.relative_to(folder / "static")): path
        for path in (folder / "static").rglob("*")
        if path.is_file() and not path.name.startswith("._") and path.name != ".DS_Store"
    }
    stored = {asset.path: asset for asset in api.list_assets(result.course_key)}
    assert set(stored) == set(on_disk)
    assert result.static_files.files == len(on_disk) and result.static_files.skipped == 0
    for path, asset in stored.items():
        assert asset.read() == on_disk[path].read_bytes(), path
    policy = json.loads((folder / "policies" / "assets.json").read_text())
    for asset in stored.values():
        if asset.name in policy:
            assert asset.content_type == policy[asset.name]["contentType"], asset.path
    # Every /static/ link of the course's content finds its file, but those the export itself lacks.
    referenced = {
        unescape(ref)
        for olx in [*folder.rglob("*.xml"), *folder.rglob("*.html")]
        if "static" not in olx.relative_to(folder).parts
        for ref in re.findall(r"""["']/static/([^"'?#\\&]+)""", olx.read_text(errors="replace"))
    }
    missing = sorted(ref for ref in referenced if api.find_asset(result.course_key, ref) is None)
    print(f"\n{name}: {len(stored)} files, {len(referenced)} referenced, not in the export: {missing}")
    assert missing == LINKED_BUT_NOT_IN_THE_EXPORT[name]

    # Rendered for a learner, html and problem blocks keep no portable link, and their file links work.
    learner = get_user_model().objects.create_user(username=f"learner-{name}")
    runtime = api.get_runtime(learner, course_key=result.course_key)
    # Pool members outside the learner's Variants render through a system runtime (no user), which reaches them.
    system = api.get_runtime(None, course_key=result.course_key)
    base = f"/lc-runtime/assets/{result.course_key}/"
    served: set[str] = set()
    for ref in runtime.tree.blocks:
        if ref[0] in ("html", "problem"):
            try:
                block = runtime.get_block(runtime.usage_key_of(ref))
            except NoSuchUsage:
                block = system.get_block(runtime.usage_key_of(ref))
            html = block.runtime.render(block, "student_view").content
            text = unescape(html) if ref[0] == "problem" else html  # capa's HTML sits escaped in an attribute
            assert not re.search(r"""\\?["'](/static/|/jump_to_id/|/course/)""", text), ref
            served |= {unquote(url) for url in re.findall(re.escape(base) + r"""([^"'\\?#]+)""", unescape(html))}
    client = Client()
    not_served = sorted(path for path in served if client.get(base + quote(path)).status_code != 200)
    print(f"{name}: {len(served)} file links rendered, not served: {not_served}")
    assert not_served == sorted(served & set(LINKED_BUT_NOT_IN_THE_EXPORT[name]))


# ---- byte ranges, who reads locked files, storages with URLs of their own


def test_a_single_byte_range_is_answered_with_206(assets_course):
    client = Client()
    asset = api.find_asset(ASSETS_KEY, "images/orbit.png")
    middle = client.get(BASE + "images/orbit.png", HTTP_RANGE="bytes=10-19")
    assert middle.status_code == 206 and b"".join(middle.streaming_content) == PNG[10:20]
    assert middle["Content-Range"] == f"bytes 10-19/{len(PNG)}" and middle["Accept-Ranges"] == "bytes"
    assert b"".join(client.get(BASE + "images/orbit.png", HTTP_RANGE="bytes=-5").streaming_content) == PNG[-5:]
    assert b"".join(client.get(BASE + "images/orbit.png", HTTP_RANGE="bytes=60-").streaming_content) == PNG[60:]
    outside = client.get(BASE + "images/orbit.png", HTTP_RANGE=f"bytes={len(PNG)}-")
    assert outside.status_code == 416 and outside["Content-Range"] == f"bytes */{len(PNG)}"
    # Several ranges, or an If-Range for another version: the whole file.
    for headers in ({"HTTP_RANGE": "bytes=0-1,5-6"},
                    {"HTTP_RANGE": "bytes=0-1", "HTTP_IF_RANGE": '"another-version"'}):
        whole = client.get(BASE + "images/orbit.png", **headers)
        assert whole.status_code == 200 and b"".join(whole.streaming_content) == PNG
    assert client.get(BASE + "images/orbit.png", HTTP_RANGE="bytes=0-3",
                      HTTP_IF_RANGE=f'"{asset.hash_digest}"').status_code == 206


def test_locked_files_go_to_staff_and_to_enrolled_learners(assets_course, learner, make_user, settings):
    settings.LC_RUNTIME = {**getattr(settings, "LC_RUNTIME", {}), "ENROLLMENT": "tests.storages:only_ada_is_enrolled"}
    not_enrolled, course_staff = make_user("bob"), make_user("cleo")
    api.grant_role(ASSETS_KEY, course_staff, "staff")
    for user, status in ((learner, 200), (not_enrolled, 403), (course_staff, 200)):
        client = Client()
        client.force_login(user)
        assert client.get(BASE + "Lecture%20notes.txt").status_code == status, user.username


def test_a_storage_with_its_own_urls_serves_published_unlocked_files(assets_course, learner, settings):
    from openedx_content.applets.media.models import get_storage

    media = settings.OPENEDX_LEARNING["MEDIA"]
    settings.OPENEDX_LEARNING = {"MEDIA": {**media, "BACKEND": "tests.storages.StorageWithOwnUrls"}}
    get_storage.cache_clear()
    try:
        response = Client().get(BASE + "images/orbit.png")
        assert response.status_code == 302
        assert response["Location"].startswith("https://files.example.org/content/")
        assert Client().get(BASE + "Lecture%20notes.txt").status_code == 403  # locked: checked first
        client = Client()
        client.force_login(learner)
        locked = client.get(BASE + "Lecture%20notes.txt")  # locked: streamed after the check, never redirected
        assert locked.status_code == 200 and b"".join(locked.streaming_content)
    finally:
        get_storage.cache_clear()
