"""
Exporting a course run as a standard OLX export, which edx-platform and lc-runtime both import.

The layout is Studio's: ``course.xml`` points at ``course/<run>.xml``; chapters, sequentials and
verticals are files of their own (``chapter/<id>.xml``, ...) that list their children as pointers;
leaf blocks are written from their stored OLX, XModule-style blocks to ``<type>/<id>.xml`` (``html``
bodies to ``html/<id>.html``) and pure XBlocks (those whose OLX carries ``xblock-family``) inline in
their parent's file, as Studio writes them. A leaf with children (``BlockRecord.children``) gets them
written inside its element, whatever they are, so selector proxies export their pools. Course settings
go to ``policies/<run>/policy.json`` and ``grading_policy.json``, each container setting back where
the import found it (see :mod:`lc_runtime.olx.policy`); ``about/``, ``info/`` and ``tabs/`` come back
byte for byte from their detached blocks, and ``static/`` with ``policies/assets.json`` from the
course's static files.

In the default ``published`` mode the export is the published course, and Units with unpublished
changes go to ``drafts/vertical/<id>.xml`` (their children under ``drafts/<type>/``), each naming its
parent (``parent_url``) and position (``index_in_children_list``), as edx-platform exports drafts.
OLX drafts hold Units only: any other draft change (a new or changed Section or Subsection, a deleted
Unit, a new order) cannot be written and is listed in :attr:`ExportResult.warnings`. ``mode="draft"``
exports the draft course as the course itself instead.

Blocks kept as error placeholders at import (:mod:`lc_runtime.olx.damaged`) are written back exactly
as they were found: their element in the parent's file and their own file's bytes.

The export is built in a hidden folder beside the destination and moved into place at the end, so a
failed export leaves nothing half-written: a folder (the OLX root: ``course.xml`` at its top) or a
``.tar.gz`` or ``.zip`` holding ``course/``, as Studio's export does.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from fs.base import FS
from fs.osfs import OSFS
from lxml import etree

from lc_runtime.blocks.registry import load_block_class
from lc_runtime.content.assets.api import list_assets
from lc_runtime.content.courses.api import (
    BlockRecord,
    BlockRef,
    CourseTree,
    Mode,
    load_course_tree,
    read_course_files,
    subtree_differs,
)
from lc_runtime.content.pools.api import SYNTHETIC_UNIT_MARK
from lc_runtime.keys import to_course_key, usage_key_for
from lc_runtime.olx.damaged import DamagedBlock, damage_of
from lc_runtime.olx.parsing import OlxError, is_pointer, parse_olx, pointer_path
from lc_runtime.olx.policy import POLICY_EXTRAS_KEY, RESERVED_EXTRA_KEYS, attribute_text, json_text, known_fields

__all__ = ["ExportError", "ExportResult", "export_course"]

TAR_SUFFIXES = (".tar.gz", ".tgz")
ZIP_SUFFIXES = (".zip",)
ARCHIVE_SUFFIXES = TAR_SUFFIXES + ZIP_SUFFIXES
ARCHIVE_FOLDER = "course"
"""The folder a ``.tar.gz`` export holds the OLX root in, as Studio's export does."""
# Course settings that live elsewhere than policy.json: course.xml, grading_policy.json, <wiki>.
_NOT_IN_POLICY = ("org", "course", "grading_policy", "wiki_slug")
_TOP_LEVEL_UNIT_PARENT = "sequential"


class ExportError(OlxError):
    """An export that cannot be written where it was asked to go; nothing was written."""


@dataclass
class ExportResult:
    """What an export wrote."""

    course_key: str
    destination: str
    mode: str
    blocks_by_type: dict[str, int] = field(default_factory=dict)
    draft_units: list[str] = field(default_factory=list)
    """``vertical/<id>`` of each Unit written under ``drafts/``."""
    course_files: int = 0
    """Files written under ``about/``, ``info/`` and ``tabs/``."""
    static_files: int = 0
    warnings: list[str] = field(default_factory=list)
    """What the export could not represent (or represents with a caveat), one sentence each."""

    @property
    def block_count(self) -> int:
        return sum(self.blocks_by_type.values())

    def as_dict(self) -> dict:
        """The result as JSON-ready data (what ``lc-runtime export --json`` prints)."""
        return {
            "course_key": self.course_key,
            "destination": self.destination,
            "mode": self.mode,
            "block_count": self.block_count,
            "blocks_by_type": dict(self.blocks_by_type),
            "draft_units": list(self.draft_units),
            "course_files": self.course_files,
            "static_files": self.static_files,
            "warnings": list(self.warnings),
        }


def _file_name(block_id: str) -> str:
    # The inverse of what the importer reads: ':' in a url_name is a folder separator in file names.
    return block_id.replace(":", "/")


def _pointer(tag: str, block_id: str) -> etree._Element:
    return etree.Element(tag, {"url_name": block_id})


def _container_bytes(node: etree._Element) -> bytes:
    """A container's file: one child per line. Leaf OLX inside keeps its own whitespace, untouched."""
    children = list(node)
    if children:
        node.text = "\n  "
        for child in children:
            child.tail = "\n  "
        children[-1].tail = "\n"
    return etree.tostring(node, encoding="utf-8") + b"\n"


# edx-platform's XML mixins (and xblocks-contrib's copy) follow pointer tags to a block's own file; pure
# XBlocks do not, so they (and block types nothing installed here reads, which may be either) go inline.
_POINTER_READING_MIXINS = frozenset({"XmlMixin", "XmlParserMixin", "LegacyXmlMixin"})


def _reads_pointers(record: BlockRecord) -> bool:
    """True if the block is one edx-platform writes to (and reads from) a file of its own: ``<type>/<id>.xml``."""
    if record.pool_entity_id is not None:
        return True  # a selector proxy: split_test, library_content, randomize are XML-mixin blocks upstream
    element_class = load_block_class(record.block_type)
    return any(base.__name__ in _POINTER_READING_MIXINS for base in element_class.__mro__)


def _inline_html(record: BlockRecord, element: etree._Element) -> bool:
    """
    True for an ``html`` block that was written inline: the importer stores a body read from
    ``html/<id>.html`` as CDATA, an inline body as it was, so writing each back its own way makes a
    re-import store the very same OLX. (An empty one with no attributes would read as a pointer.)
    """
    if record.block_type != "html" or "<![CDATA[" in (record.olx or ""):
        return False
    return bool(element.attrib) or bool(element.text) or len(element) > 0


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=4, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


class _TreeWriter:
    """Writes the blocks of one tree below one folder (the export's root, or its ``drafts/``)."""

    def __init__(self, out: FS, tree: CourseTree, course_key, warnings: list[str]) -> None:
        self.out = out
        self.tree = tree
        self.course_key = course_key
        self.warnings = warnings
        self.blocks_by_type: Counter[str] = Counter()
        self.policy: dict[str, dict] = {}
        self._written: set[BlockRef] = set()
        # (file a pointer refers to, block whose OLX holds the pointer): checked once everything is written.
        self._pointers_inside_leaves: list[tuple[str, str]] = []

    def write_file(self, path: str, data: bytes) -> None:
        folder = path.rpartition("/")[0]
        if folder:
            self.out.makedirs(folder, recreate=True)
        self.out.writebytes(path, data)

    def element(self, ref: BlockRef, unit_attributes: dict[str, str] | None = None) -> etree._Element:
        """The element standing for block ``ref`` in its parent's file; writes the block's own files."""
        record = self.tree.blocks[ref]
        if record.is_container and SYNTHETIC_UNIT_MARK in record.extra_attributes and len(record.children) == 1:
            # A Unit the import made around a selector that stood directly in a sequential: write the selector.
            return self.element(record.children[0])
        if ref in self._written:
            self.warnings.append(
                f"{ref[0]}/{ref[1]} is a child of more than one parent; OLX names each block once, so an "
                "import of this export reports the second as a duplicate url_name"
            )
            return _pointer(*ref)
        self._written.add(ref)
        self.blocks_by_type[record.block_type] += 1
        damage = damage_of(record)
        if damage is not None:
            return self._damaged(damage)
        if record.is_container:
            return self._container(record, unit_attributes or {})
        return self._leaf(record)

    def _damaged(self, damage: DamagedBlock) -> etree._Element:
        """A block kept as an error placeholder: what was there, as it was."""
        if damage.own_file and damage.own_file_data is not None and not self.out.exists(damage.own_file):
            self.write_file(damage.own_file, damage.own_file_data)
        return parse_olx(damage.element)

    def _settings_as_olx(self, record: BlockRecord, fields: dict) -> tuple[dict[str, str], dict]:
        """A container's settings split into OLX attributes and policy.json entries, each back where it was."""
        declared = known_fields(load_block_class(record.block_type))
        attributes: dict[str, str] = {}
        policy: dict = {}
        for name, value in fields.items():
            text = attribute_text(declared[name], value) if name in declared else None
            if text is None:
                policy[name] = value  # a value an attribute cannot carry exactly (None, say) keeps its JSON
            else:
                attributes[name] = text
        for name, value in record.extra_attributes.items():
            if name in RESERVED_EXTRA_KEYS or name == SYNTHETIC_UNIT_MARK:
                continue
            if name in attributes:
                policy[name] = fields[name]  # the attribute as written could not be read; the field came from policy
            attributes[name] = json_text(value)
        policy.update(record.extra_attributes.get(POLICY_EXTRAS_KEY) or {})
        return attributes, policy

    def set_attributes(self, node: etree._Element, attributes: dict[str, str], policy: dict, ref: str) -> None:
        """Set ``attributes`` on ``node``; a name XML cannot carry goes to ``policy`` instead, with a warning."""
        for name, text in attributes.items():
            try:
                node.set(name, text)
            except ValueError:  # not an XML name (an old policy key kept as an extra): keep it in the policy
                policy[name] = text
                self.warnings.append(f"{ref}: setting {name!r} is not an XML attribute name; written to policy.json")

    def _container(self, record: BlockRecord, unit_attributes: dict[str, str]) -> etree._Element:
        tag, block_id = record.ref
        node = etree.Element(tag)
        fields = dict(record.fields)
        if "display_name" not in fields and record.title:
            fields["display_name"] = record.title
        attributes, policy = self._settings_as_olx(record, fields)
        self.set_attributes(node, {**attributes, **unit_attributes}, policy, f"{tag}/{block_id}")
        if policy:
            self.policy[f"{tag}/{block_id}"] = policy
        for child in record.children:
            node.append(self.element(child))
        self.write_file(f"{tag}/{_file_name(block_id)}.xml", _container_bytes(node))
        return _pointer(tag, block_id)

    def _leaf(self, record: BlockRecord) -> etree._Element:
        tag, block_id = record.ref
        element = parse_olx(record.olx or f"<{tag}/>", file=f"{tag}/{block_id} (stored OLX)")
        element.tail = None
        element.attrib.pop("url_name", None)
        for pointer in element.iter():
            if pointer is not element and isinstance(pointer.tag, str) and is_pointer(pointer):
                self._pointers_inside_leaves.append((pointer_path(pointer), f"{tag}/{block_id}"))
        for child in record.children:
            element.append(self.element(child))
        if element.get("xblock-family") is not None or not _reads_pointers(record) or _inline_html(record, element):
            # Studio writes pure XBlocks inline in their parent (url_name first, and xblock-family, which is
            # how the OLX of such blocks is recognised): they do not follow pointers to files.
            attributes = dict(element.attrib)
            element.attrib.clear()
            element.set("url_name", block_id)
            for name, value in attributes.items():
                element.set(name, value)
            return element
        if tag == "html" and element.get("filename") is None:
            body = (element.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in element)
            element.text = None
            for child in list(element):
                element.remove(child)
            element.set("filename", _file_name(block_id))
            self.write_file(f"html/{_file_name(block_id)}.html", body.encode("utf-8"))
        self.write_file(f"{tag}/{_file_name(block_id)}.xml", etree.tostring(element, encoding="utf-8") + b"\n")
        return _pointer(tag, block_id)

    def check_pointers(self) -> None:
        """Warn about pointers inside leaf OLX whose files this export does not hold."""
        for path, block in self._pointers_inside_leaves:
            if not self.out.exists(path):
                self.warnings.append(
                    f"{block} refers to {path}, which is not stored with the course, so the export lacks it"
                )


class _CourseExport:
    def __init__(self, out: FS, tree: CourseTree, draft_tree: CourseTree | None, course_key) -> None:
        self.out = out
        self.tree = tree
        self.draft_tree = draft_tree
        self.course_key = course_key
        self.result = ExportResult(str(course_key), "", tree.mode)

    def write(self) -> ExportResult:
        writer = _TreeWriter(self.out, self.tree, self.course_key, self.result.warnings)
        self._write_course(writer)
        writer.check_pointers()
        self.result.blocks_by_type = dict(writer.blocks_by_type)
        if self.draft_tree is not None:
            self._write_drafts()
        for path, data in read_course_files(self.tree.learning_package_id, mode=self.tree.mode).items():
            writer.write_file(path, data)
            self.result.course_files += 1
        self.result.static_files = _write_static_files(writer, self.tree.learning_package_id, self.tree.mode)
        return self.result

    def _write_course(self, writer: _TreeWriter) -> None:
        record = self.tree.blocks[self.tree.root]
        run = self.course_key.run
        fields = {**record.fields, **self.tree.run_settings}
        if "display_name" not in fields and record.title:
            fields["display_name"] = record.title
        node = etree.Element("course")
        if fields.get("display_name") is not None:
            node.set("display_name", str(fields["display_name"]))
        policy = {name: value for name, value in fields.items() if name not in _NOT_IN_POLICY}
        attributes = {
            name: json_text(value) for name, value in record.extra_attributes.items() if name not in RESERVED_EXTRA_KEYS
        }
        writer.set_attributes(node, attributes, policy, "course")
        policy.update(record.extra_attributes.get(POLICY_EXTRAS_KEY) or {})
        for child in record.children:
            node.append(writer.element(child))
        if fields.get("wiki_slug"):
            etree.SubElement(node, "wiki", slug=str(fields["wiki_slug"]))
        writer.blocks_by_type["course"] += 1
        writer.write_file(f"course/{_file_name(run)}.xml", _container_bytes(node))
        pointer = etree.Element("course", {"url_name": run, "org": self.course_key.org,
                                           "course": self.course_key.course})
        writer.write_file("course.xml", etree.tostring(pointer, encoding="utf-8") + b"\n")
        writer.policy[f"course/{run}"] = policy
        writer.write_file(f"policies/{run}/policy.json", _json_bytes(dict(sorted(writer.policy.items()))))
        if fields.get("grading_policy") is not None:
            writer.write_file(f"policies/{run}/grading_policy.json", _json_bytes(fields["grading_policy"]))

    def _write_drafts(self) -> None:
        published, draft = self.tree, self.draft_tree
        units = [
            ref for ref, record in draft.blocks.items()
            if ref[0] == "vertical" and record.parent is not None and record.parent[0] == _TOP_LEVEL_UNIT_PARENT
            and subtree_differs(draft, published, ref)
        ]
        for ref in [ref for ref in units if SYNTHETIC_UNIT_MARK in draft.blocks[ref].extra_attributes]:
            units.remove(ref)
            self.result.warnings.append(f"{ref[0]}/{ref[1]}: a selector standing directly in a sequential has "
                                        "unpublished changes, which OLX drafts cannot hold; they are not exported")
        if units:
            writer = _TreeWriter(self.out.makedir("drafts", recreate=True), draft, self.course_key,
                                 self.result.warnings)
            for ref in units:
                parent = draft.blocks[ref].parent
                writer.element(ref, {
                    "parent_url": str(usage_key_for(self.course_key, *parent)),
                    "index_in_children_list": str(draft.blocks[parent].children.index(ref)),
                })
                self.result.draft_units.append(f"{ref[0]}/{ref[1]}")
            writer.check_pointers()
            for ref, policy in writer.policy.items():
                self.result.warnings.append(f"draft {ref}: settings {sorted(policy)} have no place in a draft unit's "
                                            "OLX and are not exported")
        self.result.warnings.extend(_unexported_draft_changes(draft, published, set(units)))


def _unexported_draft_changes(draft: CourseTree, published: CourseTree, draft_units: set[BlockRef]) -> list[str]:
    """Draft changes outside Units, which OLX drafts cannot hold: one warning each."""
    warnings = []
    new_units = {ref for ref in draft_units if ref not in published.blocks}
    for ref, record in draft.blocks.items():
        if ref[0] not in ("course", "chapter", "sequential"):
            continue
        name = f"{ref[0]}/{ref[1]}"
        counterpart = published.blocks.get(ref)
        if counterpart is None:
            warnings.append(f"{name} exists only as a draft and is not exported (OLX drafts hold units only): "
                            "publish it, or export mode='draft'")
            continue
        if counterpart.version_id == record.version_id:
            continue
        if (counterpart.title, counterpart.fields, counterpart.extra_attributes) != (
            record.title, record.fields, record.extra_attributes
        ):
            warnings.append(f"{name} has unpublished setting changes, which are not exported")
        if [child for child in record.children if child not in new_units] != counterpart.children:
            warnings.append(f"{name} has unpublished changes to its children (removed or reordered), "
                            "which are not exported")
    return warnings


def _write_static_files(writer: _TreeWriter, package_id: int, mode: str) -> int:
    """The course's static files under ``static/`` and their settings in ``policies/assets.json``."""
    assets = list_assets(package_id, mode=mode)
    policy = {}
    for asset in assets:
        writer.write_file(f"static/{asset.path}", asset.read())
        policy[asset.name] = {
            "contentType": asset.content_type,
            "displayname": asset.path.rpartition("/")[2],
            "locked": asset.locked,
            "import_path": asset.path,
        }
    if assets:
        writer.write_file("policies/assets.json", _json_bytes(policy))
    return len(assets)


def _prepare_destination(destination: Path, overwrite: bool) -> None:
    if not destination.parent.is_dir():
        raise ExportError("the folder to export into does not exist", file=str(destination.parent))
    if destination.name.endswith(ARCHIVE_SUFFIXES):
        if destination.is_dir() or (destination.exists() and not overwrite):
            raise ExportError("already exists (pass overwrite=True to replace it)", file=str(destination))
        return
    if destination.is_file():
        raise ExportError("is a file; export to a folder or to a path ending in .tar.gz or .zip",
                          file=str(destination))
    if destination.is_dir() and any(destination.iterdir()):
        if not overwrite:
            raise ExportError("is a folder that is not empty (pass overwrite=True to replace an earlier export)",
                              file=str(destination))
        if not (destination / "course.xml").is_file():
            raise ExportError("is not an earlier OLX export (no course.xml), so it is not replaced",
                              file=str(destination))


def export_course(
    course_key, dest: str | os.PathLike, *, mode: Mode = "published", overwrite: bool = False
) -> ExportResult:
    """
    Export course run ``course_key`` as OLX to ``dest``: a folder, or a path ending in ``.tar.gz`` or ``.zip``
    (both holding ``course/``, as Studio's export does).

    ``mode="published"`` (the default) writes the published course plus its unpublished Units under
    ``drafts/``; ``mode="draft"`` writes the draft course. A folder ``dest`` must be missing or empty,
    and an archive missing, unless ``overwrite`` (which replaces only an earlier export). Raises
    ``CourseNotFound`` / ``CourseNotPublished`` for a run that has nothing to export in ``mode``, and
    :class:`ExportError` for a destination it cannot use; either way nothing is written.
    """
    if mode not in ("published", "draft"):
        raise ValueError(f"mode must be 'published' or 'draft', not {mode!r}")
    key = to_course_key(course_key)
    tree = load_course_tree(key, mode=mode)
    draft_tree = load_course_tree(key, mode="draft") if mode == "published" else None
    destination = Path(dest).absolute()
    _prepare_destination(destination, overwrite)
    # Built beside the destination, so that the final move is a rename on one filesystem.
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent))
    try:
        root = staging / ARCHIVE_FOLDER
        root.mkdir()
        with OSFS(str(root)) as out:
            result = _CourseExport(out, tree, draft_tree, key).write()
        if destination.name.endswith(TAR_SUFFIXES):
            archive = staging / "export.tar.gz"
            with tarfile.open(archive, "w:gz") as tar:
                tar.add(root, arcname=ARCHIVE_FOLDER)
            os.replace(archive, destination)
        elif destination.name.endswith(ZIP_SUFFIXES):
            archive = staging / "export.zip"
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for path in sorted(root.rglob("*")):
                    zipped.write(path, f"{ARCHIVE_FOLDER}/{path.relative_to(root).as_posix()}")
            os.replace(archive, destination)
        else:
            if destination.exists():
                destination.rename(staging / "replaced")
            root.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.destination = str(destination)
    return result
