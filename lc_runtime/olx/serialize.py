"""Serializing a block back into the self-contained OLX that lc-runtime stores."""

from __future__ import annotations

from fs.memoryfs import MemoryFS
from lxml import etree
from xblock.core import XML_NAMESPACES
from xblock.fields import Scope

from lc_runtime.blocks.scopes import is_learner
from lc_runtime.olx.parsing import element_to_string, resolve_definition

__all__ = ["serialize_block"]


def serialize_block(block) -> str:
    """
    The block's OLX, written by the block's own ``add_xml_to_node``.

    Blocks that export to files (pointer tags, ``html`` bodies) write them to a scratch filesystem,
    and the definition is read back from there, so the result is one element. Children are not
    written: the runtime stores them separately.
    """
    runtime = block.runtime
    scratch = MemoryFS()
    previous = getattr(runtime, "export_fs", None)
    runtime.export_fs = scratch
    # XBlock writes a ``content`` field as the element's text, which only a string can be (acid's
    # is a Dict): write any other value as an attribute, which XBlock's parse_xml reads back.
    content = _non_text_content(block)
    if content is not None:
        block.xml_text_content = lambda: None  # shadows the class's method for this export only
    try:
        node = etree.Element("unknown")
        block.add_xml_to_node(node)
    finally:
        runtime.export_fs = previous
        if content is not None:
            del block.xml_text_content
    if content is not None:
        node.set("content", content)
    _drop_learner_fields(block, node)
    node = resolve_definition(node, scratch)
    node.attrib.pop("url_name", None)
    return element_to_string(node)


def _non_text_content(block) -> str | None:
    """The ``content`` field as an attribute string, if the block sets it to something other than text."""
    field = block.fields.get("content")
    if field is None or field.scope != Scope.content or not field.is_set_on(block):
        return None
    value = field.read_from(block)
    if value is None or isinstance(value, str):
        return None
    return field.to_string(value)


def _drop_learner_fields(block, node) -> None:
    """
    Remove what XBlock's export writes for learner-scoped fields: it exports every field set on the
    block, and in a draft runtime those hold the author's own state, which is not content.
    """
    for name, field in block.fields.items():
        if not is_learner(field.scope):
            continue  # authored values are the content; the tree is never exported
        node.attrib.pop(name, None)
        for child in node.findall(f"{{{XML_NAMESPACES['option']}}}{name}"):
            node.remove(child)
