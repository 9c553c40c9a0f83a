"""
AuthoredFieldData (lc_runtime.fielddata.authored): the content and settings values of a runtime's blocks.

Blocks here are real XBlocks, built by a bare XBlock runtime whose field data is the store under test,
so reads and writes go through XBlock's own field machinery as they do in LearningCoreRuntime.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from xblock.core import XBlock
from xblock.exceptions import InvalidScopeError
from xblock.fields import Dict, List, Scope, ScopeIds, String
from xblock.runtime import MemoryIdManager, Runtime

from lc_runtime.blocks.inheritance import InheritableFieldsMixin
from lc_runtime.fielddata.authored import AuthoredFieldData, AuthoredFieldReadOnly
from lc_runtime.keys import to_course_key, usage_key_for

COURSE = to_course_key("course-v1:LcX+Authored+2026")
PROBLEM = usage_key_for(COURSE, "lc_unit_block", "p1")
OTHER = usage_key_for(COURSE, "lc_unit_block", "p2")


class AuthoredBlock(InheritableFieldsMixin, XBlock):
    """A block with authored fields of both scopes, mutable ones among them, and the inheritable settings."""

    display_name = String(scope=Scope.settings, default="Untitled")
    data = String(scope=Scope.content, default="")
    weights = Dict(scope=Scope.settings, default={})
    tags_list = List(scope=Scope.content, default=[])


class BareRuntime(Runtime):
    """Just enough of a runtime to build blocks over one field-data store."""

    def __init__(self, field_data) -> None:
        ids = MemoryIdManager()
        super().__init__(ids, ids, services={"field-data": field_data})

    def handler_url(self, *args, **kwargs):
        raise NotImplementedError

    def local_resource_url(self, *args, **kwargs):
        raise NotImplementedError

    def publish(self, *args, **kwargs):
        raise NotImplementedError

    def resource_url(self, *args, **kwargs):
        raise NotImplementedError


class Ancestors:
    """The ``inherited`` callable: values an ancestor sets, per block; records what was asked."""

    def __init__(self, values: dict | None = None) -> None:
        self.values = values or {}
        self.asked: list[tuple] = []

    def __call__(self, usage_key, name):
        self.asked.append((usage_key, name))
        return self.values[(usage_key, name)]


def build(*, writable: bool, inherited=None) -> tuple[AuthoredFieldData, object]:
    authored = AuthoredFieldData(writable=writable, inherited=inherited or Ancestors())
    authored.seed(PROBLEM, {"display_name": "Problem 1", "data": "<p/>", "weights": {"a": [1, 2]}})
    runtime = BareRuntime(authored)
    block = runtime.construct_xblock_from_class(AuthoredBlock, ScopeIds(None, "lc_unit_block", PROBLEM, PROBLEM))
    return authored, block


@pytest.fixture
def draft():
    """A writable store (a draft runtime's) and a block of it."""
    return build(writable=True)


@pytest.fixture
def published():
    """A read-only store (a learner runtime's) and a block of it."""
    return build(writable=False)


# ---- seeding and reading
def test_seeded_values_are_what_blocks_read(draft):
    authored, block = draft
    assert (block.display_name, block.data, block.weights) == ("Problem 1", "<p/>", {"a": [1, 2]})
    assert block.tags_list == []  # not seeded: the field's default
    assert authored.is_loaded(PROBLEM) and not authored.is_loaded(OTHER)
    assert not authored.has_changes(PROBLEM)


def test_values_of_and_value_of_answer_per_block(draft):
    authored, _block = draft
    assert authored.values_of(PROBLEM) == {"display_name": "Problem 1", "data": "<p/>", "weights": {"a": [1, 2]}}
    assert authored.value_of(PROBLEM, "data") == "<p/>"
    assert authored.values_of(OTHER) == {}
    with pytest.raises(KeyError):
        authored.value_of(PROBLEM, "tags_list")
    with pytest.raises(KeyError):
        authored.value_of(OTHER, "data")


def test_has_says_whether_the_block_sets_a_field(draft):
    authored, block = draft
    assert authored.has(block, "data") and authored.has(block, "weights")
    assert not authored.has(block, "tags_list") and not authored.has(block, "due")


def test_a_seed_replaces_the_blocks_values_and_keeps_a_copy():
    authored = AuthoredFieldData(writable=True, inherited=Ancestors())
    values = {"weights": {"a": 1}}
    authored.seed(PROBLEM, values)
    values["weights"]["a"] = 2
    values["data"] = "added later"
    assert authored.values_of(PROBLEM) == {"weights": {"a": 1}}
    authored.seed(PROBLEM, {"data": "new"})
    assert authored.values_of(PROBLEM) == {"data": "new"}


# ---- copies handed out
def test_values_read_are_copies(draft):
    authored, block = draft
    authored.values_of(PROBLEM)["weights"]["a"].append(3)
    authored.value_of(PROBLEM, "weights")["b"] = 1
    authored.get(block, "weights")["c"] = 1
    assert authored.value_of(PROBLEM, "weights") == {"a": [1, 2]}
    assert not authored.has_changes(PROBLEM)


def test_a_value_written_is_copied_in(draft):
    authored, block = draft
    weights = {"x": [1]}
    authored.set(block, "weights", weights)
    weights["x"].append(2)
    assert authored.value_of(PROBLEM, "weights") == {"x": [1]}


def test_mutating_a_blocks_field_changes_nothing_until_it_is_saved(draft):
    authored, block = draft
    block.weights["a"].append(3)
    assert authored.value_of(PROBLEM, "weights") == {"a": [1, 2]}
    block.save()
    assert authored.value_of(PROBLEM, "weights") == {"a": [1, 2, 3]}
    assert authored.has_changes(PROBLEM)


# ---- writing (draft runtimes)
def test_a_saved_block_writes_its_changed_fields_and_is_marked_changed(draft):
    authored, block = draft
    block.data = "<p>new</p>"
    block.tags_list = ["x"]
    block.save()
    assert authored.values_of(PROBLEM) == {
        "display_name": "Problem 1", "data": "<p>new</p>", "weights": {"a": [1, 2]}, "tags_list": ["x"]
    }
    assert authored.has_changes(PROBLEM) and not authored.has_changes(OTHER)


def test_writing_the_value_a_field_already_has_is_no_change(draft):
    authored, block = draft
    authored.set(block, "data", "<p/>")
    authored.set_many(block, {"weights": {"a": [1, 2]}, "display_name": "Problem 1"})
    authored.set_many(block, {})
    assert not authored.has_changes(PROBLEM)


def test_delete_removes_a_field_and_is_a_change(draft):
    authored, block = draft
    authored.delete(block, "display_name")
    assert "display_name" not in authored.values_of(PROBLEM)
    assert authored.has_changes(PROBLEM)
    assert block.display_name == "Untitled"


def test_deleting_a_field_the_block_does_not_set_is_no_change(draft):
    authored, block = draft
    authored.delete(block, "tags_list")
    assert not authored.has_changes(PROBLEM)


def test_mark_unchanged_and_a_new_seed_clear_the_change(draft):
    authored, block = draft
    authored.set(block, "data", "changed")
    authored.mark_unchanged(PROBLEM)
    assert not authored.has_changes(PROBLEM)
    assert authored.value_of(PROBLEM, "data") == "changed", "the value stays; only the mark goes"
    authored.set(block, "data", "changed again")
    authored.seed(PROBLEM, {"data": "as stored"})
    assert not authored.has_changes(PROBLEM)
    assert authored.value_of(PROBLEM, "data") == "as stored"


# ---- read-only (published runtimes)
def test_a_read_only_store_refuses_every_write_and_keeps_its_values(published):
    authored, block = published
    before = authored.values_of(PROBLEM)
    for write in (
        lambda: authored.set(block, "data", "x"),
        lambda: authored.set_many(block, {"display_name": "x", "data": "y"}),
        lambda: authored.delete(block, "data"),
    ):
        with pytest.raises(AuthoredFieldReadOnly):
            write()
    assert authored.values_of(PROBLEM) == before
    assert not authored.has_changes(PROBLEM)


def test_the_refusal_says_which_field_of_which_block_and_where_to_edit_it(published):
    authored, block = published
    with pytest.raises(AuthoredFieldReadOnly) as refused:
        authored.set(block, "data", "x")
    message = str(refused.value)
    assert str(PROBLEM) in message and "'data'" in message and "content" in message
    assert "read-only in a published (learner) runtime" in message and "draft runtime" in message
    assert isinstance(refused.value, InvalidScopeError)  # callers catching XBlock's error still do


def test_a_block_saved_in_a_read_only_store_raises(published):
    authored, block = published
    block.display_name = "Renamed"
    with pytest.raises(AuthoredFieldReadOnly):
        block.save()
    assert authored.value_of(PROBLEM, "display_name") == "Problem 1"


def test_while_loading_a_read_only_store_takes_values_without_marking_changes(published):
    authored, block = published
    with authored.loading():
        authored.set(block, "data", "from OLX")
        authored.delete(block, "weights")
        with authored.loading():
            authored.set(block, "tags_list", ["a"])
        authored.set(block, "display_name", "still loading")  # the inner block left loading on
    assert authored.values_of(PROBLEM) == {"display_name": "still loading", "data": "from OLX", "tags_list": ["a"]}
    assert not authored.has_changes(PROBLEM)
    with pytest.raises(AuthoredFieldReadOnly):
        authored.set(block, "data", "after loading")


def test_loading_ends_even_when_the_load_fails(published):
    authored, block = published
    with pytest.raises(RuntimeError), authored.loading():
        raise RuntimeError("the block's parser failed")
    with pytest.raises(AuthoredFieldReadOnly):
        authored.set(block, "data", "x")


# ---- inherited values
DUE = "2026-03-01T12:00:00Z"


def test_an_unset_inheritable_field_takes_the_ancestors_value_through_the_callable():
    ancestors = Ancestors({(PROBLEM, "due"): DUE, (PROBLEM, "graded"): True})
    authored, block = build(writable=False, inherited=ancestors)
    assert block.due == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert block.graded is True
    assert authored.default(block, "due") == DUE
    assert (PROBLEM, "due") in ancestors.asked


def test_an_inheritable_field_no_ancestor_sets_has_its_default():
    authored, block = build(writable=False, inherited=Ancestors())
    assert block.showanswer == "finished" and block.due is None
    with pytest.raises(KeyError):
        authored.default(block, "showanswer")


def test_a_value_the_block_sets_wins_over_the_ancestors():
    ancestors = Ancestors({(PROBLEM, "showanswer"): "always"})
    authored, block = build(writable=True, inherited=ancestors)
    authored.set(block, "showanswer", "never")
    assert block.showanswer == "never"
    assert (PROBLEM, "showanswer") not in ancestors.asked


def test_fields_that_are_not_inheritable_never_ask_the_ancestors():
    ancestors = Ancestors({(PROBLEM, "tags_list"): ["inherited?"]})
    authored, block = build(writable=False, inherited=ancestors)
    assert block.tags_list == []
    with pytest.raises(KeyError):
        authored.default(block, "tags_list")
    assert ancestors.asked == []
