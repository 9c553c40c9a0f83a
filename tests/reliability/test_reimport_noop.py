"""
Re-importing an unchanged export is a no-op, ``drafts/`` included: no version, no draft change, no
publish; and what the export says is a draft (a Unit only in ``drafts/``) is never published by a
re-import.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openedx_content.models_api import Draft, DraftChangeLog, PublishableEntityVersion, PublishLog

from lc_runtime import api
from lc_runtime.content.courses.api import load_course_tree
from tests.conftest import shared_olx
from tests.contract.test_import_fidelity import FIDELITY_COURSE, FIDELITY_KEY

pytestmark = pytest.mark.django_db


def _history() -> dict[str, int]:
    return {
        "versions": PublishableEntityVersion.objects.count(),
        "draft change logs": DraftChangeLog.objects.count(),
        "publish logs": PublishLog.objects.count(),
    }


def _drafts() -> list[tuple[int, int | None]]:
    return sorted(Draft.objects.values_list("entity_id", "version_id"))


def _assert_reimport_is_a_no_op(source: Path) -> None:
    first = api.import_olx(source)
    assert first.draft_units, "the export has drafts/"
    history, drafts = _history(), _drafts()
    for _ in range(2):  # a second and a third import: nothing either time
        again = api.import_olx(source)
        assert _history() == history
        assert _drafts() == drafts
        assert (again.created, again.updated, again.unchanged) == (0, 0, first.created + first.unchanged)
        assert (again.created_blocks, again.updated_blocks) == ([], [])
        assert again.published.publish_log_id is None and again.published.entities_published == 0
        assert again.draft_units == first.draft_units
        assert again.problems == first.problems


def test_reimporting_the_fidelity_course_with_a_drafts_only_unit_is_a_no_op():
    _assert_reimport_is_a_no_op(FIDELITY_COURSE)


def test_reimporting_openedx_test_course_is_a_no_op():
    _assert_reimport_is_a_no_op(shared_olx("openedx-test-course"))


def test_a_reimport_never_publishes_a_unit_that_exists_only_in_drafts(tmp_path):
    source = tmp_path / "course"
    shutil.copytree(FIDELITY_COURSE, source)
    api.import_olx(source)
    question = source / "problem" / "q1.xml"
    question.write_text(question.read_text().replace("</problem>", "<p>One more line.</p></problem>", 1))

    again = api.import_olx(source)

    assert again.updated_blocks == ["problem/q1"]
    # The changed problem and, as openedx-core records a publish, its Unit, Subsection, Section and course.
    assert again.published.entities_published == 5
    published = load_course_tree(FIDELITY_KEY, mode="published").blocks
    draft = load_course_tree(FIDELITY_KEY, mode="draft").blocks
    assert ("vertical", "new-unit") not in published
    assert ("vertical", "new-unit") in draft
    assert published[("vertical", "reading")].title != draft[("vertical", "reading")].title  # still a draft


def test_a_draft_the_export_no_longer_has_goes_back_to_the_published_version(tmp_path):
    source = tmp_path / "course"
    shutil.copytree(FIDELITY_COURSE, source)
    api.import_olx(source)
    (source / "drafts" / "vertical" / "reading.xml").unlink()  # the revised Reading unit was published or dropped

    again = api.import_olx(source)

    assert again.draft_units == ["vertical/new-unit"]
    assert again.published.entities_published == 0
    published = load_course_tree(FIDELITY_KEY, mode="published").blocks
    draft = load_course_tree(FIDELITY_KEY, mode="draft").blocks
    assert draft[("vertical", "reading")].title == published[("vertical", "reading")].title
    assert ("vertical", "new-unit") in draft and ("vertical", "new-unit") not in published


def test_a_drafts_unit_identical_but_for_its_placement_is_no_draft_and_import_and_export_agree(tmp_path):
    # Studio exports such Units (a draft made and undone); nothing of them differs once imported.
    source = tmp_path / "course"
    shutil.copytree(FIDELITY_COURSE, source)
    parent = "block-v1:LcX+Fidelity+2026+type@sequential+block@lesson"
    (source / "drafts" / "vertical" / "quiz.xml").write_text(
        f'<vertical display_name="Quiz" parent_url="{parent}" index_in_children_list="2">\n'
        '  <problem url_name="q1"/>\n</vertical>\n'
    )
    shutil.copy(source / "problem" / "q1.xml", source / "drafts" / "problem" / "q1.xml")

    imported = api.import_olx(source)
    exported = api.export_olx(FIDELITY_KEY, tmp_path / "exported")

    assert sorted(imported.draft_units) == ["vertical/new-unit", "vertical/reading"]
    assert sorted(exported.draft_units) == sorted(imported.draft_units)


def test_harvardx_studio_advanced_import_and_export_report_the_same_draft_units(tmp_path):
    imported = api.import_olx(shared_olx("harvardx-studio-advanced"))
    exported = api.export_olx(imported.course_key, tmp_path / "exported")
    assert imported.draft_units
    assert sorted(exported.draft_units) == sorted(imported.draft_units)
