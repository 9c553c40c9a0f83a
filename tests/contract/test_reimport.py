"""
Re-import is idempotent: the same export again creates no versions; a changed export creates versions
only for the blocks that changed, and the result names them.

Versions are counted as rows of openedx-core's PublishableEntityVersion, the table every component
and container version lands in, so nothing a writer does can hide from the count.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from openedx_content.models_api import Draft, DraftChangeLog, PublishableEntityVersion, PublishLog

from lc_runtime import api
from tests.conftest import DEMO_COURSE, DEMO_KEY, shared_olx, usage

pytestmark = pytest.mark.django_db


def _copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(DEMO_COURSE, target)
    return target


def _versions() -> int:
    return PublishableEntityVersion.objects.count()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1))


def _set_policy(source: Path, ref: str, **values) -> None:
    policy_file = source / "policies" / "2026" / "policy.json"
    policy = json.loads(policy_file.read_text())
    policy.setdefault(ref, {}).update(values)
    policy_file.write_text(json.dumps(policy, indent=2))


def test_reimporting_an_unchanged_course_creates_no_versions_and_publishes_nothing(tmp_path):
    source = _copy_demo(tmp_path)
    first = api.import_olx(source)
    assert first.created == _versions() == 14
    assert len(first.created_blocks) == 14 and "course/course" in first.created_blocks
    publishes = PublishLog.objects.count()

    again = api.import_olx(source)

    assert _versions() == 14
    assert (again.created, again.updated, again.unchanged) == (0, 0, 14)
    assert (again.created_blocks, again.updated_blocks) == ([], [])
    assert again.published.entities_published == 0
    assert PublishLog.objects.count() == publishes
    assert again.as_dict()["created_blocks"] == again.as_dict()["updated_blocks"] == []


# Each case changes one block of the demo course in a different place of the export.
ONE_BLOCK_CHANGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "leaf pointer file": (
        lambda src: _edit(src / "problem" / "orbit-question.xml", "Martian year", "Martian orbit"),
        "problem/orbit-question",
    ),
    "leaf body file": (
        lambda src: _edit(src / "html" / "welcome-text.html", "Welcome!", "Welcome back!"),
        "html/welcome-text",
    ),
    "inline leaf": (
        lambda src: _edit(src / "chapter" / "going-further.xml", 'depth="3"', 'depth="4"'),
        "hologram/future-block",
    ),
    "container attribute": (
        lambda src: _edit(src / "chapter" / "going-further.xml", 'format="Homework"', 'format="Lab"'),
        "sequential/practice",
    ),
    "container pointer file": (
        lambda src: _edit(src / "sequential" / "welcome.xml", 'display_name="Welcome"', 'display_name="Hello"'),
        "sequential/welcome",
    ),
    "leaf policy value": (
        lambda src: _set_policy(src, "problem/orbit-question", max_attempts=5),
        "problem/orbit-question",
    ),
    "container policy value": (
        lambda src: _set_policy(src, "vertical/welcome-unit", graded=True),
        "vertical/welcome-unit",
    ),
    "course policy value": (
        lambda src: _set_policy(src, "course/2026", display_name="The Demo Course, revised"),
        "course/course",
    ),
}


@pytest.mark.parametrize("change", list(ONE_BLOCK_CHANGES))
def test_reimporting_a_one_block_change_creates_exactly_one_version(tmp_path, change):
    source = _copy_demo(tmp_path)
    api.import_olx(source)
    edit, changed_block = ONE_BLOCK_CHANGES[change]
    edit(source)

    again = api.import_olx(source)

    assert _versions() == 14 + 1
    assert (again.created, again.updated, again.unchanged) == (0, 1, 13)
    assert again.created_blocks == []
    assert again.updated_blocks == [changed_block]
    assert again.problems == []
    # The new version is what learners now see.
    block_type, block_id = changed_block.split("/")
    runtime = api.get_runtime(None, course_key=DEMO_KEY)
    assert runtime.tree.blocks[(block_type, block_id)].version_num == 2


def test_a_block_added_and_a_block_removed_are_reported(tmp_path):
    source = _copy_demo(tmp_path)
    api.import_olx(source)
    # A new html block in the first unit, and the video taken out of it.
    _edit(source / "vertical" / "welcome-unit.xml", '<html url_name="welcome-text"/>',
          '<html url_name="welcome-text"/>\n  <html url_name="extra"><![CDATA[<p>More.</p>]]></html>')
    _edit(source / "vertical" / "welcome-unit.xml", "<video ", "<!-- video removed --><!--video ")
    _edit(source / "vertical" / "welcome-unit.xml", 'download_video="false"/>', 'download_video="false"/-->')

    again = api.import_olx(source)

    assert again.created_blocks == ["html/extra"]
    assert again.updated_blocks == ["vertical/welcome-unit"]  # its child list changed
    assert _versions() == 14 + 2
    runtime = api.get_runtime(None, course_key=DEMO_KEY)
    unit = runtime.get_block(usage(DEMO_KEY, "vertical", "welcome-unit"))
    assert [child.scope_ids.block_type for child in unit.get_children()] == ["html", "html"]


def test_an_unchanged_reimport_writes_no_draft_change_log(tmp_path):
    source = _copy_demo(tmp_path)
    api.import_olx(source)
    draft_logs = DraftChangeLog.objects.count()
    api.import_olx(source, publish=False)
    assert DraftChangeLog.objects.count() == draft_logs


def test_reimporting_a_real_course_with_drafts_unchanged_creates_no_versions():
    # This export has drafts/: Units with unpublished changes, written as drafts after the publish.
    source = shared_olx("openedx-test-course")
    first = api.import_olx(source)
    assert first.draft_units
    versions = _versions()
    drafts = sorted(Draft.objects.values_list("entity_id", "version_id"))

    again = api.import_olx(source)

    assert _versions() == versions
    assert again.created == again.updated == 0
    assert again.unchanged == first.created
    assert again.draft_units == first.draft_units
    # Every draft is where the first import left it: the drafted Units' drafts too.
    assert sorted(Draft.objects.values_list("entity_id", "version_id")) == drafts


def test_reimport_puts_back_an_edited_draft_without_a_new_version(tmp_path):
    source = _copy_demo(tmp_path)
    api.import_olx(source)
    with api.unit_of_work():
        studio = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
        block = studio.get_block(usage(DEMO_KEY, "html", "after-the-question"))
        block.display_name = "An unpublished title"
        block.save()
    assert _versions() == 15

    again = api.import_olx(source, publish=False)

    # The export says what the block is: its draft points at the published version again.
    assert _versions() == 15
    assert (again.created, again.updated, again.updated_blocks) == (0, 0, [])
    studio = api.get_runtime(None, course_key=DEMO_KEY, mode="draft")
    assert studio.get_block(usage(DEMO_KEY, "html", "after-the-question")).display_name == "Why it matters"
    assert api.publish(DEMO_KEY).entities_published == 0
