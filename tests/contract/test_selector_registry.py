"""
The selector registry: entry points ``lc_runtime.selectors.v1`` and ``.overrides``.

The installed set (our built-ins from setup.cfg, the test package's plugin) is read as installed.
Conflicts need two installed distributions, so those tests give the registry a list of real
``EntryPoint`` objects, pointing at real classes, in place of the installed metadata.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from lc_runtime import plugins
from lc_runtime.selectors import AmbiguousSelector, SelectorPluginError, registry
from lc_runtime.selectors.item_bank import ItemBankSelector
from lc_runtime.selectors.split_test import SplitTestSelector


@pytest.fixture(autouse=True)
def _fresh_registry():
    registry.clear_cache()
    yield
    registry.clear_cache()


def installed(monkeypatch, **groups: list[tuple[str, str]]) -> None:
    by_group = {
        group.replace("__", "."): [EntryPoint(name, value, group.replace("__", ".")) for name, value in entries]
        for group, entries in groups.items()
    }
    monkeypatch.setattr(plugins, "entry_points", lambda group: by_group.get(group, []))


V1 = "lc_runtime__selectors__v1"
OVERRIDES = "lc_runtime__selectors__v1__overrides"


def test_the_built_ins_and_the_test_plugin_are_installed():
    classes = registry.selector_classes()
    assert {"split_test", "randomize", "library_content", "itembank", "lc_test_rotation"} <= set(classes)
    assert registry.selector_for_tag("split_test") is SplitTestSelector
    assert registry.selector_for_tag("vertical") is None


def test_two_plugins_of_one_name_are_an_error(monkeypatch):
    installed(monkeypatch, **{V1: [
        ("itembank", "lc_runtime.selectors.item_bank:ItemBankSelector"),
        ("itembank", "lc_runtime_test_plugins.selectors:RotationSelector"),
    ]})
    # Only that name fails, where it is asked for; every other selector keeps working.
    assert "itembank" not in registry.selector_classes()
    assert "2 plugins register the selector 'itembank'" in str(registry.plugin_errors()["itembank"])
    with pytest.raises(AmbiguousSelector, match="2 plugins register the selector 'itembank'"):
        registry.selector_for_tag("itembank")
    assert "itembank" not in registry.selector_tags()


def test_an_override_replaces_a_built_in(monkeypatch):
    class MyItemBank(ItemBankSelector):
        pass

    monkeypatch.setattr("tests.contract.test_selector_registry.MyItemBank", MyItemBank, raising=False)
    installed(monkeypatch, **{
        V1: [("itembank", "lc_runtime.selectors.item_bank:ItemBankSelector")],
        OVERRIDES: [("itembank", "tests.contract.test_selector_registry:MyItemBank")],
    })
    assert registry.selector_classes()["itembank"] is MyItemBank
    assert registry.selector_for_tag("itembank") is MyItemBank


def test_two_selectors_claiming_one_tag_are_an_error(monkeypatch):
    class Impostor(SplitTestSelector):
        type_name = "impostor"

    monkeypatch.setattr("tests.contract.test_selector_registry.Impostor", Impostor, raising=False)
    installed(monkeypatch, **{V1: [
        ("split_test", "lc_runtime.selectors.split_test:SplitTestSelector"),
        ("impostor", "tests.contract.test_selector_registry:Impostor"),
    ]})
    with pytest.raises(AmbiguousSelector, match="<split_test> is claimed"):
        registry.selector_for_tag("split_test")
    assert registry.selector_tags() == {}


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("split_test", "lc_runtime.selectors.no_such_module:Nothing", "failed to load"),
        ("split_test", "lc_runtime.selectors.base:PoolMember", "not a Selector subclass"),
        ("ab_test", "lc_runtime.selectors.split_test:SplitTestSelector", "registered as 'ab_test'"),
    ],
)
def test_a_badly_installed_plugin_names_itself(monkeypatch, name, target, message):
    installed(monkeypatch, **{V1: [(name, target), ("itembank", "lc_runtime.selectors.item_bank:ItemBankSelector")]})
    # The broken plugin is left out and named; the others load.
    assert list(registry.selector_classes()) == ["itembank"]
    assert isinstance(registry.plugin_errors()[name], SelectorPluginError)
    assert message in str(registry.plugin_errors()[name])
    assert registry.selector_for_tag("split_test") is None
