"""
Authored scopes (``content`` and ``settings``): the values a block's OLX gives it.

The runtime fills this store by parsing each block's OLX with the block class's own ``parse_xml``
(once per version: see ``lc_runtime.fielddata.parse_cache``). In draft mode blocks may change their values
and the runtime serializes them into a new component version when they are saved; in published
mode every write raises :class:`AuthoredFieldReadOnly`. Unset inheritable fields take the value of
the nearest ancestor that sets them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from xblock.field_data import FieldData

from lc_runtime.blocks.inheritance import INHERITABLE_FIELD_NAMES
from lc_runtime.fielddata.errors import FieldWriteRefused

__all__ = ["AuthoredFieldData", "AuthoredFieldReadOnly"]


class AuthoredFieldReadOnly(FieldWriteRefused):
    """An authored field was written where authored content is read-only (a learner runtime)."""


class AuthoredFieldData(FieldData):
    """
    Content and settings values of the blocks of one runtime, keyed by usage key.

    ``inherited(usage_key, name)`` returns the JSON value an ancestor sets for an inheritable field,
    or raises KeyError.
    """

    def __init__(self, *, writable: bool, inherited: Callable[[Any, str], Any]) -> None:
        self.writable = writable
        self._inherited = inherited
        self._values: dict[Any, dict[str, Any]] = {}
        self._changed: set[Any] = set()
        self._loading = False

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Inside, writes fill the store from OLX instead of changing content."""
        previous, self._loading = self._loading, True
        try:
            yield
        finally:
            self._loading = previous

    def seed(self, usage_key, values: Mapping[str, Any]) -> None:
        """Set a block's stored values (JSON) as loaded, without marking them changed."""
        self._values[usage_key] = copy.deepcopy(dict(values))
        self._changed.discard(usage_key)

    def values_of(self, usage_key) -> dict[str, Any]:
        """A copy of a block's stored values."""
        return copy.deepcopy(self._values.get(usage_key, {}))

    def value_of(self, usage_key, name: str) -> Any:
        """A copy of one stored value of a block; KeyError if the block does not set it."""
        return copy.deepcopy(self._values.get(usage_key, {})[name])

    def is_loaded(self, usage_key) -> bool:
        return usage_key in self._values

    def has_changes(self, usage_key) -> bool:
        return usage_key in self._changed

    def mark_unchanged(self, usage_key) -> None:
        self._changed.discard(usage_key)

    def _check_writable(self, block, name: str) -> None:
        if not (self.writable or self._loading):
            raise AuthoredFieldReadOnly(
                f"{block.scope_ids.usage_id}: the {block.fields[name].scope} field {name!r} is authored "
                "content, read-only in a published (learner) runtime. Edit it in a draft runtime."
            )

    def get(self, block, name: str) -> Any:
        return copy.deepcopy(self._values.get(block.scope_ids.usage_id, {})[name])

    def has(self, block, name: str) -> bool:
        return name in self._values.get(block.scope_ids.usage_id, {})

    def set(self, block, name: str, value: Any) -> None:
        self.set_many(block, {name: value})

    def set_many(self, block, update_dict: Mapping[str, Any]) -> None:
        if not update_dict:
            return
        for name in update_dict:
            self._check_writable(block, name)
        usage_key = block.scope_ids.usage_id
        values = self._values.setdefault(usage_key, {})
        for name, value in update_dict.items():
            if values.get(name, _MISSING) != value:
                values[name] = copy.deepcopy(value)
                if not self._loading:
                    self._changed.add(usage_key)

    def delete(self, block, name: str) -> None:
        self._check_writable(block, name)
        values = self._values.get(block.scope_ids.usage_id, {})
        if name in values:
            del values[name]
            if not self._loading:
                self._changed.add(block.scope_ids.usage_id)

    def default(self, block, name: str) -> Any:
        if name in INHERITABLE_FIELD_NAMES:
            return self._inherited(block.scope_ids.usage_id, name)
        raise KeyError(name)


_MISSING = object()
