"""Block ids for the runtime: opaque-keys usage keys, where a block's definition is its usage."""

from __future__ import annotations

import uuid

from opaque_keys.edx.asides import AsideDefinitionKeyV2, AsideUsageKeyV2
from xblock.exceptions import NoSuchDefinition, NoSuchUsage
from xblock.runtime import IdGenerator, IdReader

__all__ = ["CourseIdManager"]


class CourseIdManager(IdReader, IdGenerator):
    """
    Reads and makes ids within one course run.

    Definition ids are the usage keys themselves (``block-v1:`` keys), as in the XML modulestore.
    ``target_course_id`` is what the video block reads when it parses.
    """

    def __init__(self, course_key) -> None:
        self.target_course_id = course_key
        # The block id a parse is for, used when a block asks for a definition without a slug.
        self.parsing_block_id: str | None = None

    def get_definition_id(self, usage_id):
        if not hasattr(usage_id, "block_type"):
            raise NoSuchUsage(repr(usage_id))
        return usage_id

    def get_block_type(self, def_id):
        try:
            return def_id.block_type
        except AttributeError as exc:
            raise NoSuchDefinition(repr(def_id)) from exc

    def get_usage_id_from_aside(self, aside_id):
        return aside_id.usage_key

    def get_definition_id_from_aside(self, aside_id):
        return aside_id.definition_key

    def get_aside_type_from_usage(self, aside_id):
        return aside_id.aside_type

    def get_aside_type_from_definition(self, aside_id):
        return aside_id.aside_type

    def create_definition(self, block_type, slug=None):
        block_id = slug or self.parsing_block_id or uuid.uuid4().hex
        return self.target_course_id.make_usage_key(block_type, block_id)

    def create_usage(self, def_id):
        return def_id

    def create_aside(self, definition_id, usage_id, aside_type):
        return AsideDefinitionKeyV2(definition_id, aside_type), AsideUsageKeyV2(usage_id, aside_type)
