"""
VariantResolver (lc_runtime.selectors.resolution): one learner's Variants in one course run.

A tiny course is imported for each test; the resolver gets the run's published tree and real blocks,
loaded by a system runtime (which itself never chooses Variants), and records the events it sends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import transaction

from lc_runtime import api
from lc_runtime.content.courses.api import load_course_tree
from lc_runtime.content.learners.api import (
    NewPartitionGroup,
    NewVariant,
    create_partition_groups,
    create_variants,
    learner_partition_groups,
    learner_variants,
)
from lc_runtime.models import CourseRun, LearnerChoicesLock, LearnerVariant, PartitionGroup
from lc_runtime.selectors.resolution import PARTITION_ASSIGNED_EVENT, VariantResolver

KEY = "course-v1:LcX+Res+2026"
PARTITION = 100
LEARNER = 7
BANK_ASSIGNED = "edx.itembankblock.content.assigned"

COURSE_OLX = """
<course start="2026-01-01T00:00:00Z" display_name="Resolution">
  <chapter url_name="ch">
    <sequential url_name="seq">
      <vertical url_name="u1">
        <html url_name="intro">Intro</html>
        <itembank url_name="bank" max_count="2">
          <html url_name="q1">1</html><html url_name="q2">2</html>
          <html url_name="q3">3</html><html url_name="q4">4</html>
        </itembank>
        <randomize url_name="rnd">
          <html url_name="r1">1</html><html url_name="r2">2</html><html url_name="r3">3</html>
        </randomize>
        <split_test url_name="ab" user_partition_id="100"
                    group_id_to_child='{"0": "i4x://LcX/Res/vertical/ga", "1": "i4x://LcX/Res/vertical/gb"}'>
          <vertical url_name="ga">
            <html url_name="ga_text">A</html>
            <randomize url_name="nested"><html url_name="n1">1</html><html url_name="n2">2</html></randomize>
          </vertical>
          <vertical url_name="gb"><html url_name="gb_text">B</html></vertical>
        </split_test>
      </vertical>
      <vertical url_name="u2">
        <itembank url_name="bank2" max_count="1">
          <html url_name="s1">1</html><html url_name="s2">2</html><html url_name="s3">3</html>
        </itembank>
      </vertical>
    </sequential>
  </chapter>
</course>
"""
POLICY = {
    "course/2026": {
        "user_partitions": [
            {"id": PARTITION, "name": "Experiment", "scheme": "random", "version": 3,
             "groups": [{"id": 0, "name": "A", "version": 1}, {"id": 1, "name": "B", "version": 1}]}
        ]
    }
}
# Queries of a first visit of unit u1 (three selectors, one on a partition): the learner's Variants and
# partition groups (1 + 1), then the lock on the learner's choices, an INSERT and a re-read of each
# (3 + 3), each INSERT and re-read inside a savepoint (4 statements more, as the test's transaction
# encloses them). Outside a unit of work, as here, the lock is taken again before each batch; inside
# one, once (FIRST_VISIT_IN_A_UNIT). A later visit: the two reads.
FIRST_VISIT = 12
FIRST_VISIT_IN_A_UNIT = 11
LATER_VISIT = 2
# A further batch (another unit): the lock, then an INSERT and a re-read in a savepoint (4); in a unit
# of work that holds the lock already, the last four only.
NEXT_BATCH = 5


@pytest.fixture(scope="module")
def course_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("resolution-course")
    (folder / "course").mkdir()
    (folder / "policies" / "2026").mkdir(parents=True)
    (folder / "course.xml").write_text('<course url_name="2026" org="LcX" course="Res"/>')
    (folder / "course" / "2026.xml").write_text(COURSE_OLX)
    (folder / "policies" / "2026" / "policy.json").write_text(json.dumps(POLICY))
    return folder


@pytest.fixture(scope="module")
def course(course_folder, django_db_setup, django_db_blocker):
    """
    The course, imported once for the module inside a transaction that is rolled back after it.

    An import takes seconds; each test's own transaction (the ``db`` fixture: a savepoint inside this
    one) rolls back the learner rows it writes, as Django's TestCase does with ``setUpTestData``.
    """
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
        try:
            result = api.import_olx(course_folder, strict=True)
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    assert result.problems == []
    yield result
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)
        assert not CourseRun.objects.filter(course_key=KEY).exists(), "the import was rolled back"


class Resolution:
    """A resolver for one learner, the tree it reads and the events it sent."""

    def __init__(self, user_id: int | None) -> None:
        self.tree = load_course_tree(KEY, mode="published")
        self.system = api.get_runtime(None, course_key=KEY)
        self.events: list[tuple[str, str]] = []
        self.resolver = VariantResolver(
            tree=self.tree,
            course_key=KEY,
            user_id=user_id,
            load_block=lambda ref: self.system.get_block(self.system.usage_key_of(ref)),
            usage_key_of=lambda ref: str(self.system.usage_key_of(ref)),
            publish=lambda block, event_type, data: self.events.append((block.scope_ids.usage_id.block_id, event_type)),
        )

    def record(self, block_type: str, block_id: str):
        return self.tree.blocks[(block_type, block_id)]

    def children(self, block_type: str, block_id: str) -> list[str]:
        return [child_id for _type, child_id in self.resolver.children_of(self.record(block_type, block_id))]

    def visible(self, block_type: str, block_id: str) -> bool:
        return self.resolver.is_visible(self.record(block_type, block_id))


@pytest.fixture
def learner(course, db) -> Resolution:
    # Warm the tree cache and the blocks' parse cache, so counted queries are the resolver's own.
    Resolution(None).system.load_failures()
    return Resolution(LEARNER)


def stored_entities(user_id: int, resolution: Resolution, block_type: str, block_id: str) -> list[str]:
    pool = resolution.record(block_type, block_id).pool_entity_id
    return [entry[2] for entry in learner_variants(user_id, KEY)[pool].entities]


# ---- what a learner sees
def test_children_of_a_selector_are_the_learners_stored_variant(learner):
    bank = learner.children("itembank", "bank")
    assert len(bank) == 2 and set(bank) <= {"q1", "q2", "q3", "q4"}
    assert stored_entities(LEARNER, learner, "itembank", "bank") == bank
    rnd = learner.children("randomize", "rnd")
    assert len(rnd) == 1 and rnd[0] in {"r1", "r2", "r3"}
    assert stored_entities(LEARNER, learner, "randomize", "rnd") == rnd


def test_a_split_test_shows_the_child_of_the_learners_group(learner):
    child = learner.children("split_test", "ab")
    group = learner_partition_groups(LEARNER, KEY)[PARTITION]
    assert child == [{0: "ga", 1: "gb"}[group]]
    pool = learner.record("split_test", "ab").pool_entity_id
    assert learner_variants(LEARNER, KEY)[pool].group_id == group


def test_the_variant_is_the_same_in_every_later_request(learner):
    first = {ref: learner.children(*ref) for ref in [("itembank", "bank"), ("randomize", "rnd"), ("split_test", "ab")]}
    later = Resolution(LEARNER)
    assert {ref: later.children(*ref) for ref in first} == first
    assert LearnerVariant.objects.count() == 3


def test_variant_of_is_the_stored_row(learner):
    record = learner.record("itembank", "bank")
    stored = learner.resolver.variant_of(record)
    assert stored.user_id == LEARNER and stored.generation == 0
    assert stored.rules_version_id == record.version_id
    assert stored.selector_version_id == record.pool_version_id
    assert [entry[2] for entry in stored.entities] == learner.children("itembank", "bank")


def test_a_pool_member_is_visible_only_if_the_variant_shows_it(learner):
    shown = set(learner.children("itembank", "bank"))
    for member in ["q1", "q2", "q3", "q4"]:
        assert learner.visible("html", member) is (member in shown)
    assert learner.visible("html", "intro") and learner.visible("vertical", "u1")
    assert learner.visible("itembank", "bank")


def test_blocks_below_a_group_the_learner_is_not_in_are_hidden_at_every_level(learner):
    create_partition_groups(LEARNER, KEY, [NewPartitionGroup(PARTITION, 1)], "test")
    assert learner.children("split_test", "ab") == ["gb"]
    assert learner.visible("vertical", "gb") and learner.visible("html", "gb_text")
    for hidden in [("vertical", "ga"), ("html", "ga_text"), ("randomize", "nested"), ("html", "n1"), ("html", "n2")]:
        assert not learner.visible(*hidden), hidden


def test_a_nested_selector_is_resolved_when_its_group_is_reached(learner, django_assert_num_queries):
    create_partition_groups(LEARNER, KEY, [NewPartitionGroup(PARTITION, 0)], "test")
    learner.resolver.resolve_below(learner.record("vertical", "u1"))
    nested_pool = learner.record("randomize", "nested").pool_entity_id
    assert nested_pool not in learner_variants(LEARNER, KEY), "not reachable before its group was chosen"

    with django_assert_num_queries(NEXT_BATCH):  # a batch of its own
        nested = learner.children("randomize", "nested")

    assert len(nested) == 1 and learner.visible("html", nested[0])
    assert stored_entities(LEARNER, learner, "randomize", "nested") == nested


# ---- batches: a fixed number of queries
def test_a_unit_is_resolved_in_one_batch_whatever_its_number_of_selectors(learner, django_assert_num_queries):
    with django_assert_num_queries(FIRST_VISIT):
        learner.resolver.resolve_below(learner.record("vertical", "u1"))
    with django_assert_num_queries(0):
        for selector in [("itembank", "bank"), ("randomize", "rnd"), ("split_test", "ab")]:
            assert learner.children(*selector)
    assert LearnerVariant.objects.filter(user_id=LEARNER).count() == 3

    later = Resolution(LEARNER)
    with django_assert_num_queries(LATER_VISIT):
        later.resolver.resolve_below(later.record("vertical", "u1"))


def test_asking_for_one_selector_resolves_its_whole_unit(learner, django_assert_num_queries):
    with django_assert_num_queries(FIRST_VISIT):
        learner.children("randomize", "rnd")
    with django_assert_num_queries(0):
        learner.children("itembank", "bank")
        learner.children("split_test", "ab")
    # Another unit is another batch: one INSERT and one re-read, in a savepoint, after the lock.
    with django_assert_num_queries(NEXT_BATCH):
        assert len(learner.children("itembank", "bank2")) == 1


def test_a_unit_of_work_locks_the_learners_choices_once_whatever_its_number_of_batches(
    learner, django_assert_num_queries
):
    with api.unit_of_work():
        with django_assert_num_queries(FIRST_VISIT_IN_A_UNIT):
            learner.children("randomize", "rnd")
        with django_assert_num_queries(NEXT_BATCH - 1):
            assert len(learner.children("itembank", "bank2")) == 1
    assert LearnerChoicesLock.objects.filter(user_id=LEARNER, course_key=KEY).count() == 1


def test_resolve_below_a_block_without_selectors_costs_nothing(learner, django_assert_num_queries):
    with django_assert_num_queries(0):
        learner.resolver.resolve_below(learner.record("html", "intro"))


# ---- events
def test_a_first_visit_sends_each_event_once(learner):
    learner.resolver.resolve_below(learner.record("vertical", "u1"))
    assert sorted(learner.events) == [("ab", PARTITION_ASSIGNED_EVENT), ("bank", BANK_ASSIGNED)]

    learner.resolver.resolve_below(learner.record("vertical", "u1"))
    learner.children("itembank", "bank")
    assert len(learner.events) == 2, "resolved once per resolver"

    later = Resolution(LEARNER)
    later.resolver.resolve_below(later.record("vertical", "u1"))
    assert later.events == [], "nothing new is assigned on a later visit"


def test_a_variant_another_request_stored_first_is_shown_and_sends_nothing(learner):
    learner.resolver.variant_of(learner.record("itembank", "bank2"))  # this request has read its Variants
    bank = learner.record("itembank", "bank")
    q4 = learner.record("html", "q4")
    # Meanwhile another request of the learner stores its Variant of the bank.
    create_variants(LEARNER, KEY, [NewVariant(bank.pool_entity_id, [[q4.entity_id, "html", "q4"]],
                                              bank.pool_version_id, bank.version_id)], "another-request")

    assert learner.children("itembank", "bank") == ["q4"]
    assert ("bank", BANK_ASSIGNED) not in learner.events
    assert ("ab", PARTITION_ASSIGNED_EVENT) in learner.events  # its own writes still report
    assert learner_variants(LEARNER, KEY)[bank.pool_entity_id].writer_token == "another-request"


# ---- resets
def test_reset_stores_the_next_generation_and_shows_it(learner):
    bank = learner.record("itembank", "bank")
    learner.children("itembank", "bank")
    learner.events.clear()

    learner.resolver.reset(bank)

    stored = learner_variants(LEARNER, KEY)[bank.pool_entity_id]
    assert stored.generation == 1
    assert learner.children("itembank", "bank") == [entry[2] for entry in stored.entities]
    assert learner.events == [("bank", BANK_ASSIGNED)]
    learner.resolver.reset(bank)
    assert learner_variants(LEARNER, KEY)[bank.pool_entity_id].generation == 2
    assert LearnerVariant.objects.filter(selector_id=bank.pool_entity_id).count() == 1


def test_reset_after_another_request_reset_first_shows_that_requests_draw(learner):
    bank = learner.record("itembank", "bank")
    learner.children("itembank", "bank")
    other = Resolution(LEARNER)
    other.resolver.reset(other.record("itembank", "bank"))  # generation 1, by another request
    learner.events.clear()

    learner.resolver.reset(bank)  # replaces generation 0, which is gone: nothing written

    stored = learner_variants(LEARNER, KEY)[bank.pool_entity_id]
    assert stored.generation == 1
    assert learner.children("itembank", "bank") == [entry[2] for entry in stored.entities]
    assert learner.events == []


# ---- learners without an id
def test_an_anonymous_learner_gets_a_variant_that_is_never_stored(course, db, django_assert_num_queries):
    Resolution(None).system.load_failures()
    anonymous = Resolution(None)
    with django_assert_num_queries(0):
        anonymous.resolver.resolve_below(anonymous.record("vertical", "u1"))
        bank = anonymous.children("itembank", "bank")
        group_child = anonymous.children("split_test", "ab")
        anonymous.resolver.reset(anonymous.record("itembank", "bank"))
    # A draw of the selector's own size, not the whole pool (authors and system runtimes see pools).
    assert len(bank) == 2 and len(anonymous.children("randomize", "rnd")) == 1
    assert len(group_child) == 1 and group_child[0] in {"ga", "gb"}
    assert anonymous.resolver.variant_of(anonymous.record("itembank", "bank")) is None
    assert LearnerVariant.objects.count() == 0 and PartitionGroup.objects.count() == 0
    # The same seed draws the same again (the variant is reproducible though not kept).
    again = Resolution(None)
    assert again.children("itembank", "bank") == bank
