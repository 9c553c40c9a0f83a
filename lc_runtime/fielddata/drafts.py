"""
Saving a block in a draft (Studio) runtime: its authored values become the next draft version.

A component gets a new version of its OLX (the block serialized), a container a new version with its
settings. Learners see neither until the course is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lc_runtime.blocks.scopes import is_authored
from lc_runtime.content.courses.api import BlockRecord, CourseTree, update_component, update_container
from lc_runtime.fielddata.authored import AuthoredFieldData, AuthoredFieldReadOnly
from lc_runtime.fielddata.unit_of_work import unit_of_work
from lc_runtime.olx.serialize import serialize_block

__all__ = ["write_draft"]


def write_draft(
    block, record: BlockRecord, authored: AuthoredFieldData, tree: CourseTree, *, created_by: int | None
) -> None:
    """
    Write ``block`` (``record`` in the draft ``tree``) as the next draft version of its component or
    container, from its values in ``authored``, which then count as unchanged.

    Inside a unit of work (the current one, or its own). Raises :class:`AuthoredFieldReadOnly`, writing
    nothing, for a change to a course setting the run overrides.
    """
    key = block.scope_ids.usage_id
    title = getattr(block, "display_name", None) or ""
    with unit_of_work():
        if record.is_container:
            fields = {
                name: value for name, value in authored.values_of(key).items()
                if name in block.fields and is_authored(block.fields[name].scope)
            }
            if record.ref == tree.root:
                fields = _course_fields_without_run_settings(record, fields, tree.run_settings, tree.course_key)
            update_container(tree.learning_package_id, record.block_type, record.block_id, title, fields)
        else:
            update_component(
                tree.learning_package_id,
                record.block_type,
                record.block_id,
                serialize_block(block),
                title,
                created_by=created_by,
            )
    authored.mark_unchanged(key)


def _course_fields_without_run_settings(
    record: BlockRecord, fields: dict[str, Any], run_settings: Mapping[str, Any], course_key: str
) -> dict[str, Any]:
    """
    The course root's fields to store in the package, which every run shares: a setting the run
    overrides keeps the package's value. Changing such a setting through a block is refused, as it
    belongs to the run (``api.update_run_settings``), not to the content.
    """
    stored = dict(fields)
    for name, run_value in run_settings.items():
        if fields.get(name) != run_value:
            raise AuthoredFieldReadOnly(
                f"{name} is a setting of the course run {course_key}, not of the course content: "
                "change it with lc_runtime.api.update_run_settings"
            )
        if name in record.fields:
            stored[name] = record.fields[name]
        else:
            stored.pop(name, None)
    return stored
