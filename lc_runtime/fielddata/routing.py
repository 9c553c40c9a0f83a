"""One FieldData for a runtime: each scope goes to the store that owns it."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from xblock.field_data import FieldData

from lc_runtime.blocks.scopes import is_authored, is_structure
from lc_runtime.fielddata.errors import FieldWriteRefused

__all__ = ["RuntimeFieldData", "RuntimeOwnedField"]


class RuntimeOwnedField(FieldWriteRefused):
    """A block tried to write ``children`` or ``parent``, which the runtime owns."""


_STRUCTURE, _AUTHORED, _LEARNER = "structure", "authored", "learner"


@cache
def _store_kind(block_class: type, name: str) -> str:
    """Which store a field of a class belongs to: decided once per class and field (fields are per class)."""
    scope = block_class.fields[name].scope
    if is_structure(scope):
        return _STRUCTURE
    return _AUTHORED if is_authored(scope) else _LEARNER


class RuntimeFieldData(FieldData):
    """
    Routes ``content``/``settings`` to the authored store, learner scopes to the learner store, and
    ``children``/``parent`` to the runtime's tree (``structure(block, name)``), which owns them:
    blocks may read their children but not rewrite them.
    """

    def __init__(self, authored: FieldData, learner: FieldData, structure: Callable[[Any, str], Any]) -> None:
        self.authored = authored
        self.learner = learner
        self._structure = structure

    def _store(self, block, name: str) -> FieldData | None:
        kind = _store_kind(type(block), name)
        if kind is _STRUCTURE:
            return None
        return self.authored if kind is _AUTHORED else self.learner

    def get(self, block, name: str) -> Any:
        store = self._store(block, name)
        if store is None:
            return self._structure(block, name)
        return store.get(block, name)

    def has(self, block, name: str) -> bool:
        store = self._store(block, name)
        if store is None:
            try:
                self._structure(block, name)
            except KeyError:
                return False
            return True
        return store.has(block, name)

    def set(self, block, name: str, value: Any) -> None:
        self.set_many(block, {name: value})

    def set_many(self, block, update_dict) -> None:
        grouped: dict[int, tuple[FieldData, dict]] = {}
        for name, value in update_dict.items():
            store = self._store(block, name)
            if store is None:
                if value == self._structure(block, name):
                    continue  # reading a mutable field marks it dirty; writing back the same list is fine
                raise RuntimeOwnedField(
                    f"{block.scope_ids.usage_id}: {name!r} is owned by the runtime; change the course "
                    "structure through lc_runtime.api instead"
                )
            grouped.setdefault(id(store), (store, {}))[1][name] = value
        for store, values in grouped.values():
            store.set_many(block, values)

    def delete(self, block, name: str) -> None:
        store = self._store(block, name)
        if store is None:
            raise RuntimeOwnedField(f"{block.scope_ids.usage_id}: {name!r} is owned by the runtime")
        store.delete(block, name)

    def default(self, block, name: str) -> Any:
        store = self._store(block, name)
        if store is None:
            raise KeyError(name)
        return store.default(block, name)
