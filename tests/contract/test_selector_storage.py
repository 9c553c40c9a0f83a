"""
How selectors sit in Learning Core: a pool container and a proxy component that depends on it.

These tests read openedx-core's own rows (the suite may; lc_runtime may only through
``lc_runtime.content``), so that an upstream change to version dependencies shows up here first.
"""

from __future__ import annotations

import pytest
from openedx_content import api as content_api
from openedx_content.models_api import Component, Container, PublishableEntityVersionDependency

from lc_runtime import api
from lc_runtime.content.pools.api import selector_pool_of
from lc_runtime.models import SelectorPool
from tests.conftest import ROOT, usage

SELECTOR_COURSE = ROOT / "tests" / "fixtures" / "selector-course"
KEY = "course-v1:LcX+Sel+2026"
BANK = usage(KEY, "itembank", "bank")


@pytest.fixture
def selector_course(db):
    return api.import_olx(SELECTOR_COURSE, strict=True)


def proxy(block_type: str, block_id: str) -> Component:
    return Component.objects.get(component_type__name=block_type, component_code=block_id)


def pool_container(block_type: str, block_id: str) -> Container:
    return Container.objects.get(container_code=f"{block_type}.{block_id}")


def test_each_selector_is_a_pool_container_and_a_proxy_that_depends_on_it(selector_course):
    assert SelectorPool.objects.count() == 7  # the fixture's six built-ins and one plugin selector
    bank = proxy("itembank", "bank")
    pool = pool_container("itembank", "bank")
    assert pool.container_type.type_code == "lc_selector"
    assert selector_pool_of(bank.versioning.draft.pk) == pool.pk
    members = content_api.get_entities_in_container(pool, published=True)
    assert [m.entity.component.component_code for m in members] == ["q1", "q2", "q3", "q4"]
    # The rules are the proxy's OLX, without the pool.
    olx = bank.versioning.draft.media.get(componentversionmedia__path="block.xml").text
    assert olx.startswith("<itembank") and 'max_count="2"' in olx and "<html" not in olx


def test_a_draft_save_of_the_proxy_keeps_its_dependency_and_publishing_the_unit_publishes_the_pool(
    selector_course, make_user
):
    staff = make_user("sam", is_staff=True)
    author = api.get_runtime(staff, course_key=KEY, mode="draft")
    block = author.get_block(BANK)
    block.max_count = 3
    block.save()
    bank = proxy("itembank", "bank")
    draft = bank.versioning.draft
    assert draft.version_num == 2
    assert selector_pool_of(draft.pk) == pool_container("itembank", "bank").pk, "R1: every new version depends"
    saved = draft.media.get(componentversionmedia__path="block.xml").text
    # The save keeps every setting of the element, not only the selector's own fields.
    assert 'max_count="3"' in saved and 'showanswer="always"' in saved
    assert 'display_name="Bank"' in saved and "due=" not in saved  # inherited values are not written

    # Edit a pool member only: the unit shows unpublished changes through proxy -> pool -> member.
    q1 = author.get_block(usage(KEY, "html", "q1"))
    q1.data = "Question one, edited."
    q1.save()
    unit = Container.objects.get(container_code="vertical.unit_bank")
    assert content_api.contains_unpublished_changes(unit.pk)

    # Publishing the unit alone publishes the proxy, the pool and the edited member.
    content_api.publish_from_drafts(
        unit.learning_package_id,
        draft_qset=content_api.get_all_drafts(unit.learning_package_id).filter(entity_id=unit.pk),
    )
    assert not content_api.contains_unpublished_changes(unit.pk)
    assert bank.versioning.published.version_num == 2
    q1_component = proxy("html", "q1")
    assert q1_component.versioning.published == q1_component.versioning.draft
    ada = make_user("ada")
    with api.unit_of_work():
        assert len(api.get_runtime(ada, course_key=KEY).get_block(BANK).get_children()) == 3


def test_the_dependency_is_declared_inside_the_draft_change(selector_course):
    """A dependency set after its change log closed leaves a stale hash: changes show right after publishing."""
    units = Container.objects.filter(container_type__type_code="unit")
    assert [u.container_code for u in units if content_api.contains_unpublished_changes(u.pk)] == []
    assert PublishableEntityVersionDependency.objects.filter(
        referenced_entity__container__container_type__type_code="lc_selector"
    ).count() == 7


def test_publishing_a_subsection_publishes_its_wrapped_selector_and_pool(selector_course, make_user):
    staff = make_user("sam", is_staff=True)
    author = api.get_runtime(staff, course_key=KEY, mode="draft")
    for text_id in ("seq_a_text", "seq_b_text"):
        block = author.get_block(usage(KEY, "html", text_id))
        block.data = f"{text_id}, edited."
        block.save()
    subsection = Container.objects.get(container_code="sequential.seq2")
    assert content_api.contains_unpublished_changes(subsection.pk)

    content_api.publish_from_drafts(
        subsection.learning_package_id,
        draft_qset=content_api.get_all_drafts(subsection.learning_package_id).filter(entity_id=subsection.pk),
    )
    assert not content_api.contains_unpublished_changes(subsection.pk)
    for code in ("seq_a_text", "seq_b_text"):
        component = proxy("html", code)
        assert component.versioning.published == component.versioning.draft
    system = api.get_runtime(None, course_key=KEY)
    assert "edited" in system.render(system.get_block(usage(KEY, "vertical", "seq_a")), "student_view").content
