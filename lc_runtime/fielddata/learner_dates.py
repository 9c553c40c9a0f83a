"""
A learner's dates over the authored ones: ``start``, ``due`` and ``end`` as edx-when gives them to the learner.

edx-platform reads a learner's blocks through edx-when's ``DateLookupFieldData``; this is the same
lookup over our authored store. A block's date is the learner's date for that block; else, for an
inheritable field, the learner's date for its nearest ancestor that has one; else the authored value
(its own, or inherited). So a personal extension of a subsection reaches every problem in it, and
in a self-paced run the learner's relative date replaces what the content says.

The learner's dates come from a callable the runtime passes: it loads them on the first read of such
a field and keeps them for the runtime's life.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from opaque_keys.edx.asides import AsideUsageKeyV2
from xblock.field_data import FieldData
from xblock.fields import Date

from lc_runtime.blocks.inheritance import INHERITABLE_FIELD_NAMES
from lc_runtime.content.courses.api import CourseTree
from lc_runtime.content.dates.api import DATE_FIELDS
from lc_runtime.keys import stored_usage_key

__all__ = ["LearnerDatesFieldData"]

_DATE = Date()
_NOT_FOUND = object()


class LearnerDatesFieldData(FieldData):
    """
    The authored store, with the learner's ``start``, ``due`` and ``end`` over it.

    ``dates()`` returns the learner's dates by (usage key, field) (see
    :func:`lc_runtime.content.dates.api.learner_dates`); ``tree`` gives each block's ancestors. Every
    other field, and every write, goes to ``authored`` unchanged.
    """

    def __init__(
        self, authored: FieldData, dates: Callable[[], Mapping[tuple[Any, str], datetime | None]], tree: CourseTree
    ) -> None:
        self.authored = authored
        self._dates = dates
        self._tree = tree
        self._ancestor_keys: dict[tuple[str, str], tuple[Any, ...]] = {}  # built once per block

    def _own(self, usage_key, name: str) -> Any:
        if name not in DATE_FIELDS:
            return _NOT_FOUND
        return self._dates().get((usage_key, name), _NOT_FOUND)

    def _ancestors(self, usage_key) -> Iterator[Any]:
        if isinstance(usage_key, AsideUsageKeyV2):  # an aside has no place in the tree: no ancestors
            return
        ref = (usage_key.block_type, usage_key.block_id)
        ancestors = self._ancestor_keys.get(ref)
        if ancestors is None:
            found = []
            record = self._tree.blocks.get(ref)
            while record is not None and record.parent is not None:
                found.append(stored_usage_key(self._tree.course_key, *record.parent))
                record = self._tree.blocks.get(record.parent)
            ancestors = self._ancestor_keys[ref] = tuple(found)
        yield from ancestors

    def _inherited(self, usage_key, name: str) -> Any:
        """The learner's date for the nearest ancestor that has one (inheritable fields only)."""
        if name not in DATE_FIELDS or name not in INHERITABLE_FIELD_NAMES:
            return _NOT_FOUND
        for ancestor in self._ancestors(usage_key):
            value = self._own(ancestor, name)
            if value is not _NOT_FOUND:
                return value
        return _NOT_FOUND

    @staticmethod
    def _as_stored(block, name: str, value: datetime | None) -> Any:
        # Date fields take the datetime as it is (to_json would drop its microseconds); a field that keeps
        # the date as text (the course's ``end``) gets the ISO form the authored store holds.
        return value if isinstance(block.fields[name], Date) else _DATE.to_json(value)

    def get(self, block, name: str) -> Any:
        value = self._own(block.scope_ids.usage_id, name)
        if value is not _NOT_FOUND:
            return self._as_stored(block, name, value)
        return self.authored.get(block, name)

    def has(self, block, name: str) -> bool:
        usage_key = block.scope_ids.usage_id
        if self._own(usage_key, name) is not _NOT_FOUND:
            return True
        # An ancestor's date for the learner beats the block's own authored value: the field reads as
        # unset, so XBlock asks default(), which finds that date (edx-when's DateLookupFieldData.has).
        if self._inherited(usage_key, name) is not _NOT_FOUND:
            return False
        return self.authored.has(block, name)

    def default(self, block, name: str) -> Any:
        value = self._inherited(block.scope_ids.usage_id, name)
        if value is not _NOT_FOUND:
            return self._as_stored(block, name, value)
        return self.authored.default(block, name)

    def set(self, block, name: str, value: Any) -> None:
        self.authored.set(block, name, value)

    def set_many(self, block, update_dict) -> None:
        self.authored.set_many(block, update_dict)

    def delete(self, block, name: str) -> None:
        self.authored.delete(block, name)
