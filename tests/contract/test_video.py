"""
The video block (xblocks-contrib) on lc-runtime: its HTML5 sources point at the course's static files, and its
transcripts are served from them through its own handlers, in the format the player asks for
(``lc_runtime.runtime.video_config``). Over HTTP, as the player's script calls them.
"""

from __future__ import annotations

import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lc_runtime import api
from lc_runtime.runtime.video_config import sjson_to_srt, sjson_to_text, srt_to_sjson
from tests.conftest import VIDEO_COURSE, usage
from tests.conftest import VIDEO_KEY as KEY

VIDEO = usage(KEY, "video", "colours")
BY_SUB = usage(KEY, "video", "by-sub")
SILENT = usage(KEY, "video", "silent")


@pytest.fixture
def ada(db, make_user):
    result = api.import_olx(VIDEO_COURSE, strict=True)
    assert result.problems == []
    return make_user("ada")


def call(user, handler: str, suffix: str, query: str = "", *, video: str = VIDEO):
    runtime = api.get_runtime(user, course_key=KEY)
    client = Client()
    client.force_login(user)
    return client.get(runtime.handler_url(runtime.get_block(video), handler, suffix) + query)


def studio_post(author, suffix: str, data: dict, *, video: str = VIDEO):
    runtime = api.get_runtime(author, course_key=KEY, mode="draft")
    client = Client()
    client.force_login(author)
    return client.post(runtime.handler_url(runtime.get_block(video), "studio_transcript", suffix), data=data)


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


def test_an_english_transcript_is_found_by_the_blocks_sub(ada):
    response = call(ada, "transcript", "translation/en", video=BY_SUB)
    assert response.status_code == 200 and json.loads(response.content)["text"] == ["Colours, by the block's sub."]


def test_a_hostile_video_id_is_no_path_out_of_the_courses_static_files(ada):
    # The player's videoId names a candidate file; one that cannot be a static file is passed over.
    response = call(ada, "transcript", "translation/en", "?videoId=../../../etc/passwd", video=BY_SUB)
    assert response.status_code == 200 and json.loads(response.content)["text"] == ["Colours, by the block's sub."]
    assert call(ada, "transcript", "translation/en", "?videoId=/etc/passwd", video=SILENT).status_code == 404


def test_a_video_with_no_transcript_has_none_to_give(ada):
    assert call(ada, "transcript", "translation/en", video=SILENT).status_code == 404
    assert call(ada, "transcript", "download", "?lang=en", video=SILENT).status_code == 404
    available = call(ada, "transcript", "available_translations", video=SILENT)
    assert available.status_code == 404 or json.loads(available.content) == []


def test_an_author_uploads_a_transcript_which_learners_get_once_published(ada, make_user):
    sam = make_user("sam", is_staff=True)
    srt = SimpleUploadedFile("de.srt", b"1\n00:00:00,000 --> 00:00:02,000\nRot, dann Orange.\n")
    response = studio_post(sam, "translation", {"edx_video_id": "", "language_code": "de",
                                                "new_language_code": "de", "file": srt})
    assert response.status_code == 201, response.content
    draft = api.get_runtime(sam, course_key=KEY, mode="draft").get_block(VIDEO)
    assert draft.transcripts["de"] == "colours-de.srt"
    assert call(ada, "transcript", "translation/de").status_code == 404  # learners see the published course
    api.publish(KEY)
    response = call(ada, "transcript", "translation/de")
    assert response.status_code == 200 and json.loads(response.content)["text"] == ["Rot, dann Orange."]


@pytest.mark.parametrize(("language", "content"), [
    ("de", b"not a transcript at all"),           # no cue
    ("de", b"\xff\xfe\x00 not utf-8"),             # not UTF-8
    ("../../x", b"1\n00:00:00,000 --> 00:00:02,000\nA\n"),  # not a language code
])
def test_a_bad_upload_is_refused_and_changes_nothing(ada, make_user, language, content):
    sam = make_user("sam", is_staff=True)
    response = studio_post(sam, "translation", {"edx_video_id": "", "language_code": language,
                                                "new_language_code": language,
                                                "file": SimpleUploadedFile("x.srt", content)})
    assert response.status_code == 400
    draft = api.get_runtime(sam, course_key=KEY, mode="draft").get_block(VIDEO)
    assert sorted(draft.transcripts) == ["en", "fr"]
    assert api.find_asset(KEY, "colours-de.srt", mode="draft") is None


def test_an_author_removes_a_transcript_from_the_block(ada, make_user):
    sam = make_user("sam", is_staff=True)
    runtime = api.get_runtime(sam, course_key=KEY, mode="draft")
    client = Client()
    client.force_login(sam)
    url = runtime.handler_url(runtime.get_block(VIDEO), "studio_transcript", "translation")
    response = client.delete(url, data=json.dumps({"lang": "fr", "edx_video_id": ""}), content_type="application/json")
    assert response.status_code == 200
    assert sorted(api.get_runtime(sam, course_key=KEY, mode="draft").get_block(VIDEO).transcripts) == ["en"]
    assert api.find_asset(KEY, "colours-fr.srt", mode="draft") is not None  # the file stays a static file


def test_learners_may_not_upload_transcripts(ada):
    runtime = api.get_runtime(ada, course_key=KEY)
    client = Client()
    client.force_login(ada)
    url = runtime.handler_url(runtime.get_block(VIDEO), "studio_transcript", "translation")
    srt = SimpleUploadedFile("de.srt", b"1\n00:00:00,000 --> 00:00:02,000\nA\n")
    response = client.post(url, data={"edx_video_id": "", "language_code": "de", "new_language_code": "de",
                                      "file": srt})
    assert response.status_code == 400  # a published runtime takes no uploads
    assert api.find_asset(KEY, "colours-de.srt", mode="draft") is None


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


def test_each_transcript_file_is_read_once_per_runtime(ada, django_assert_num_queries):
    """The player asks for the languages on each transcript request; a runtime reads each file once."""
    runtime = api.get_runtime(ada, course_key=KEY)
    block = runtime.get_block(VIDEO)
    service = runtime.service(block, "video_config")
    with django_assert_num_queries(2):  # colours-en.srt and colours-fr.srt: one query each
        assert service.available_translations(block, block.get_transcripts_info()) == ["en", "fr"]
    with django_assert_num_queries(0):
        assert service.available_translations(block, block.get_transcripts_info()) == ["en", "fr"]
        content, filename, mimetype = service.get_transcript(block, "fr", "txt")
    assert (filename, mimetype) == ("colours-fr.txt", "text/plain; charset=utf-8")
    assert content.decode() == "Rouge, puis orange.\nJaune et vert, puis bleu."
