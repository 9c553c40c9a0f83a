"""
The video block (xblocks-contrib) on lc-runtime: its HTML5 sources point at the course's static files, and its
transcripts are served from them through its own handlers, in the format the player asks for
(``lc_runtime.runtime.video_config``). Over HTTP, as the player's script calls them.
"""

from __future__ import annotations

import html
import json

import pytest
from django.test import Client

from lc_runtime import api
from lc_runtime.runtime.video_config import sjson_to_srt, sjson_to_text, srt_to_sjson
from tests.conftest import ROOT, usage

VIDEO_COURSE = ROOT / "tests" / "fixtures" / "video-course"
KEY = "course-v1:LcX+Video+2026"
VIDEO = usage(KEY, "video", "colours")


@pytest.fixture
def ada(db, make_user):
    result = api.import_olx(VIDEO_COURSE, strict=True)
    assert result.problems == []
    return make_user("ada")


def call(user, handler: str, suffix: str, query: str = ""):
    runtime = api.get_runtime(user, course_key=KEY)
    client = Client()
    client.force_login(user)
    return client.get(runtime.handler_url(runtime.get_block(VIDEO), handler, suffix) + query)


def test_the_players_sources_are_the_courses_static_files(ada):
    runtime = api.get_runtime(ada, course_key=KEY)
    content = runtime.render(runtime.get_block(VIDEO), "student_view").content
    metadata = json.loads(html.unescape(content.split('data-metadata="', 1)[1].split('"', 1)[0]))
    assert metadata["sources"] == [f"/lc-runtime/assets/{KEY}/clip.webm"]


def test_the_english_transcript_is_served_as_the_players_sjson(ada):
    response = call(ada, "transcript", "translation/en")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {
        "start": [0, 1200], "end": [1200, 2600], "text": ["Red, then orange.", "Yellow and green,\nthen blue."],
    }


def test_a_translation_with_a_byte_order_mark_and_crlf_lines_reads_as_well(ada):
    response = call(ada, "transcript", "translation/fr")
    assert response.status_code == 200
    assert json.loads(response.content)["text"] == ["Rouge, puis orange.", "Jaune et vert, puis bleu."]


def test_the_available_translations_are_the_files_the_course_holds(ada):
    response = call(ada, "transcript", "available_translations")
    assert response.status_code == 200 and sorted(json.loads(response.content)) == ["en", "fr"]


def test_the_learner_downloads_the_transcript_as_srt(ada):
    response = call(ada, "transcript", "download", "?lang=en")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/x-subrip")
    assert response.content.decode() == (
        "1\n00:00:00,000 --> 00:00:01,200\nRed, then orange.\n\n"
        "2\n00:00:01,200 --> 00:00:02,600\nYellow and green,\nthen blue.\n"
    )


@pytest.mark.parametrize("suffix", ["translation/de", "translation/"])
def test_a_language_with_no_transcript_is_not_found_or_refused(ada, suffix):
    assert call(ada, "transcript", suffix).status_code in (400, 404)


def test_a_hostile_video_id_reads_no_file_outside_the_course(ada):
    response = call(ada, "transcript", "translation/en", "?videoId=../../../etc/passwd")
    # The block's own file wins; the name from the request is never a path out of the course's static files.
    assert response.status_code == 200 and json.loads(response.content)["text"][0] == "Red, then orange."


def test_a_transcript_name_that_cannot_be_a_static_file_is_no_transcript(ada):
    runtime = api.get_runtime(ada, course_key=KEY)
    block = runtime.get_block(VIDEO)
    service = runtime.service(block, "video_config")
    hostile = {"sub": "../../../etc/passwd", "transcripts": {"de": "/etc/passwd", "es": "a\\..\\b.srt"}}
    assert service.available_translations(block, hostile) == []


def test_srt_and_sjson_convert_both_ways():
    srt = "1\n00:00:01,5 --> 01:00:02,250\nOne\n\nnot a cue\n\n2\n00:00:03,000 --> 00:00:04,000\nTwo\n  lines\n"
    sjson = srt_to_sjson(srt)
    assert sjson == {"start": [1500, 3000], "end": [3602250, 4000], "text": ["One", "Two\nlines"]}
    assert srt_to_sjson(sjson_to_srt(sjson)) == sjson
    assert sjson_to_text(sjson) == "One\nTwo lines"
    assert srt_to_sjson("") == {"start": [], "end": [], "text": []}
