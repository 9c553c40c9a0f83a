"""Serializing a block back into the self-contained OLX that lc-runtime stores."""

from __future__ import annotations

from fs.memoryfs import MemoryFS
from lxml import etree

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
    try:
        node = etree.Element("unknown")
        block.add_xml_to_node(node)
    finally:
        runtime.export_fs = previous
    node = resolve_definition(node, scratch)
    node.attrib.pop("url_name", None)
    return element_to_string(node)
