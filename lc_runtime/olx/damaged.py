"""
Damaged blocks: what an import keeps of a block it could not read, so that nothing is lost.

A block whose own file is missing or malformed, whose ``url_name`` is taken or not a valid key, or
that stands where its kind cannot, is kept as an error placeholder: a block that renders a notice and
remembers exactly what was there — the element as written in its parent's file and the bytes of its
own file, if it had one — so that export writes both back unchanged and the course team can fix them
in the export, or in Studio, later.

A placeholder for a component stores :meth:`DamagedBlock.to_olx` as its OLX (an element in our own
namespace, which no XBlock parses); a placeholder for a container keeps :meth:`DamagedBlock.to_json`
in its container settings under :data:`DAMAGE_KEY`. :func:`damage_of` reads either back from a tree
record, for the runtime (which then loads an ``ErrorPlaceholderBlock``) and for export.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from lxml import etree

from lc_runtime.olx.parsing import OlxError, parse_olx

__all__ = ["DAMAGED_NAMESPACE", "DAMAGE_KEY", "DamagedBlock", "DamagedBlockError", "damage_of"]

DAMAGED_NAMESPACE = "urn:lc-runtime:damaged-block"
DAMAGE_KEY = "{urn:lc-runtime:damaged-block}damage"
"""The key of a damaged container's record in its settings' ``extra_attributes`` (no OLX attribute has braces)."""

_ROOT = f"{{{DAMAGED_NAMESPACE}}}damaged"
_ELEMENT = f"{{{DAMAGED_NAMESPACE}}}element"
_FILE = f"{{{DAMAGED_NAMESPACE}}}file"
# Characters XML 1.0 text cannot hold: a file containing them is kept base64-encoded instead.
_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class DamagedBlockError(Exception):
    """Raised when a runtime is asked to load a damaged block as its own class: it loads as an error notice."""


def _as_text(data: bytes) -> str | None:
    """``data`` as text that XML can carry unchanged, or None if it cannot."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _NOT_XML_TEXT.search(text) else text


@dataclass(frozen=True)
class DamagedBlock:
    """What was there where a block could not be imported, and why."""

    tag: str
    """The OLX tag as written (``problem``, ``vertical``, ...)."""
    message: str
    file: str | None
    line: int | None
    element: str
    """The element as it stood in its parent's file: a pointer, or the whole inline definition."""
    own_file: str | None = None
    """The block's own definition file (``problem/x.xml``), when it had one that exists."""
    own_file_data: bytes | None = None

    def notice(self) -> str:
        """One line for people: where and what."""
        return str(OlxError(self.message, self.file, self.line, None))

    # ---- as a component's OLX
    def to_olx(self) -> str:
        """The OLX a placeholder component stores: our own element, holding the original text verbatim."""
        root = etree.Element(_ROOT, nsmap={"lc": DAMAGED_NAMESPACE})
        root.set("tag", self.tag)
        root.set("message", self.message)
        if self.file is not None:
            root.set("file", self.file)
        if self.line is not None:
            root.set("line", str(self.line))
        etree.SubElement(root, _ELEMENT).text = self.element
        if self.own_file is not None and self.own_file_data is not None:
            kept = etree.SubElement(root, _FILE, path=self.own_file)
            text = _as_text(self.own_file_data)
            if text is None:
                kept.set("encoding", "base64")
                kept.text = base64.b64encode(self.own_file_data).decode("ascii")
            else:
                kept.text = text
        return etree.tostring(root, encoding="unicode")

    @classmethod
    def from_olx(cls, olx: str | None) -> DamagedBlock | None:
        """The damaged block a placeholder's OLX describes, or None for any other OLX."""
        if not olx or DAMAGED_NAMESPACE not in olx:
            return None
        try:
            root = parse_olx(olx)
        except OlxError:
            return None
        if root.tag != _ROOT:
            return None
        element = root.find(_ELEMENT)
        kept = root.find(_FILE)
        own_file, own_file_data = None, None
        if kept is not None:
            own_file = kept.get("path")
            text = kept.text or ""
            own_file_data = base64.b64decode(text) if kept.get("encoding") == "base64" else text.encode("utf-8")
        line = root.get("line")
        return cls(
            tag=root.get("tag", ""),
            message=root.get("message", ""),
            file=root.get("file"),
            line=int(line) if line and line.isdigit() else None,
            element=(element.text or "") if element is not None else "",
            own_file=own_file,
            own_file_data=own_file_data,
        )

    # ---- as a container's settings
    def to_json(self) -> dict:
        """The JSON a placeholder container keeps under :data:`DAMAGE_KEY`."""
        data: dict = {"tag": self.tag, "message": self.message, "file": self.file, "line": self.line,
                      "element": self.element}
        if self.own_file is not None and self.own_file_data is not None:
            text = _as_text(self.own_file_data)
            data["own_file"] = self.own_file
            if text is None:
                data["own_file_base64"] = base64.b64encode(self.own_file_data).decode("ascii")
            else:
                data["own_file_text"] = text
        return data

    @classmethod
    def from_json(cls, data: dict) -> DamagedBlock:
        """The inverse of :meth:`to_json`."""
        own_file_data = None
        if "own_file_base64" in data:
            own_file_data = base64.b64decode(data["own_file_base64"])
        elif "own_file_text" in data:
            own_file_data = data["own_file_text"].encode("utf-8")
        return cls(
            tag=data.get("tag", ""),
            message=data.get("message", ""),
            file=data.get("file"),
            line=data.get("line"),
            element=data.get("element", ""),
            own_file=data.get("own_file"),
            own_file_data=own_file_data,
        )


def damage_of(record) -> DamagedBlock | None:
    """
    The damage a tree record (:class:`lc_runtime.content.courses.api.BlockRecord`) stands for, or None for a
    healthy block.
    """
    if record.is_container:
        data = record.extra_attributes.get(DAMAGE_KEY) if record.extra_attributes else None
        return DamagedBlock.from_json(data) if isinstance(data, dict) else None
    return DamagedBlock.from_olx(record.olx)
