"""
The contentstore-shaped door (lc_runtime.contentstore): a real course's files listed, found, saved,
locked and deleted through edx-platform's calls, with ``asset-v1:`` keys; ``/asset-v1:`` links in
content resolve; thumbnails of images.
"""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client
from opaque_keys.edx.keys import AssetKey, CourseKey
from PIL import Image

from lc_runtime import api
from lc_runtime.contentstore import LearningCoreContentStore, NotFoundError, StaticContent
from tests.conftest import ROOT

pytestmark = pytest.mark.django_db

ASSETS_COURSE = ROOT / "tests" / "fixtures" / "assets-course"
ASSETS_KEY = "course-v1:LcX+Assets+2026"
COURSE = CourseKey.from_string(ASSETS_KEY)
PNG = (ASSETS_COURSE / "static" / "images" / "orbit.png").read_bytes()


@pytest.fixture
def store(db) -> LearningCoreContentStore:
    api.import_olx(ASSETS_COURSE, strict=True)
    return LearningCoreContentStore()


def key(name: str, kind: str = "asset") -> AssetKey:
    return COURSE.make_asset_key(kind, name)


def test_files_are_listed_sorted_filtered_and_paged(store):
    rows, total = store.get_all_content_for_course(COURSE)
    assert total == 4
    assert [row["displayname"] for row in rows] == ["Lecture_notes.txt", "guide.html", "images_orbit.png",
                                                    "python_lib.zip"]
    orbit = rows[2]
    assert orbit["asset_key"] == key("images_orbit.png") and orbit["import_path"] == "images/orbit.png"
    assert orbit["contentType"] == "image/png" and orbit["length"] == len(PNG)
    assert orbit["thumbnail_location"][4] == "images_orbit-png.jpg"  # where Studio reads the thumbnail's name
    assert rows[0]["locked"] and not orbit["locked"]

    by_size, _ = store.get_all_content_for_course(COURSE, sort=[("length", -1)])
    assert [row["length"] for row in by_size] == sorted((row["length"] for row in rows), reverse=True)
    page, total = store.get_all_content_for_course(COURSE, start=1, maxresults=2, sort=("displayname", -1))
    assert total == 4 and [row["displayname"] for row in page] == ["images_orbit.png", "guide.html"]
    images, total = store.get_all_content_for_course(COURSE, filter_params={"contentType": re.compile("^image/")})
    assert total == 1 and images[0]["displayname"] == "images_orbit.png"
    others, _ = store.get_all_content_for_course(COURSE, filter_params={"contentType": {"$nin": ["image/png"]}})
    assert len(others) == 3
    either = {"$or": [{"contentType": "image/png"}, {"displayname": re.compile("^guide")}]}  # Studio's type filter
    assert [row["displayname"] for row in store.get_all_content_for_course(COURSE, filter_params=either)[0]] == [
        "guide.html", "images_orbit.png"]
    with pytest.raises(ValueError, match="cannot sort"):
        store.get_all_content_for_course(COURSE, sort=[("size", 1)])


def test_find_save_lock_and_delete(store):
    found = store.find(key("images_orbit.png"))
    assert isinstance(found, StaticContent) and found.data == PNG and found.content_type == "image/png"
    assert found.location == StaticContent.compute_location(COURSE, "images/orbit.png")
    assert b"".join(store.find(key("images_orbit.png"), as_stream=True).stream_data()) == PNG
    with pytest.raises(NotFoundError):
        store.find(key("nothing.png"))
    assert store.find(key("nothing.png"), throw_on_not_found=False) is None
    with pytest.raises(NotFoundError):
        store.find("not-an-asset-key")

    saved = store.save(StaticContent(key("notes.md"), "notes.md", "text/markdown", b"# Notes"))
    assert saved.data == b"# Notes"
    assert api.find_asset(COURSE, "notes.md").read() == b"# Notes"  # published at once, as edx-platform's are
    store.save(StaticContent(key("images_orbit.png"), "images_orbit.png", "image/png", PNG + b"more"))
    replaced = api.find_asset(COURSE, "images/orbit.png")  # same name: the same file, its path kept
    assert replaced.size == len(PNG) + 4 and replaced.version_num == 2

    assert store.get_attr(key("notes.md"), "locked") is False
    store.set_attr(key("notes.md"), "locked", True)
    assert store.get_attr(key("notes.md"), "locked") is True and api.find_asset(COURSE, "notes.md").locked
    assert Client().get(api.asset_url(COURSE, "notes.md")).status_code == 403
    with pytest.raises(NotImplementedError, match="displayname"):
        store.set_attrs(key("notes.md"), {"displayname": "x"})

    store.delete(key("notes.md"))
    assert store.find(key("notes.md"), throw_on_not_found=False) is None
    store.delete(key("notes.md"))  # already gone: no error
    with pytest.raises(NotImplementedError, match="copy_all_course_assets"):
        store.copy_all_course_assets(COURSE, CourseKey.from_string("course-v1:LcX+Assets+2027"))


def test_thumbnails_of_images(store):
    content = store.find(key("images_orbit.png"))
    thumbnail, location = store.generate_thumbnail(content)
    assert location == key("images_orbit-png.jpg", "thumbnail") and thumbnail.content_type == "image/jpeg"
    with Image.open(io.BytesIO(thumbnail.data)) as image:
        assert image.format == "JPEG" and max(image.size) <= 128
    assert store.find(location).data == thumbnail.data
    assert store.generate_thumbnail(store.find(key("guide.html"))) == (None, None)
    served = Client().get(f"/lc-runtime/assets/thumbnail/{ASSETS_KEY}/images_orbit-png.jpg")
    assert served.status_code == 200 and served.content == thumbnail.data
    assert Client().get(f"/lc-runtime/assets/thumbnail/{ASSETS_KEY}/guide-html.jpg").status_code == 404


def test_asset_v1_links_in_content_resolve(store, make_user):
    unit = "block-v1:LcX+Assets+2026+type@vertical+block@files-unit"
    html = ('<p><img src="/asset-v1:LcX+Assets+2026+type@asset+block@images_orbit.png"/>'
            '<img src="/asset-v1:LcX+Assets+2026+type@thumbnail+block@images_orbit-png.jpg"/>'
            '<img src="/asset-v1:Other+Course+2020+type@asset+block@theirs.png"/></p>')
    api.create_block(None, unit, "html", block_id="studio-links", olx=f"<html><![CDATA[{html}]]></html>")
    api.publish(ASSETS_KEY)
    runtime = api.get_runtime(make_user("ada"), course_key=ASSETS_KEY)
    rendered = runtime.render(runtime.get_block("block-v1:LcX+Assets+2026+type@html+block@studio-links"),
                              "student_view").content
    links = re.findall(r'src="([^"]+)"', rendered)
    assert links == [f"/lc-runtime/assets/{ASSETS_KEY}/images_orbit.png",
                     f"/lc-runtime/assets/thumbnail/{ASSETS_KEY}/images_orbit-png.jpg",
                     "/asset-v1:Other+Course+2020+type@asset+block@theirs.png"]  # another course's: the host's
    image = Client().get(links[0])
    assert image.status_code == 200 and b"".join(image.streaming_content) == PNG
    assert Client().get(links[1]).status_code == 200


def test_asset_v1_paths_are_served_for_learning_core_courses_and_passed_on_for_others(store, rf):
    from lc_runtime.web.middleware import AssetKeyMiddleware

    passed_on = []
    middleware = AssetKeyMiddleware(lambda request: passed_on.append(request.path) or "the platform's answer")
    served = middleware(rf.get("/asset-v1:LcX+Assets+2026+type@asset+block@images_orbit.png",
                               HTTP_RANGE="bytes=0-7"))
    assert served.status_code == 206 and b"".join(served.streaming_content) == PNG[:8]
    thumbnail = middleware(rf.get("/asset-v1:LcX+Assets+2026+type@thumbnail+block@images_orbit-png.jpg"))
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    for path in ("/asset-v1:Old+Mongo+2020+type@asset+block@x.png", "/asset-v1:garbage", "/courses/x"):
        assert middleware(rf.get(path)) == "the platform's answer"
    assert passed_on == ["/asset-v1:Old+Mongo+2020+type@asset+block@x.png", "/asset-v1:garbage", "/courses/x"]


def test_a_real_course_s_files_through_the_door(db):
    from tests.conftest import shared_olx

    export = shared_olx("harvardx-studio-advanced")
    result = api.import_olx(export)
    store = LearningCoreContentStore()
    course = CourseKey.from_string(result.course_key)
    rows, total = store.get_all_content_for_course(course, maxresults=10)
    on_disk = [path for path in (export / "static").rglob("*") if path.is_file()]
    assert total == len(on_disk) and len(rows) == 10
    bullet = store.find(course.make_asset_key("asset", "purplebullet.png"))
    assert bullet.data == (export / "static" / "purplebullet.png").read_bytes()
    # Studio's thumbnail name for it, as the course's own CSS links it.
    thumbnail = store.find(course.make_asset_key("thumbnail", "purplebullet-png.jpg"))
    assert thumbnail.content_type == "image/jpeg"
    ranged = Client().get(api.asset_url(course, "purplebullet.png"), HTTP_RANGE="bytes=4-11")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == bullet.data[4:12]
    # Saved again with other bytes, locked, deleted: each live at once.
    store.save(StaticContent(bullet.location, bullet.name, "image/png", bullet.data + b"!"))
    assert store.find(bullet.location).length == len(bullet.data) + 1
    store.set_attr(bullet.location, "locked", True)
    assert Client().get(api.asset_url(course, "purplebullet.png")).status_code == 403
    store.delete(bullet.location)
    assert store.get_all_content_for_course(course)[1] == len(on_disk) - 1
