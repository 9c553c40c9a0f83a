"""
Selectors in real course exports (../shared/olx): they import as selectors, and two learners can
get different content in the same unit. Skipped where ../shared is absent.
"""

from __future__ import annotations

import pytest

from lc_runtime import api
from lc_runtime.models import PartitionGroup
from tests.conftest import shared_olx

LEARNERS = 16


def visible_content(user, course_key: str, unit_key) -> list[str]:
    """The block ids rendered below a unit for ``user``: the selectors' children as this learner gets them."""
    with api.unit_of_work():
        runtime = api.get_runtime(user, course_key=course_key)
        unit = runtime.get_block(unit_key)
        runtime.render(unit, "student_view")
        shown = []
        stack = [unit]
        while stack:
            block = stack.pop()
            shown.append(block.scope_ids.usage_id.block_id)
            stack.extend(reversed(block.get_children()))
        return shown


def units_with(course_key: str, tags: set[str], learner) -> list:
    """The units holding selectors of ``tags`` that ``learner`` may reach (not staff-only, open)."""
    runtime = api.get_runtime(None, course_key=course_key, mode="draft")
    access = api.get_runtime(learner, course_key=course_key).access()
    found = []
    for (block_type, _block_id), record in runtime.tree.blocks.items():
        if block_type in tags and record.pool_entity_id is not None:
            unit = runtime.usage_key_of(record.parent)
            if access.closure_of(unit) is None:
                found.append(unit)
    return sorted(set(found), key=str)


def assert_learners_differ(course_key: str, tags: set[str], users) -> None:
    units = units_with(course_key, tags, users[0])
    assert units, f"no unit with {tags} in {course_key}"
    for unit in units:
        seen = {tuple(visible_content(user, course_key, unit)) for user in users}
        assert len(seen) > 1, f"every learner saw the same content in {unit}"


@pytest.mark.django_db
def test_harvardx_split_tests_import_as_selectors_and_vary_per_learner(make_user):
    result = api.import_olx(shared_olx("harvardx-studio-advanced"))
    assert result.blocks_by_type["split_test"] >= 2
    assert not [p for p in result.problems if p.block and p.block.startswith("split_test/")]
    assert_learners_differ(result.course_key, {"split_test"}, [make_user(f"learner{i}") for i in range(LEARNERS)])
    # Two random partitions: each learner has one group in each partition it met, used by every split test on it.
    groups = PartitionGroup.objects.filter(course_key=result.course_key)
    assert groups.count() == LEARNERS * len(set(groups.values_list("partition_id", flat=True)))


@pytest.mark.django_db
def test_openedx_test_course_split_test_and_library_content_vary_per_learner(make_user):
    result = api.import_olx(shared_olx("openedx-test-course"))
    assert result.blocks_by_type["split_test"] == 2
    assert result.blocks_by_type["library_content"] == 2
    users = [make_user(f"learner{i}") for i in range(LEARNERS)]
    assert_learners_differ(result.course_key, {"split_test"}, users)
    assert_learners_differ(result.course_key, {"library_content"}, users)
    runtime = api.get_runtime(make_user("ada"), course_key=result.course_key)
    for (block_type, _block_id), record in runtime.tree.blocks.items():
        if block_type == "library_content":
            block = runtime.get_block(runtime.usage_key_of(record.ref))
            shown = len(record.children) if block.max_count < 0 else min(block.max_count, len(record.children))
            assert len(block.get_children()) == shown
