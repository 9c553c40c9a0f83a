"""
Safe OLX parsing and the resolution of a block's definition.

The parser resolves no entities, loads no DTD and touches no network. A block in an OLX export is
either written inline or as a *pointer* (``<problem url_name="x"/>``) to ``problem/x.xml``; an
``html`` definition may further name its body in ``html/<filename>.html``. lc-runtime stores every
block self-contained: :func:`resolve_definition` follows both kinds of reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from fs.base import FS
from fs.errors import IllegalBackReference, ResourceNotFound
from lxml import etree

__all__ = [
    "HostileOlx",
    "OlxError",
    "element_to_string",
    "is_pointer",
    "parse_olx",
    "pointer_path",
    "read_xml_file",
    "resolve_definition",
    "safe_parser",
]


@dataclass
class OlxError(ValueError):
    """OLX that cannot be read, with where it was found."""

    message: str
    file: str | None = None
    line: int | None = None
    block: str | None = None

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line) if part is not None)
        block = f" [{self.block}]" if self.block else ""
        return f"{where}{block}: {self.message}" if where or block else self.message


class HostileOlx(OlxError):
    """
    OLX built to attack its reader (entities, a DOCTYPE): not damage to keep but input to refuse.

    Course exports never need either; an import that meets one refuses the whole export and
    writes nothing, whatever ``strict`` says.
    """


def safe_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entities, reads no DTD and makes no network access."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=True,
    )


# A DOCTYPE before the root element (after an optional XML declaration and comments).
_DOCTYPE_PROLOG = re.compile(rb"\A\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL)


def parse_olx(text: str | bytes, *, file: str | None = None) -> etree._Element:
    """Parse OLX text into an element, or raise :class:`OlxError` naming the file and line."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if _DOCTYPE_PROLOG.match(data[:65536]):
        # Checked before parsing: entity bombs make libxml2 fail with a syntax error, not name the attack.
        raise HostileOlx("A DOCTYPE is not allowed in OLX (entities and DTDs are refused)", file=file, line=1)
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise OlxError(exc.msg, file=file, line=exc.lineno) from exc
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise HostileOlx("XML entities are not allowed in OLX", file=file, line=node.sourceline)
    if root.getroottree().docinfo.internalDTD is not None:
        raise HostileOlx("A DOCTYPE is not allowed in OLX", file=file, line=1)
    return root


def read_xml_file(source: FS, path: str) -> etree._Element:
    """Read and parse an XML file of an OLX export."""
    try:
        data = source.readbytes(path)
    except ResourceNotFound as exc:
        raise OlxError("file not found", file=path) from exc
    except IllegalBackReference as exc:  # a url_name or filename with "..": never read outside the export
        raise OlxError("the path leads outside the export", file=path) from exc
    return parse_olx(data, file=path)


def read_json_object(source: FS, path: str, *, object_of_objects: bool = False) -> dict:
    """
    The JSON object in the export's file ``path`` ({} when there is none), or :class:`OlxError` with
    file (and line) for text that is not UTF-8, not JSON, not an object, or (``object_of_objects``)
    an object whose values are not all objects.
    """
    if not source.isfile(path):
        return {}
    try:
        data = json.loads(source.readtext(path, encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OlxError(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    except UnicodeDecodeError as exc:
        raise OlxError("not UTF-8 text", file=path) from exc
    if not isinstance(data, dict):
        raise OlxError("expected a JSON object", file=path)
    if object_of_objects and not all(isinstance(value, dict) for value in data.values()):
        raise OlxError("expected a JSON object whose values are objects", file=path)
    return data


def is_pointer(element: etree._Element) -> bool:
    """True for ``<tag url_name="..."/>`` (and ``<course url_name org course/>``): a reference to a file."""
    expected = {"url_name", "org", "course"} if element.tag == "course" else {"url_name"}
    has_text = bool(element.text and element.text.strip())
    return len(element) == 0 and set(element.attrib) == expected and not has_text


def _file_name(url_name: str) -> str:
    # OLX keeps ':' in url_names as path separators in file names.
    return url_name.replace(":", "/")


def pointer_path(element: etree._Element) -> str | None:
    """The file a pointer element refers to (``problem/x.xml``), or None for an inline element."""
    return f"{element.tag}/{_file_name(element.get('url_name'))}.xml" if is_pointer(element) else None


def resolve_definition(element: etree._Element, source: FS) -> etree._Element:
    """
    The self-contained definition of a block element: pointers followed, html bodies inlined.

    The returned element carries the block's ``url_name``. Raises :class:`OlxError` when a
    referenced file is missing or malformed.
    """
    if is_pointer(element):
        url_name = element.get("url_name")
        definition = read_xml_file(source, f"{element.tag}/{_file_name(url_name)}.xml")
        if definition.tag != element.tag:
            raise OlxError(
                f"expected <{element.tag}>, found <{definition.tag}>",
                file=f"{element.tag}/{_file_name(url_name)}.xml",
                line=definition.sourceline,
            )
        definition.set("url_name", url_name)
        element = definition
    if element.tag == "html" and element.get("filename") is not None and len(element) == 0:
        element = _inline_html_body(element, source)
    return element


def _inline_html_body(element: etree._Element, source: FS) -> etree._Element:
    filename = element.get("filename")
    candidates = [f"html/{filename}", f"html/{filename}.html"] if filename.endswith(".html") else [
        f"html/{filename}.html"
    ]
    for path in candidates:
        try:
            found = source.exists(path)
        except IllegalBackReference as exc:
            raise OlxError("the path leads outside the export", file=path, block=element.get("url_name")) from exc
        if found:
            body = source.readtext(path, encoding="utf-8")
            inlined = etree.Element(element.tag, {k: v for k, v in element.attrib.items() if k != "filename"})
            # CDATA keeps stored bodies readable; a body that itself contains "]]>" is stored escaped.
            inlined.text = (etree.CDATA(body) if "]]>" not in body else body) if body else None
            return inlined
    raise OlxError(f"html body {filename!r} not found", file=candidates[0], block=element.get("url_name"))


def element_to_string(element: etree._Element) -> str:
    """Serialize an element as stored OLX text."""
    return etree.tostring(element, encoding="unicode")
