"""
Importing a course's OLX export into Learning Core.

This reads the standard course tree — ``course.xml``, the course root with its policy, chapters,
sequentials, verticals and their leaf blocks, inline or as pointers — and writes it as one
LearningPackage: containers for the outline, one component per leaf block holding its
self-contained OLX. The whole import is one transaction: it either lands entirely or writes nothing.
A damaged block (a missing or malformed file, a duplicate ``url_name``, a bad key, a block where its
kind cannot stand) is kept as an error placeholder that preserves what was there
(:mod:`lc_runtime.olx.damaged`) and is reported in :attr:`ImportResult.problems` with its file, line
and block; ``strict=True`` refuses the import instead. Warnings (unknown attributes, block types no
installed XBlock reads) are collected in :attr:`ImportResult.warnings`.

Besides the outline, an import keeps what an export carries outside it: every course setting of the
policy (:mod:`lc_runtime.olx.policy`), ``about/``, ``info/`` and ``tabs/`` as detached blocks
(:mod:`lc_runtime.content.courses.course_files`), and ``drafts/`` as draft versions written after the publish.

:func:`import_course` is the whole workflow, in one transaction: it opens the export once (checking and
unpacking an archive), writes the course, publishes it, writes ``drafts/``, has the caller check that
every block loads (a runtime, which sits above this layer, knows), and applies ``strict`` once, at the end.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace

from fs.base import FS
from fs.errors import IllegalBackReference
from lxml import etree
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey, UsageKey
from xblock.fields import String

from lc_runtime.blocks.placeholder import PlaceholderBlock, UnavailableBlock
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.content.courses.api import (
    CONTAINER_CLASSES,
    COURSE_FILE_FOLDERS,
    BulkCourseWriter,
    CourseNotPublished,
    CourseWriter,
    PublishSummary,
    bulk_changes,
    ensure_course_run,
    get_or_create_package,
    load_course_tree,
    package_for_run,
    publish_import,
    restore_published_drafts,
    subtree_differs,
    write_course_files,
    write_transaction,
)
from lc_runtime.content.pools.api import SYNTHETIC_UNIT_MARK, SYNTHETIC_UNIT_SUFFIX, write_selector
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, InvalidKey, check_block_id, to_course_key
from lc_runtime.olx.damaged import DAMAGE_KEY, DamagedBlock
from lc_runtime.olx.parsing import (
    MAX_TREE_DEPTH,
    ImportRefused,
    OlxError,
    TooDeep,
    UnsafeExportPath,
    element_to_string,
    is_pointer,
    pointer_path,
    read_export_file,
    read_json_object,
    read_xml_file,
    resolve_definition,
)
from lc_runtime.olx.policy import POLICY_EXTRAS_KEY, json_text, known_fields
from lc_runtime.olx.sources import OlxSource, open_course_root
from lc_runtime.olx.static_files import StaticImportCounts, import_static_files

__all__ = ["ImportProblem", "ImportResult", "LoadabilityCheck", "StrictImportError", "import_course"]

# Where each outline container may stand: the tag of its parent.
_CONTAINER_PARENT = {"chapter": "course", "sequential": "chapter", "vertical": "sequential"}
_NOT_FIELDS = {"url_name", "xblock-family"}
# The container a damaged element is kept as, by the tag of its parent: the only kind that parent holds.
_PLACEHOLDER_KIND = {"course": "chapter", "chapter": "sequential", "sequential": "vertical"}
# The depth in the course tree of each outline container (the course root is 0).
_CONTAINER_DEPTH = {"course": 0, "chapter": 1, "sequential": 2, "vertical": 3}
DRAFTS_FOLDER = "drafts"
# The parent tag a selector's pool members are imported under.
_POOL = "selector pool"


@dataclass(frozen=True)
class ImportProblem:
    """Something in the export that could not be imported as written."""

    message: str
    file: str | None = None
    line: int | None = None
    block: str | None = None

    def __str__(self) -> str:
        return str(OlxError(self.message, self.file, self.line, self.block))


@dataclass
class ImportResult:
    """What an import did."""

    course_key: str
    blocks_by_type: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    static_files: StaticImportCounts = field(default_factory=StaticImportCounts)
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[ImportProblem] = field(default_factory=list)
    """What was imported but deserves a look: unknown attributes, block types no installed XBlock reads."""
    draft_units: list[str] = field(default_factory=list)
    """``vertical/<id>`` of each Unit of ``drafts/`` imported as a draft version."""
    course_files: int = 0
    """Files of ``about/``, ``info/`` and ``tabs/`` kept as the course's detached blocks."""
    published: PublishSummary | None = None
    # What changed, as "type/id" block refs: blocks new to the course, and blocks given a next version.
    created_blocks: list[str] = field(default_factory=list)
    updated_blocks: list[str] = field(default_factory=list)
    # (block type, block id) -> (file, line) where each block was read: to report problems found later.
    block_locations: dict[tuple[str, str], tuple[str | None, int | None]] = field(default_factory=dict, repr=False)

    @property
    def block_count(self) -> int:
        return sum(self.blocks_by_type.values())

    def add_drafts(self, drafted: DraftImport) -> None:
        """Count in what importing the export's ``drafts/`` folder did."""
        self.draft_units.extend(drafted.units)
        self.problems.extend(drafted.problems)
        self.warnings.extend(drafted.warnings)
        self.block_locations.update(drafted.block_locations)

    def as_dict(self) -> dict:
        """The result as JSON-ready data (what ``lc-runtime import --json`` prints)."""
        return {
            "course_key": self.course_key,
            "block_count": self.block_count,
            "blocks_by_type": dict(self.blocks_by_type),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "static_files": asdict(self.static_files),
            "created_blocks": list(self.created_blocks),
            "updated_blocks": list(self.updated_blocks),
            "problems": [asdict(problem) for problem in self.problems],
            "warnings": [asdict(warning) for warning in self.warnings],
            "draft_units": list(self.draft_units),
            "course_files": self.course_files,
            "published": asdict(self.published) if self.published else None,
        }


class StrictImportError(OlxError):
    """A strict import met a problem; nothing was written."""


LoadabilityCheck = Callable[[CourseKey], Mapping[tuple[str, str], str]]
"""
Given a course key, every block of the course's draft whose own XBlock class cannot load its OLX:
(block type, block id) -> the error. :func:`lc_runtime.api.import_olx` passes one that builds a runtime.
"""


class _CourseImport:
    """Writes the blocks of one folder of an export (its top, or ``drafts/``), collecting what it met."""

    def __init__(
        self,
        root_fs: FS,
        writer: CourseWriter,
        course_key: CourseKey,
        *,
        policy: Mapping[str, dict],
        policy_file: str,
        selectors: Mapping[str, type],
        progress: Callable[[str], None],
        course_fields: Mapping | None = None,
        location_prefix: str = "",
        depth: int = 0,
    ) -> None:
        self.fs = root_fs
        self.writer = writer
        self.course_key = course_key
        # Block ref ("type/id") -> its settings in policies/<run>/policy.json (the file named in its problems).
        self.policy = policy
        self.policy_file = policy_file
        # OLX tag -> the XBlock class of the selector that imports it (given by the caller).
        self.selectors = selectors
        self.progress = progress
        # Fields of the course root that come from elsewhere than its element and policy (course.xml, grading).
        self.course_fields = dict(course_fields or {})
        # Prefixed to the files named in problems: "drafts/" while importing an export's drafts folder.
        self.location_prefix = location_prefix
        self.problems: list[ImportProblem] = []
        self.warnings: list[ImportProblem] = []
        self.blocks_by_type: Counter[str] = Counter()
        self.unknown_types: Counter[str] = Counter()
        self._seen: set[tuple[str, str]] = set()
        self.locations: dict[tuple[str, str], tuple[str | None, int | None]] = {}
        # How deep in the course tree the block being imported stands (drafts/ starts at its Units' depth).
        self.depth = depth

    def problem(self, message: str, element: etree._Element | None = None, *, file: str | None = None,
                block: str | None = None) -> None:
        line = element.sourceline if element is not None else None
        self.problems.append(ImportProblem(message, file, line, block))

    def block_id_for(self, definition: etree._Element, parent_ref: str) -> str:
        url_name = definition.get("url_name")
        if url_name:
            return url_name
        # Inline blocks without url_name get a stable id, so that importing again finds them again.
        digest = hashlib.sha1(f"{parent_ref}|{element_to_string(definition)}".encode()).hexdigest()
        return digest[:20]

    def import_block(self, element: etree._Element, parent_tag: str, parent_ref: str, file: str) -> int | None:
        """
        Import one element (found in ``file``) of the tree; return its entity id, or None if it was left out.

        An element that cannot be imported as written is kept as an error placeholder (see :meth:`keep_damaged`).
        Raises :class:`TooDeep` below :data:`MAX_TREE_DEPTH`: pointers let an export nest without end,
        and each level costs stack frames here and in every reader of the tree after.
        """
        self.depth += 1
        try:
            if self.depth > MAX_TREE_DEPTH:
                raise TooDeep(
                    f"the course tree is nested deeper than {MAX_TREE_DEPTH} levels",
                    file=f"{self.location_prefix}{file}", line=element.sourceline,
                )
            return self._import_block(element, parent_tag, parent_ref, file)
        finally:
            self.depth -= 1

    def _import_block(self, element: etree._Element, parent_tag: str, parent_ref: str, file: str) -> int | None:
        own_file = pointer_path(element)
        try:
            definition = resolve_definition(element, self.fs)
        except ImportRefused:
            raise  # an attack or an unreadable export, not damage: the whole import is refused
        except OlxError as exc:
            if exc.line is not None:  # the block's own file is malformed: where in it
                where, message = (exc.file, exc.line), exc.message
            elif own_file is not None and _file_bytes(self.fs, own_file) is not None:  # it is there, what it names not
                where, message = (own_file, 1), exc.message
            else:  # the pointer leads nowhere: the pointer is where to look
                where, message = (file, element.sourceline), f"{exc.file}: {exc.message}" if exc.file else exc.message
            return self.keep_damaged(element, parent_tag, parent_ref, file, message, where=where, own_file=own_file)
        definition_file = own_file or file
        tag = definition.tag
        block_id = self.block_id_for(definition, parent_ref)
        definition.tail = None  # the whitespace after an inline element belongs to its parent's file
        ref = f"{tag}/{block_id}"
        try:
            check_block_id(self.course_key, tag, block_id)
        except InvalidKey as exc:
            return self.keep_damaged(element, parent_tag, parent_ref, file, str(exc), own_file=own_file)
        if (tag, block_id) in self._seen:
            return self.keep_damaged(
                element, parent_tag, parent_ref, file,
                f"duplicate url_name {block_id!r} for <{tag}>: the first one is imported, this one kept as an error",
            )  # its file, if it names one, is the first block's: exported with it
        self._seen.add((tag, block_id))
        self.locations[(tag, block_id)] = (definition_file, definition.sourceline)
        self.note_attributes(self.selectors.get(tag) or load_block_class(tag), definition, definition_file, ref)
        if tag in self.selectors:
            if parent_tag not in ("vertical", "sequential", _POOL):
                return self.keep_damaged(element, parent_tag, parent_ref, file,
                                         f"<{tag}> cannot stand inside <{parent_tag}>", own_file=own_file)
            return self.import_selector(definition, tag, block_id, definition_file, parent_tag)
        if tag in CONTAINER_CLASSES:
            if _CONTAINER_PARENT.get(tag) != parent_tag and not (tag == "vertical" and parent_tag == _POOL):
                return self.keep_damaged(element, parent_tag, parent_ref, file,
                                         f"<{tag}> cannot stand inside <{parent_tag}>", own_file=own_file)
            return self.import_container(definition, tag, block_id, definition_file)
        if parent_tag not in ("vertical", "leaf", _POOL):
            return self.keep_damaged(element, parent_tag, parent_ref, file,
                                     f"<{tag}> must stand inside a <vertical>, not <{parent_tag}>", own_file=own_file)
        return self.import_leaf(definition, tag, block_id, definition_file)

    def keep_damaged(
        self,
        element: etree._Element,
        parent_tag: str,
        parent_ref: str,
        file: str,
        message: str,
        *,
        where: tuple[str | None, int | None] | None = None,
        own_file: str | None = None,
    ) -> int:
        """
        Keep an element that cannot be imported as an error placeholder, report it, and return its entity id.

        The placeholder is of the kind its parent holds (a Section in the course, a Subsection in a
        Section, a Unit in a Subsection, else a component of the element's own tag), named by the
        element's ``url_name`` where that is free and valid. It keeps the element as written and the
        bytes of its own file (:class:`~lc_runtime.olx.damaged.DamagedBlock`), so export gives both back.
        """
        tag = element.tag if isinstance(element.tag, str) else "unknown"
        kind = _PLACEHOLDER_KIND.get(parent_tag, tag)
        problem_file, line = where or (file, element.sourceline)
        problem_file = f"{self.location_prefix}{problem_file}" if problem_file else problem_file
        kept = copy.deepcopy(element)  # without the parent's whitespace after it
        kept.tail = None
        own_file_data = _file_bytes(self.fs, own_file) if own_file else None
        block_id = self._placeholder_id(kind, element, parent_ref)
        ref = f"{kind}/{block_id}"
        self.problems.append(ImportProblem(message, problem_file, line, ref))
        self._seen.add((kind, block_id))
        self.locations[(kind, block_id)] = (problem_file, line)
        damage = DamagedBlock(tag, message, problem_file, line, element_to_string(kept),
                              own_file if own_file_data is not None else None, own_file_data)
        title = element.get("display_name") or ""
        self.blocks_by_type[kind] += 1
        self.progress(kind)
        if parent_tag in _PLACEHOLDER_KIND:
            fields = {"display_name": title} if title else {}
            return self.writer.write_container(kind, block_id, title, [], fields, {DAMAGE_KEY: damage.to_json()})
        return self.writer.write_component(kind, block_id, damage.to_olx(), title)

    def _placeholder_id(self, kind: str, element: etree._Element, parent_ref: str) -> str:
        """The block id of a placeholder: the url_name if free and valid, else one derived from it, stably."""
        url_name = element.get("url_name") or ""
        try:
            check_block_id(self.course_key, kind, url_name)
            base = url_name
        except InvalidKey:
            digest = hashlib.sha1(f"{parent_ref}|{element_to_string(element)}".encode()).hexdigest()
            base = f"damaged-{digest[:12]}"
        block_id, number = base, 1
        while (kind, block_id) in self._seen:
            number += 1
            block_id = f"{base}.duplicate{number}"
        return block_id

    def warn_unknown_types(self) -> None:
        """One warning per block type that no installed XBlock reads, with how many blocks have it."""
        for tag, count in sorted(self.unknown_types.items()):
            where = f" in {self.location_prefix}" if self.location_prefix else ""
            block_class = load_block_class(tag)
            nobody = (
                f"the XBlock for <{tag}> ({block_class.package}) needs {block_class.what_it_lacks()}"
                if issubclass(block_class, UnavailableBlock)
                else f"no installed XBlock reads <{tag}>"
            )
            self.warnings.append(ImportProblem(
                f"{nobody} ({count} block(s){where}): kept as written, shown as a notice, exported unchanged"
            ))
        self.unknown_types.clear()

    def note_attributes(self, block_class, definition: etree._Element, file: str, ref: str) -> None:
        """Warn about attributes the block's class declares no field for, and about block types nobody reads."""
        if issubclass(block_class, PlaceholderBlock):
            self.unknown_types[definition.tag] += 1
            return
        known = {**known_fields(block_class), **dict.fromkeys(getattr(block_class, "olx_attributes", ()))}
        unknown = sorted(
            name for name in definition.attrib if name not in known and name not in _NOT_FIELDS
        )
        if unknown:
            self.warnings.append(ImportProblem(
                f"attributes that {block_class.__name__} declares no field for (kept, and exported again): "
                + ", ".join(unknown),
                f"{self.location_prefix}{file}", definition.sourceline, ref,
            ))

    def import_container(self, definition: etree._Element, tag: str, block_id: str, file: str) -> int:
        children = []
        course_metadata: dict = {}
        for child in definition:
            if not isinstance(child.tag, str):
                continue
            if tag == "course" and child.tag == "wiki":
                # <wiki slug="..."/> is course metadata, not a block.
                course_metadata["wiki_slug"] = child.get("slug")
                continue
            entity_id = self.import_block(child, tag, f"{tag}/{block_id}", file)
            if entity_id is not None:
                children.append(entity_id)
        ref = f"{tag}/{block_id}"
        fields, extra, attribute_errors, policy_errors = container_fields(
            tag, dict(definition.attrib), self.policy.get(ref, {})
        )
        self.report_settings_errors(definition, file, ref, attribute_errors, policy_errors)
        if tag == "course":
            fields.update(self.course_fields)
            fields.update(course_metadata)
        self.blocks_by_type[tag] += 1
        self.progress(tag)
        return self.writer.write_container(tag, block_id, fields.get("display_name") or "", children, fields, extra)

    def import_selector(
        self, definition: etree._Element, tag: str, block_id: str, file: str, parent_tag: str
    ) -> int:
        """
        Import a selector: its children become its pool, the rest of its element its rules (the proxy).

        A selector written directly in a ``<sequential>`` is wrapped in a Unit of its own, marked as
        synthetic so that export writes the selector back where it was.
        """
        ref = f"{tag}/{block_id}"
        pool = []
        # Child elements that are the selector's rules, not blocks (a conditional's <show>): kept in its OLX.
        rules_tags = frozenset(getattr(self.selectors[tag], "rules_child_tags", ()))
        self.depth += 1  # the pool container stands between the proxy and the pool's members
        try:
            for child in list(definition):
                if not isinstance(child.tag, str) or child.tag in rules_tags:
                    continue
                definition.remove(child)
                entity_id = self.import_block(child, _POOL, ref, file)
                if entity_id is not None:
                    pool.append(entity_id)
        finally:
            self.depth -= 1
        self.apply_component_settings(self.selectors[tag], definition, tag, block_id, file)
        title = definition.get("display_name") or ""
        proxy = write_selector(self.writer, tag, block_id, element_to_string(definition), title, pool)
        if parent_tag != "sequential":
            return proxy
        wrapper_id = f"{block_id}{SYNTHETIC_UNIT_SUFFIX}"
        return self.writer.write_container(
            "vertical", wrapper_id, title, [proxy], {"display_name": title} if title else {},
            {SYNTHETIC_UNIT_MARK: tag},
        )

    def import_leaf(self, definition: etree._Element, tag: str, block_id: str, file: str) -> int:
        block_class = load_block_class(tag)
        children = []
        if getattr(block_class, "has_children", False):
            for child in list(definition):
                if isinstance(child.tag, str):
                    definition.remove(child)
                    entity_id = self.import_block(child, "leaf", f"{tag}/{block_id}", file)
                    if entity_id is not None:
                        children.append(entity_id)
        self.apply_component_settings(block_class, definition, tag, block_id, file)
        return self.writer.write_component(
            tag, block_id, element_to_string(definition), definition.get("display_name") or "", children
        )

    def apply_component_settings(
        self, block_class, definition: etree._Element, tag: str, block_id: str, file: str
    ) -> None:
        """
        Prepare the element of a component (a leaf block, or a selector's rules) to be stored: its policy
        entries written onto it as attributes, its ``url_name`` removed; report the settings its class
        cannot read, and count the block.

        The block is kept as written whatever its settings; learners see an error notice for it instead
        of its view when its class cannot load it.
        """
        ref = f"{tag}/{block_id}"
        attribute_errors = leaf_attribute_errors(block_class, definition)
        policy = self.policy.get(ref, {})
        for name, value in policy.items():
            definition.set(name, json_text(value))
        policy_errors = [f"policy {error}" for error in leaf_attribute_errors(block_class, definition, only=policy)]
        self.report_settings_errors(definition, file, ref, attribute_errors, policy_errors)
        definition.attrib.pop("url_name", None)
        self.blocks_by_type[tag] += 1
        self.progress(tag)

    def report_settings_errors(
        self, definition: etree._Element, file: str, ref: str, attribute_errors: list[str], policy_errors: list[str]
    ) -> None:
        """Report the settings a block's fields cannot read: attributes at its element, policy in the policy file."""
        for error in attribute_errors:
            self.problem(error, definition, file=file, block=ref)
        for error in policy_errors:
            self.problem(error, None, file=self.policy_file, block=ref)


def _field_value(declared, text: str):
    """The JSON value of an OLX attribute for a field, or ValueError saying why it is not one."""
    try:
        value = declared.from_string(text)
        declared.from_json(declared.to_json(value))
        # A Float reads "NaN" and "inf", which no JSON column stores (the database refuses the row).
        json.dumps(declared.to_json(value), allow_nan=False)
    except Exception as exc:  # field types raise ValueError, TypeError, dateutil's ParserError, ...
        raise ValueError(f"{text!r} is not a valid {type(declared).__name__} ({exc})") from exc
    return declared.to_json(value)


def container_fields(
    tag: str, attributes: dict[str, str], policy: dict
) -> tuple[dict, dict, list[str], list[str]]:
    """
    Split a container's OLX attributes and policy into XBlock field values (JSON) and unknown extras.

    A value its field cannot read is kept among the extras, as written, and named in the returned
    errors: those of the attributes, then those of the policy. Attribute extras are kept as text under
    their names; policy extras as JSON under :data:`~lc_runtime.olx.policy.POLICY_EXTRAS_KEY`, so that
    export writes each back where it came from, with its JSON type.
    """
    known = known_fields(load_block_class(tag))
    fields: dict = {}
    extra: dict = {}
    policy_extra: dict = {}
    errors: list[str] = []
    policy_errors: list[str] = []
    for name, text in attributes.items():
        if name in _NOT_FIELDS:
            continue
        if name in known:
            try:
                fields[name] = _field_value(known[name], text)
            except ValueError as exc:
                errors.append(f"attribute {name}: {exc}")
                extra[name] = text
        else:
            extra[name] = text
    for name, value in policy.items():
        if name in known:
            try:
                known[name].from_json(value)
            except Exception as exc:  # noqa: BLE001 - any failure means the field cannot read it
                policy_errors.append(
                    f"policy {name}: {value!r} is not a valid {type(known[name]).__name__} ({exc})"
                )
                policy_extra[name] = value
                continue
            fields[name] = value
        else:
            policy_extra[name] = value
    if policy_extra:
        extra[POLICY_EXTRAS_KEY] = policy_extra
    return fields, extra, errors, policy_errors


def leaf_attribute_errors(block_class, definition: etree._Element, only=None) -> list[str]:
    """
    The attributes of a leaf element (or only those named in ``only``) that its block's fields cannot
    read, each with the reason.
    """
    known = known_fields(block_class)
    errors = []
    for name, text in definition.attrib.items():
        if only is not None and name not in only:
            continue
        declared = known.get(name)
        if name in _NOT_FIELDS or declared is None or isinstance(declared, String):
            continue
        try:
            _field_value(declared, text)
        except ValueError as exc:
            errors.append(f"attribute {name}: {exc}")
    return errors


def import_course(
    source: OlxSource,
    *,
    course_key=None,
    created_by: int | None = None,
    publish: bool = True,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
    selectors: Mapping[str, type],
    check_loadable: LoadabilityCheck,
    on_course_key: Callable[[CourseKey], None] | None = None,
) -> ImportResult:
    """
    Import the course export at ``source`` (see :mod:`lc_runtime.olx.sources`) as course run ``course_key``.

    The whole import, in one transaction: the export is opened once (an archive checked and unpacked
    once); the course becomes the run's draft; blocks that ``check_loadable`` finds their class cannot
    load are reported; with ``publish`` the course is then published, as the export is a published
    course; the export's ``drafts/`` are written after that as draft versions (so they stay drafts),
    and checked again. ``strict`` applies last, to every problem met: it raises
    :class:`StrictImportError` inside the transaction, so nothing is written.

    ``course_key`` defaults to the org, course and run that ``course.xml`` names. ``selectors`` maps
    the OLX tags of selectors (``split_test``, ...) to their XBlock classes: those elements are stored
    as a pool and a proxy (:func:`lc_runtime.content.pools.api.write_selector`).
    :func:`lc_runtime.api.import_olx` passes the installed selector plugins, and a ``check_loadable``
    that builds a draft runtime. ``on_course_key`` is called with the run's key once the export is read,
before anything is written. Raises :class:`OlxError` for an export that cannot be read at all;
    nothing is written then either.
    """
    progress = progress or (lambda _tag: None)
    with open_course_root(source) as root_fs:
        export = _read_export(root_fs, course_key)
        with write_transaction():
            if on_course_key is not None:
                on_course_key(export.course_key)
            # The package is named after the run that first imports it (ADR 0014: later runs share it).
            package_id = package_for_run(export.course_key) or get_or_create_package(
                str(export.course_key), export.title
            )
            result, writer = _write_course(export, package_id, created_by, progress, selectors)
            # Blocks whose own XBlock class cannot load their OLX are damage too: found now, not at a learner.
            _report_blocks_that_cannot_load(result, check_loadable)
            if publish:
                # What the published course wrote, not the drafts an earlier import of drafts/ left.
                result.published = publish_import(
                    package_id, written=writer.written, kept_drafts=writer.kept_drafts, published_by=created_by
                )
            # The export's drafts/ are changes not yet published: written after the publish, they stay drafts.
            drafted = _write_drafts(export, package_id, created_by, progress, selectors)
            # A kept draft that drafts/ did not write again is not in the export: back to the published version.
            restore_published_drafts(package_id, writer.kept_drafts, keep=drafted.written if drafted else (),
                                     published_by=created_by)
            if drafted is not None:
                drafted.units = _units_with_draft_changes(export.course_key, drafted.units)
                result.add_drafts(drafted)
                _report_blocks_that_cannot_load(result, check_loadable)
            if strict and result.problems:
                raise StrictImportError(f"{len(result.problems)} problem(s); first: {result.problems[0]}", block=None)
    return result


@dataclass
class _Export:
    """An opened export: its top folder, and what ``course.xml`` and ``policies/<run>/`` say."""

    fs: FS
    course_key: CourseKey
    pointer: etree._Element
    """``course.xml``'s element."""
    course_definition: etree._Element
    """The ``<course>`` element it points to, resolved."""
    policy: dict[str, dict]
    """Block ref (``type/id``) -> its settings; the course's own under ``course/<COURSE_ROOT_BLOCK_ID>``."""
    policy_file: str
    grading_policy: dict

    @property
    def course_file(self) -> str:
        """The file the ``<course>`` element was read from."""
        return pointer_path(self.pointer) or "course.xml"

    @property
    def title(self) -> str:
        course_policy = self.policy[f"course/{COURSE_ROOT_BLOCK_ID}"]
        return self.course_definition.get("display_name") or course_policy.get("display_name") or str(self.course_key)


def _read_export(root_fs: FS, course_key) -> _Export:
    """Read ``course.xml``, the course element and the policy files of the export at ``root_fs``."""
    pointer = read_xml_file(root_fs, "course.xml")
    run = pointer.get("url_name")
    if pointer.tag != "course" or not run:
        raise OlxError('course.xml must be <course url_name="RUN" org="ORG" course="COURSE"/>',
                       file="course.xml", line=pointer.sourceline)
    try:
        key = to_course_key(course_key) if course_key is not None else to_course_key(
            f"course-v1:{pointer.get('org')}+{pointer.get('course')}+{run}"
        )
    except InvalidKey as exc:
        raise OlxError(str(exc), file="course.xml", line=pointer.sourceline) from exc
    course_definition = resolve_definition(pointer, root_fs)
    policy_file = f"policies/{run}/policy.json"
    policy = read_json_object(root_fs, policy_file, object_of_objects=True)
    course_policy = policy.pop(f"course/{run}", {})
    policy[f"course/{COURSE_ROOT_BLOCK_ID}"] = course_policy
    grading_policy = read_json_object(root_fs, f"policies/{run}/grading_policy.json")
    return _Export(root_fs, key, pointer, course_definition, policy, policy_file, grading_policy)


def _write_course(
    export: _Export, package_id: int, created_by: int | None, progress, selectors: Mapping[str, type]
) -> tuple[ImportResult, BulkCourseWriter]:
    """
    Write the export (its tree, static files and course files, not ``drafts/``) as the run's draft; return
    what it did and its writer (what it wrote, which drafts it kept).
    """
    course_fields = {"org": export.pointer.get("org"), "course": export.pointer.get("course")}
    if export.grading_policy:
        course_fields["grading_policy"] = export.grading_policy
    writer = BulkCourseWriter(package_id, created_by=created_by, keep_drafts=True)
    importer = _CourseImport(
        export.fs, writer, export.course_key, policy=export.policy, policy_file=export.policy_file,
        selectors=selectors, progress=progress, course_fields=course_fields,
    )
    course_definition = export.course_definition
    course_definition.set("url_name", COURSE_ROOT_BLOCK_ID)
    importer.note_attributes(load_block_class("course"), course_definition, export.course_file,
                             f"course/{COURSE_ROOT_BLOCK_ID}")
    root_entity = importer.import_container(course_definition, "course", COURSE_ROOT_BLOCK_ID, export.course_file)
    writer.flush()  # the course's blocks, in bulk: one draft change
    with bulk_changes(package_id, changed_by=created_by):
        static_files = import_static_files(
            export.fs, package_id, created_by=created_by, progress=progress, problem=importer.problem
        )
        course_files = _course_files(export.fs)
        write_course_files(package_id, course_files, created_by=created_by)
        importer.warn_unknown_types()
    ensure_course_run(export.course_key, package_id, writer.entity_id(root_entity))
    return ImportResult(
        course_key=str(export.course_key),
        blocks_by_type=dict(importer.blocks_by_type),
        created=writer.counts.created,
        updated=writer.counts.updated,
        unchanged=writer.counts.unchanged,
        static_files=static_files,
        created_blocks=list(writer.counts.created_blocks),
        updated_blocks=list(writer.counts.updated_blocks),
        problems=importer.problems,
        warnings=importer.warnings,
        course_files=len(course_files),
        block_locations=importer.locations,
    ), writer


def _units_with_draft_changes(course_key: CourseKey, units: list[str]) -> list[str]:
    """
    The draft Units (``vertical/<id>``) whose draft differs from their published version, themselves or
    below: a Unit of ``drafts/`` identical to the published one but for its ``parent_url`` and
    ``index_in_children_list`` (Studio exports such Units) has no draft change, and an export would
    not write it. The same rule as the exporter's (``subtree_differs``), so the two reports agree.
    """
    try:
        published = load_course_tree(course_key, mode="published")
    except CourseNotPublished:  # imported without publishing: every Unit is a draft
        return units
    draft = load_course_tree(course_key, mode="draft")
    return [unit for unit in units if subtree_differs(draft, published, tuple(unit.split("/", 1)))]


def _report_blocks_that_cannot_load(result: ImportResult, check_loadable: LoadabilityCheck) -> None:
    """Report the blocks of the course's draft whose XBlock class cannot load their OLX (once each)."""
    already_reported = {problem.block for problem in result.problems}
    for (block_type, block_id), error in check_loadable(to_course_key(result.course_key)).items():
        if f"{block_type}/{block_id}" in already_reported:
            continue
        file, line = result.block_locations.get((block_type, block_id), (None, None))
        message = f"<{block_type}> could not be loaded by its XBlock class: {error}"
        result.problems.append(ImportProblem(message, file, line, f"{block_type}/{block_id}"))


@dataclass
class DraftImport:
    """What importing an export's ``drafts/`` folder did."""

    units: list[str] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[ImportProblem] = field(default_factory=list)
    block_locations: dict[tuple[str, str], tuple[str | None, int | None]] = field(default_factory=dict, repr=False)
    written: set[int] = field(default_factory=set, repr=False)
    """Entity ids of the blocks written (or placed in a draft container), changed or not."""


def _file_bytes(root_fs, path: str) -> bytes | None:
    """
    The bytes of a file of the export, or None if there is none there (or the path leads outside it).
    A link or an unreadable archive still refuses the import (:class:`ImportRefused`).
    """
    try:
        return read_export_file(root_fs, path) if root_fs.isfile(path) else None
    except ImportRefused:
        raise
    except (OlxError, IllegalBackReference):
        return None


def _files_below(root_fs, folder: str) -> list[str]:
    """
    The files below the export's ``folder``, sorted. A folder that is a symbolic link refuses the
    import (:class:`UnsafeExportPath`) instead of being walked: it may lead anywhere, or loop.
    """
    files: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        if root_fs.islink(current):
            raise UnsafeExportPath(f"{current} is a symbolic link: an import reads only the export's own files",
                                   file=current)
        for entry in root_fs.scandir(current):
            (pending if entry.is_dir else files).append(f"{current}/{entry.name}")
    return sorted(files)


def _course_files(root_fs) -> dict[str, bytes]:
    """The files of the export's ``about/``, ``info/`` and ``tabs/`` folders, {path: bytes}."""
    return {
        path: read_export_file(root_fs, path)
        for folder in COURSE_FILE_FOLDERS if root_fs.isdir(folder)
        for path in _files_below(root_fs, folder)
    }


def _draft_unit_files(drafts_fs) -> list[str]:
    if not drafts_fs.isdir("vertical"):
        return []
    return [path for path in _files_below(drafts_fs, "vertical") if path.endswith(".xml")]


def _write_drafts(
    export: _Export, package_id: int, created_by: int | None, progress, selectors: Mapping[str, type]
) -> DraftImport | None:
    """
    Import ``drafts/`` of the export as draft versions; None when it has no draft units.

    Call it after the publish: a draft of a published Unit becomes its next draft version, and the
    published version stays what learners see. Each ``drafts/vertical/<id>.xml`` naming a
    ``parent_url`` is a Unit with unpublished changes: it is written (with its children, read from
    ``drafts/<type>/``) as the Unit's next draft version, and placed in its parent Subsection's draft at
    ``index_in_children_list`` when that does not list it. Files without ``parent_url`` are children of
    other draft blocks, reached through them.
    """
    if not export.fs.isdir(DRAFTS_FOLDER):
        return None
    drafts_fs = export.fs.opendir(DRAFTS_FOLDER)
    unit_files = _draft_unit_files(drafts_fs)
    if not unit_files:
        return None
    writer = CourseWriter(package_id, created_by=created_by)
    importer = _CourseImport(
        drafts_fs, writer, export.course_key, policy=export.policy, policy_file=export.policy_file,
        selectors=selectors, progress=progress, location_prefix=f"{DRAFTS_FOLDER}/",
        depth=_CONTAINER_DEPTH["sequential"],  # its blocks are Units, and what Units hold
    )
    try:
        return _import_drafts(importer, drafts_fs, unit_files, package_id, created_by)
    except ImportRefused as exc:  # name the file from the export's top
        raise replace(exc, file=_prefixed(exc.file)) from exc


def _import_drafts(importer: _CourseImport, drafts_fs, unit_files: list[str], package_id: int,
                   created_by: int | None) -> DraftImport:
    """Write the draft Units of ``unit_files`` (see :func:`_write_drafts`)."""
    writer = importer.writer
    drafted = DraftImport()
    units = []
    for path in unit_files:
        try:
            unit = read_xml_file(drafts_fs, path)
        except ImportRefused:
            raise
        except OlxError as exc:
            importer.problems.append(ImportProblem(f"draft unit not imported: {exc.message}", exc.file, exc.line))
            continue
        if unit.get("parent_url") is not None:
            index_text = unit.get("index_in_children_list") or ""
            units.append((int(index_text) if index_text.isdigit() else None, path, unit))
    # By position, so that each unit lands where it says once those before it are in place.
    units.sort(key=lambda item: (item[0] is None, item[0] or 0, item[1]))
    with bulk_changes(package_id, changed_by=created_by):
        for index, path, unit in units:
            file = f"{DRAFTS_FOLDER}/{path}"
            parent_url = unit.attrib.pop("parent_url")
            unit.attrib.pop("index_in_children_list", None)
            parent = _draft_parent(parent_url)
            if parent is None:
                importer.problems.append(ImportProblem(
                    f"draft unit not imported: parent_url {parent_url!r} is not the key of a sequential", file,
                    unit.sourceline,
                ))
                continue
            unit.set("url_name", path.removeprefix("vertical/").removesuffix(".xml").replace("/", ":"))
            parent_ref = f"sequential/{parent}"
            if is_pointer(unit):  # an empty unit with no settings: nothing to follow
                entity_id = importer.import_container(unit, "vertical", unit.get("url_name"), path)
            else:
                entity_id = importer.import_block(unit, "sequential", parent_ref, path)
            if entity_id is None:
                continue
            if not writer.place_in_draft_container("sequential", parent, entity_id, index):
                importer.problems.append(ImportProblem(
                    f"draft unit not placed: the course has no sequential {parent!r}", file, unit.sourceline,
                    f"vertical/{unit.get('url_name')}",
                ))
                continue
            drafted.units.append(f"vertical/{unit.get('url_name')}")
        importer.warn_unknown_types()
    drafted.written = writer.written
    drafted.problems = [_under_drafts(problem) for problem in importer.problems]
    drafted.warnings = [_under_drafts(warning) for warning in importer.warnings]
    drafted.block_locations = {ref: (_prefixed(file), line) for ref, (file, line) in importer.locations.items()}
    return drafted


def _prefixed(file: str | None) -> str | None:
    if file is None or file.startswith(f"{DRAFTS_FOLDER}/") or file.startswith("policies/"):
        return file
    return f"{DRAFTS_FOLDER}/{file}"


def _under_drafts(problem: ImportProblem) -> ImportProblem:
    """A problem met below ``drafts/``, naming its file from the export's top."""
    return replace(problem, file=_prefixed(problem.file))


def _draft_parent(parent_url: str) -> str | None:
    """The block id of the sequential a draft unit's ``parent_url`` names (``block-v1:`` or ``i4x://``)."""
    try:
        parent = UsageKey.from_string(parent_url)
    except InvalidKeyError:
        return None
    return parent.block_id if parent.block_type == "sequential" else None
