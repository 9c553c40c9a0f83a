"""
Safe OLX parsing and the resolution of a block's definition.

The parser resolves no entities, loads no DTD and touches no network. A block in an OLX export is
either written inline or as a *pointer* (``<problem url_name="x"/>``) to ``problem/x.xml``; an
``html`` definition may further name its body in ``html/<filename>.html``. lc-runtime stores every
block self-contained: :func:`resolve_definition` follows both kinds of reference.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from fs.base import FS
from fs.errors import FileExpected, FSError, IllegalBackReference, NoSysPath, ResourceNotFound
from fs.path import normpath
from fs.wrapfs import WrapFS
from lxml import etree

__all__ = [
    "MAX_TREE_DEPTH",
    "HostileOlx",
    "ImportRefused",
    "OlxError",
    "TooDeep",
    "UnreadableExport",
    "UnsafeExportPath",
    "element_to_string",
    "is_pointer",
    "parse_olx",
    "pointer_path",
    "read_export_file",
    "read_xml_file",
    "resolve_definition",
    "safe_parser",
]

MAX_TREE_DEPTH = 9
"""
The deepest a block may stand in a course, counted as Learning Core nests it: the course root is 0, a
Section 1, a Subsection 2, a Unit 3, a block in a Unit 4; a selector's pool members stand two below it
(the selector is a proxy component depending on a pool container) and a leaf's children one below it.

Why 9: publishing, openedx-core walks the dependencies one nested subquery per level, and SQLite's
parser refuses the statement past nine levels ("parser stack overflow"). Real courses need 7 (a
split test of Units of problems) or 9 (a split test holding a library_content). Deeper exports are
refused while they are read (:class:`TooDeep`), before Python's stack or the database gives up.
"""


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


class ImportRefused(OlxError):
    """
    An error that refuses the whole import, whatever ``strict`` says: never kept as a damaged block.

    Its subclasses say why: :class:`HostileOlx`, :class:`UnsafeExportPath`, :class:`UnreadableExport`,
    :class:`TooDeep`.
    """


class HostileOlx(ImportRefused):
    """
    OLX built to attack its reader (entities, a DOCTYPE): not damage to keep but input to refuse.

    Course exports never need either; an import that meets one refuses the whole export and
    writes nothing, whatever ``strict`` says.
    """


class UnsafeExportPath(HostileOlx):
    """A file of the export reached through a symbolic link, leading outside the export, or not a regular file."""


class UnreadableExport(ImportRefused):
    """The export's bytes cannot be read: a truncated or corrupt archive, a member failing its checksum."""


class TooDeep(ImportRefused):
    """A course tree nested deeper than :data:`MAX_TREE_DEPTH`."""


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


_DOCTYPE_MESSAGE = "A DOCTYPE is not allowed in OLX (entities and DTDs are refused)"


class _DoctypeSeen(Exception):
    """Raised by :class:`_DoctypeDetector` the moment the parser reports a DOCTYPE."""


class _DoctypeDetector:
    """
    An lxml parser target that only stops at a DOCTYPE: libxml2 reports it (``doctype``) before it reads
    the internal subset's entity declarations, whatever the encoding (BOM, UTF-16) and wherever it stands.
    """

    def doctype(self, *_args) -> None:
        raise _DoctypeSeen

    def start(self, *_args) -> None: ...
    def end(self, *_args) -> None: ...
    def data(self, *_args) -> None: ...
    def comment(self, *_args) -> None: ...
    def pi(self, *_args) -> None: ...

    def close(self) -> None:
        return None


def _doctype_line(data: bytes) -> int | None:
    """
    The line at which the parser meets a DOCTYPE in ``data``, or None if it meets none.

    Fed a line at a time so that the line is known when the detector stops the parser; entity
    bombs make an ordinary parse fail with a syntax error that does not name the attack, so this is
    asked whenever a parse fails or finds a DOCTYPE.
    """
    parser = etree.XMLParser(target=_DoctypeDetector(), resolve_entities=False, no_network=True, load_dtd=False)
    line = 1
    try:
        for chunk in data.splitlines(keepends=True):
            parser.feed(chunk)
            line += chunk.count(b"\n")
        parser.close()
    except _DoctypeSeen:
        return line
    except etree.XMLSyntaxError:
        return None
    return None


def parse_olx(text: str | bytes, *, file: str | None = None) -> etree._Element:
    """
    Parse OLX text into an element, or raise :class:`OlxError` naming the file and line
    (:class:`HostileOlx` for a DOCTYPE or entity anywhere, in any encoding).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        root = etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        line = _doctype_line(data)
        if line is not None:
            raise HostileOlx(_DOCTYPE_MESSAGE, file=file, line=line) from exc
        raise OlxError(exc.msg, file=file, line=exc.lineno) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url or docinfo.public_id:
        raise HostileOlx(_DOCTYPE_MESSAGE, file=file, line=_doctype_line(data) or 1)
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise HostileOlx("XML entities are not allowed in OLX", file=file, line=node.sourceline)
    return root


def _check_on_disk(source: FS, path: str) -> str | None:
    """
    Refuse (:class:`UnsafeExportPath`) a file on disk reached through a symbolic link anywhere below the
    export's top folder, resolving outside it, or that is not a regular file (a FIFO would block); a
    folder where a file is expected is an :class:`OlxError` (damage, not an attack). Returns the
    file's system path, to be opened without following a link.

    Archives and in-memory filesystems have no system path and no links (an archive's members were
    checked when it was opened): None. A path that does not exist is left to the read to report (None).
    """
    top, full = source, path
    while isinstance(top, WrapFS):  # a sub-folder (the course folder, drafts/): checked from the top
        top, full = top.delegate_path(full)
    try:
        root = top.getsyspath("/")
        parts = PurePosixPath(normpath(full)).parts
    except (NoSysPath, IllegalBackReference):
        return None
    current, status = root, None
    for part in parts:
        if part == "/":
            continue
        current = os.path.join(current, part)
        try:
            status = os.lstat(current)
        except OSError:
            return None
        if stat.S_ISLNK(status.st_mode):
            link = os.path.relpath(current, root)
            raise UnsafeExportPath(f"{link} is a symbolic link: an import reads only the export's own files",
                                   file=path)
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise OlxError("a folder where a file is expected", file=path)
    if status is not None and not stat.S_ISREG(status.st_mode):
        raise UnsafeExportPath("not a regular file", file=path)
    real_root = os.path.realpath(root)
    if os.path.commonpath([os.path.realpath(current), real_root]) != real_root:
        raise UnsafeExportPath("the file lies outside the export", file=path)
    return current if status is not None else None


def _read_without_following(syspath: str, path: str) -> bytes:
    """
    Read a checked file, refusing it if it was swapped for a link or a non-file since the check
    (``O_NOFOLLOW`` on the file itself; ``O_NONBLOCK`` so that a FIFO cannot hold the open).
    """
    try:
        descriptor = os.open(syspath, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeExportPath("became a symbolic link while the import read it", file=path) from exc
        raise UnreadableExport(f"the file could not be read: {exc}", file=path) from exc
    with os.fdopen(descriptor, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise UnsafeExportPath("not a regular file", file=path)
        return file.read()


def read_export_file(source: FS, path: str) -> bytes:
    """
    The bytes of the export's file ``path``: the one door through which an import reads the export.

    Raises :class:`UnsafeExportPath` for a symbolic link or a file outside the export,
    :class:`UnreadableExport` for bytes an archive cannot give (truncated, failing its checksum), and
    :class:`OlxError` for a file that is not there (or a path climbing out with ``..``).
    """
    syspath = _check_on_disk(source, path)
    if syspath is not None:
        return _read_without_following(syspath, path)
    try:
        return source.readbytes(path)
    except (ResourceNotFound, FileExpected) as exc:
        raise OlxError("file not found", file=path) from exc
    except IllegalBackReference as exc:  # a url_name or filename with "..": never read outside the export
        raise OlxError("the path leads outside the export", file=path) from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, FSError) as exc:
        raise UnreadableExport(f"the file could not be read: {exc}", file=path) from exc


def _decoded(data: bytes, path: str) -> str:
    """``data`` as UTF-8 text, or :class:`OlxError` naming the file and the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise OlxError(f"not UTF-8 text (byte {exc.start})", file=path, line=line) from exc


def read_xml_file(source: FS, path: str) -> etree._Element:
    """Read and parse an XML file of an OLX export."""
    return parse_olx(read_export_file(source, path), file=path)


# A JSON string (skipped) or a bare NaN/Infinity token: Python's json reads these, JSON has no such values.
_JSON_NON_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))')


def _refuse_constant(text: str, path: str) -> None:
    """Raise :class:`OlxError` at the first NaN or Infinity of a JSON text."""
    for match in _JSON_NON_NUMBER.finditer(text):
        if match.group(1):
            line = text.count("\n", 0, match.start(1)) + 1
            raise OlxError(f"{match.group(1)} is not a JSON value", file=path, line=line)
    raise OlxError("NaN and Infinity are not JSON values", file=path)


def read_json_object(source: FS, path: str, *, object_of_objects: bool = False) -> dict:
    """
    The JSON object in the export's file ``path`` ({} when there is none), or :class:`OlxError` with
    file (and line) for text that is not UTF-8, not JSON, not an object, or (``object_of_objects``)
    an object whose values are not all objects, or that holds NaN or Infinity.
    """
    if not source.isfile(path):
        return {}
    text = _decoded(read_export_file(source, path), path)

    def refuse(_constant: str):
        _refuse_constant(text, path)

    def finite(number: str) -> float:
        value = float(number)
        if not math.isfinite(value):  # 1e999: a JSON number Python reads as infinity
            at = text.find(number)
            raise OlxError(f"{number} is too large a number", file=path, line=text.count("\n", 0, at) + 1)
        return value

    try:
        # NaN and Infinity: Python reads them, no JSON column stores them (the database refuses the row).
        data = json.loads(text, parse_constant=refuse, parse_float=finite)
    except json.JSONDecodeError as exc:
        raise OlxError(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    except RecursionError as exc:
        raise OlxError("JSON nested too deeply", file=path) from exc
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
            body = _decoded(read_export_file(source, path), path)
            inlined = etree.Element(element.tag, {k: v for k, v in element.attrib.items() if k != "filename"})
            # CDATA keeps stored bodies readable; a body that itself contains "]]>" is stored escaped.
            inlined.text = (etree.CDATA(body) if "]]>" not in body else body) if body else None
            return inlined
    raise OlxError(f"html body {filename!r} not found", file=candidates[0], block=element.get("url_name"))


def element_to_string(element: etree._Element) -> str:
    """Serialize an element as stored OLX text."""
    return etree.tostring(element, encoding="unicode")
