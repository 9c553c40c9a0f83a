"""
The ``video_config`` service: what the video block asks its host, answered from the course's own files.

edx-platform answers from edx-val (its video pipeline) and the modulestore's contentstore. Here there is no
video pipeline: a video plays from its own sources, and its transcripts are the course's static files, where
an OLX export keeps them: ``subs_<id>.srt.sjson`` for English (by the block's ``sub``, its YouTube id or its
HTML5 sources' names) and the files its ``transcripts`` field names per language (usually ``.srt``). A
transcript is served in the format the player asks for (SJSON, SRT or text), converted from whichever the
course holds.

The player's questions about platform features (HLS, YouTube deprecation or blocking, public sharing,
transcript feedback) are all answered "off". Studio's transcript upload and deletion are not offered: they
raise :class:`NotImplementedError`, and the video's editor says the operation failed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lc_runtime.content.assets.api import InvalidAssetPath, find_course_asset

__all__ = ["VideoConfigService", "sjson_to_srt", "sjson_to_text", "srt_to_sjson"]

SJSON, SRT, TXT = "sjson", "srt", "txt"
MIME_TYPES = {SJSON: "application/json", SRT: "application/x-subrip; charset=utf-8", TXT: "text/plain; charset=utf-8"}

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

    def upload_transcript(self, **kwargs) -> None:
        raise NotImplementedError("lc-runtime takes no transcript uploads: add the file to the course's static files")

    def delete_transcript(self, **kwargs) -> None:
        raise NotImplementedError("lc-runtime deletes no transcripts: remove the file from the course's static files")

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
        return content.encode("utf-8"), f"{stem}.{output_format}", MIME_TYPES[output_format]

    def _find(self, video_block, lang: str, transcripts: dict, *, youtube_id) -> _Transcript | None:
        """The first of the block's candidate files for ``lang`` that the course holds and that reads as one."""
        for filename in self._candidates(video_block, lang, transcripts, youtube_id):
            try:
                asset = find_course_asset(self.course_key, filename, mode=self.mode)
            except InvalidAssetPath:
                continue  # a name from the request or the OLX that cannot be a static file
            if asset is None:
                continue
            text = asset.read().decode("utf-8-sig", errors="replace")
            try:
                sjson = json.loads(text) if filename.endswith(".sjson") else srt_to_sjson(text)
            except ValueError:
                continue
            if isinstance(sjson, dict) and sjson.get("text"):
                return _Transcript(filename, sjson)
        return None

    @staticmethod
    def _candidates(video_block, lang: str, transcripts: dict, youtube_id) -> list[str]:
        named = transcripts.get("transcripts", {}).get(lang)
        if lang != "en":
            return [named] if named else []
        ids = [youtube_id, transcripts.get("sub"), getattr(video_block, "youtube_id_1_0", None)]
        ids += [source.split("/")[-1].rsplit(".", 1)[0] for source in getattr(video_block, "html5_sources", []) or []]
        names = [named] + [f"subs_{video_id}.srt.sjson" for video_id in ids if video_id]
        return list(dict.fromkeys(name for name in names if name))
