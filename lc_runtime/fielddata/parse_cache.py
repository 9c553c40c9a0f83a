"""
Authored values from a block's stored form: containers' settings, components' OLX parsed once per version.

A component's OLX is parsed with its block class's own parser; the values it sets are kept per
process by (component version uuid, block class) in :data:`parse_cache`. Versions are immutable and
some blocks (video) have side effects when they parse, so each version is parsed once and every
learner's block is built from the values (ADR 0005). A failure is remembered like a parse: a
version's OLX fails the same way every time.

The parser needs the XBlock runtime the block is built in (``parse_xml(node, runtime, keys)``): the
caller passes it in.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from django.db import DatabaseError
from xblock.fields import ScopeIds

from lc_runtime.blocks.scopes import is_authored
from lc_runtime.content.courses.api import BlockRecord
from lc_runtime.fielddata.authored import AuthoredFieldData
from lc_runtime.olx.damaged import DamagedBlockError, damage_of
from lc_runtime.olx.parsing import parse_olx

__all__ = ["ParseCache", "authored_values", "parse_cache"]

log = logging.getLogger(__name__)

PARSE_CACHE_SIZE = 20_000


class _ParseFailure:
    """A version whose OLX its block class could not load, remembered like a successful parse."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class ParseCache:
    """
    The authored values block classes parsed from component versions' OLX, by (version uuid, block class).

    Holds at most ``max_entries``; past that, the entry stored first is dropped. A parse that fails
    is remembered too, and its error raised again. Database errors are not remembered: they propagate.
    """

    def __init__(self, max_entries: int = PARSE_CACHE_SIZE) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, type], dict[str, Any] | _ParseFailure] = OrderedDict()

    def values(
        self, record: BlockRecord, usage_key, block_class: type, *, runtime, authored: AuthoredFieldData
    ) -> dict[str, Any]:
        """
        A copy of the authored values ``block_class`` parses from the OLX of ``record``'s version.

        Parsed on the first call (with ``runtime`` as the XBlock runtime, filling ``authored`` while it
        loads); the exception the parse raised if it failed.
        """
        cache_key = (record.version_uuid, block_class)
        cached = self._entries.get(cache_key)
        if cached is None:
            try:
                cached = _parse_authored_values(record, usage_key, block_class, runtime, authored)
            except DatabaseError:
                raise
            except Exception as exc:
                log.warning("%s could not be loaded from its OLX", usage_key, exc_info=True)
                cached = _ParseFailure(exc)
            self._entries[cache_key] = cached
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        if isinstance(cached, _ParseFailure):
            raise cached.error
        return copy.deepcopy(cached)


parse_cache = ParseCache()
"""The process's cache: versions are immutable, so a parse is good for every runtime in the process."""


def authored_values(
    record: BlockRecord,
    usage_key,
    block_class: type,
    *,
    runtime,
    authored: AuthoredFieldData,
    run_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    The authored values (JSON) of the block ``record`` stands for, to seed ``authored`` with.

    A container's are its stored settings, with ``run_settings`` (the course run's own dates, given
    for the course root) over them; a component's are what ``block_class`` parses from its OLX, once
    per version (:data:`parse_cache`). A block kept at import as damaged raises
    :class:`DamagedBlockError`; a component whose class cannot parse its OLX raises that error.
    """
    damage = damage_of(record)
    if damage is not None:  # kept at import as an error placeholder: it loads as one
        raise DamagedBlockError(damage.notice())
    if record.is_container:
        values = dict(record.fields)
        values.setdefault("display_name", record.title or None)
        if run_settings is not None:
            # The run's own dates override the course's; descendants inherit them from here.
            values.update(run_settings)
        return values
    return parse_cache.values(record, usage_key, block_class, runtime=runtime, authored=authored)


def _parse_authored_values(
    record: BlockRecord, usage_key, block_class: type, runtime, authored: AuthoredFieldData
) -> dict[str, Any]:
    """Parse a component's OLX with its class's own parser; keep the authored values it sets."""
    node = parse_olx(record.olx or f"<{record.block_type}/>", file=f"{usage_key} (block.xml)")
    node.attrib.pop("xblock-family", None)
    scope_ids = ScopeIds(None, record.block_type, usage_key, usage_key)
    # A block that asks the runtime for a definition without naming one gets the block it parses as.
    ids = runtime.id_generator
    ids.parsing_block_id = record.block_id
    try:
        with authored.loading():
            parse = _olx_parser(block_class)
            parsed = parse(node, runtime, scope_ids)
            names = [name for name in parsed._get_fields_to_save() if is_authored(parsed.fields[name].scope)]
            parsed.force_save_fields(names)
    finally:
        ids.parsing_block_id = None
    values = authored.values_of(usage_key)
    if not values.get("display_name") and record.title:
        values.setdefault("display_name", record.title)
    return values


def _olx_parser(block_class: type):
    """
    The classmethod that parses a block's stored OLX: ``parse_xml_new_runtime`` where the class has one.

    xblocks-contrib's ``LegacyXmlMixin`` defines it as a fallback to ``super().parse_xml``, which fails
    for classes that put the mixin after ``XBlock`` (``DiscussionXBlock``): those parse with the
    ``parse_xml`` that comes first in their MRO.
    """

    mro = block_class.__mro__

    def owner(name: str) -> int:
        return next((i for i, klass in enumerate(mro) if name in vars(klass)), len(mro))

    if owner("parse_xml_new_runtime") <= owner("parse_xml"):
        return block_class.parse_xml_new_runtime
    return block_class.parse_xml
