"""
The ``video_config`` service: what the video block asks its host, answered from the course's own files.

edx-platform answers from edx-val (its video pipeline) and the modulestore's contentstore. Here there is no
video pipeline: a video plays from its own sources, and its transcripts are the course's static files, where
an OLX export keeps them: ``subs_<id>.srt.sjson`` for English (by the block's ``sub``, its YouTube id or its
HTML5 sources' names) and the files its ``transcripts`` field names per language (usually ``.srt``). A
transcript is served in the format the player asks for (SJSON, SRT or text), converted from whichever the
course holds.

The player's questions about platform features (HLS, YouTube deprecation or blocking, public sharing,
transcript feedback) are all answered "off". Studio's transcript upload stores a ``.srt`` among the course's
draft static files and names it in the block; removing one unnames it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lc_runtime.content.assets.api import AssetWriter, InvalidAssetPath, find_course_asset
from lc_runtime.content.courses.api import package_for_run

__all__ = ["VideoConfigService", "sjson_to_srt", "sjson_to_text", "srt_to_sjson"]

SJSON, SRT, TXT = "sjson", "srt", "txt"  # the names of the block's TranscriptExtensions, imported where used

_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
_SRT_TIMING = re.compile(
    r"(?P<h1>\d+):(?P<m1>\d\d):(?P<s1>\d\d)[,.](?P<ms1>\d{1,3})\s*-->\s*"
    r"(?P<h2>\d+):(?P<m2>\d\d):(?P<s2>\d\d)[,.](?P<ms2>\d{1,3})"
)


def _milliseconds(hours: str, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis.ljust(3, "0"))


def srt_to_sjson(srt: str) -> dict:
    """SubRip text as the player's SJSON: ``{"start": [ms, ...], "end": [ms, ...], "text": [...]}``."""
    cues: dict[str, list] = {"start": [], "end": [], "text": []}
    for chunk in re.split(r"\r?\n\s*\r?\n", srt.lstrip("\ufeff").strip()):
        lines = chunk.strip().splitlines()
        timing_at = next((i for i, line in enumerate(lines) if _SRT_TIMING.search(line)), None)
        if timing_at is None:
            continue  # not a cue (a stray line between cues)
        timing = _SRT_TIMING.search(lines[timing_at])
        cues["start"].append(_milliseconds(*timing.group("h1", "m1", "s1", "ms1")))
        cues["end"].append(_milliseconds(*timing.group("h2", "m2", "s2", "ms2")))
        cues["text"].append("\n".join(line.strip() for line in lines[timing_at + 1:]))
    return cues


def _srt_time(milliseconds: int) -> str:
    seconds, millis = divmod(int(milliseconds), 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d},{millis:03d}"


def sjson_to_srt(sjson: dict) -> str:
    """The player's SJSON as SubRip text, one numbered cue per entry."""
    cues = zip(sjson.get("start", []), sjson.get("end", []), sjson.get("text", []), strict=False)
    return "\n".join(
        f"{number}\n{_srt_time(start)} --> {_srt_time(end)}\n{text}\n"
        for number, (start, end, text) in enumerate(cues, start=1)
    )


def sjson_to_text(sjson: dict) -> str:
    """The transcript's words alone, one cue per line (the learner's "download as text")."""
    return "\n".join(" ".join(str(text).split()) for text in sjson.get("text", []))


@dataclass(frozen=True)
class _Transcript:
    filename: str
    sjson: dict


class VideoConfigService:
    """The video block's host questions, for one course run and mode (published or an author's draft)."""

    def __init__(self, course_key: str, mode: str = "published") -> None:
        self.course_key = course_key
        self.mode = mode
        self._files: dict[str, _Transcript | None] = {}  # each candidate file read once per runtime

    # Platform features that need edx-platform's configuration models or video pipeline: off.
    def is_hls_playback_enabled(self, course_id) -> bool:
        return False

    def is_youtube_deprecated(self, course_id) -> bool:
        return False

    def is_youtube_blocked_for_course(self, course_id) -> bool:
        return False

    def is_transcript_feedback_enabled(self, course_id) -> bool:
        return False

    def get_public_sharing_context(self, video_block, course_key) -> dict:
        return {}

    def get_public_video_url(self, video_block) -> str | None:
        return None

    def handle_editor_saved(self, video_block, user_id, old_metadata) -> None:
        """Nothing to synchronise: there is no edx-val; the block's fields are its whole state."""

    def upload_transcript(self, *, video_block, edx_video_id, language_code, new_language_code, transcript_file,
                          **kwargs) -> None:
        """
        Studio's upload of a SubRip transcript: stored as the course's draft static file
        ``<block id>-<language>.srt`` and named in the block's ``transcripts`` (under ``new_language_code``,
        in place of ``language_code``). Raises the block's ``TranscriptsGenerationException`` (a 400 for
        Studio) for a file that is not SubRip, a language code that is not one, or a published runtime.
        """
        from xblocks_contrib.video.exceptions import TranscriptsGenerationException

        if self.mode != "draft":
            raise TranscriptsGenerationException("transcripts are uploaded to a course's draft (Studio's runtime)")
        if not _LANGUAGE_CODE.fullmatch(str(new_language_code)):
            raise TranscriptsGenerationException(f"not a language code: {new_language_code!r}")
        data = transcript_file.read()
        if not srt_to_sjson(data.decode("utf-8-sig"))["text"]:  # UnicodeDecodeError: the block's 400 too
            raise TranscriptsGenerationException("not a SubRip (.srt) transcript: no cue in it")
        path = f"{video_block.location.block_id}-{new_language_code}.srt"
        writer = AssetWriter(package_for_run(self.course_key), created_by=getattr(video_block.runtime.user, "pk", None))
        writer.save(path, data, content_type="application/x-subrip")
        self._files.pop(path, None)
        transcripts = {lang: name for lang, name in (video_block.transcripts or {}).items() if lang != language_code}
        video_block.transcripts = {**transcripts, new_language_code: path}
        video_block.save()

    def delete_transcript(self, *, video_block, edx_video_id, language_code, **kwargs) -> None:
        """
        Studio's removal of a transcript: the block no longer names it. The file stays among the course's
        static files (another block or run may use it); the static files page deletes files.
        """
        if language_code in (video_block.transcripts or {}):
            video_block.transcripts = {k: v for k, v in video_block.transcripts.items() if k != language_code}
            video_block.save()

    def available_translations(self, video_block, transcripts: dict, verify_assets=None, is_bumper=False, **kwargs):
        """The languages the block has a transcript file for, in the course's static files."""
        languages = ["en", *sorted(lang for lang in transcripts.get("transcripts", {}) if lang != "en")]
        return [lang for lang in languages if self._find(video_block, lang, transcripts, youtube_id=None) is not None]

    def get_transcript(self, video_block, lang=None, output_format=SRT, youtube_id=None, is_bumper=False):
        """
        ``(content bytes, filename, mimetype)`` of the block's transcript in ``lang`` (its own language when
        None) and ``output_format``; raises the block's ``TranscriptNotFoundError`` when the course holds none.
        """
        from xblocks_contrib.video.exceptions import TranscriptNotFoundError
        from xblocks_contrib.video.video_transcripts_utils import TranscriptExtensions

        lang = lang or getattr(video_block, "transcript_language", None) or "en"
        found = self._find(video_block, lang, video_block.get_transcripts_info(is_bumper), youtube_id=youtube_id)
        if found is None:
            raise TranscriptNotFoundError(f"no {lang} transcript among the static files of {self.course_key}")
        stem = found.filename.rsplit("/", 1)[-1].removesuffix(".sjson").removesuffix(".srt")
        if output_format == SJSON:
            content = json.dumps(found.sjson, ensure_ascii=False)
        elif output_format == TXT:
            content = sjson_to_text(found.sjson)
        else:
            output_format, content = SRT, sjson_to_srt(found.sjson)
        return content.encode("utf-8"), f"{stem}.{output_format}", TranscriptExtensions.mime_types[output_format]

    def _find(self, video_block, lang: str, transcripts: dict, *, youtube_id) -> _Transcript | None:
        """The first of the block's candidate files for ``lang`` that the course holds and that reads as one."""
        for filename in self._candidates(video_block, lang, transcripts, youtube_id):
            if filename not in self._files:
                self._files[filename] = self._read(filename)
            if self._files[filename] is not None:
                return self._files[filename]
        return None

    def _read(self, filename: str) -> _Transcript | None:
        """The static file ``filename`` as a transcript, or None: missing, not a static file's name, unreadable."""
        try:
            asset = find_course_asset(self.course_key, filename, mode=self.mode)
        except InvalidAssetPath:
            return None  # a name from the request or the OLX that cannot be a static file
        if asset is None:
            return None
        text = asset.read().decode("utf-8-sig", errors="replace")
        try:
            sjson = json.loads(text) if filename.endswith(".sjson") else srt_to_sjson(text)
        except ValueError:
            return None
        return _Transcript(filename, sjson) if isinstance(sjson, dict) and sjson.get("text") else None

    @staticmethod
    def _candidates(video_block, lang: str, transcripts: dict, youtube_id) -> list[str]:
        """The files that may hold the block's ``lang`` transcript, by the block's own naming rules."""
        from xblocks_contrib.video.video_transcripts_utils import get_html5_ids, subs_filename

        named = transcripts.get("transcripts", {}).get(lang)
        if lang != "en":
            return [named] if named else []
        ids = [youtube_id, transcripts.get("sub"), getattr(video_block, "youtube_id_1_0", None)]
        ids += get_html5_ids(getattr(video_block, "html5_sources", None) or [])
        names = [named] + [subs_filename(video_id) for video_id in ids if video_id]
        return list(dict.fromkeys(name for name in names if name))
