"""
Importing a course's OLX export into Learning Core.

This reads the standard course tree — ``course.xml``, the course root with its policy, chapters,
sequentials, verticals and their leaf blocks, inline or as pointers — and writes it as one
LearningPackage: containers for the outline, one component per leaf block holding its
self-contained OLX. The whole import is one transaction: it either lands entirely or writes nothing.
A damaged block (a missing or malformed file, a duplicate ``url_name``) is left out and reported
in :attr:`ImportResult.problems`; ``strict=True`` refuses the import instead.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import transaction
from lxml import etree
from xblock.fields import String

from lc_runtime.blocks.inheritance import InheritableFieldsMixin
from lc_runtime.blocks.registry import load_block_class
from lc_runtime.content.writes import (
    CONTAINER_CLASSES,
    CourseWriter,
    PublishSummary,
    bulk_changes,
    ensure_course_run,
    get_or_create_package,
    package_for_run,
    publish_course,
)
from lc_runtime.keys import COURSE_ROOT_BLOCK_ID, InvalidKey, to_course_key, usage_key_for
from lc_runtime.olx.parsing import OlxError, element_to_string, pointer_path, read_xml_file, resolve_definition
from lc_runtime.olx.sources import OlxSource, open_course_root

__all__ = ["ImportProblem", "ImportResult", "import_course"]

# Where each outline container may stand: the tag of its parent.
_CONTAINER_PARENT = {"chapter": "course", "sequential": "chapter", "vertical": "sequential"}
_NOT_FIELDS = {"url_name", "xblock-family"}


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
    problems: list[ImportProblem] = field(default_factory=list)
    published: PublishSummary | None = None
    # (block type, block id) -> (file, line) where each block was read: to report problems found later.
    block_locations: dict[tuple[str, str], tuple[str | None, int | None]] = field(default_factory=dict, repr=False)

    @property
    def block_count(self) -> int:
        return sum(self.blocks_by_type.values())

    def as_dict(self) -> dict:
        """The result as JSON-ready data (what ``lc-runtime import --json`` prints)."""
        return {
            "course_key": self.course_key,
            "block_count": self.block_count,
            "blocks_by_type": dict(self.blocks_by_type),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "problems": [asdict(problem) for problem in self.problems],
            "published": asdict(self.published) if self.published else None,
        }


class StrictImportError(OlxError):
    """A strict import met a problem; nothing was written."""


class _CourseImport:
    def __init__(self, root_fs, writer: CourseWriter, course_key, policy: dict, progress, policy_file: str) -> None:
        self.fs = root_fs
        self.writer = writer
        self.course_key = course_key
        self.policy = policy
        self.progress = progress
        self.problems: list[ImportProblem] = []
        self.blocks_by_type: Counter[str] = Counter()
        self._seen: set[tuple[str, str]] = set()
        self.course_fields: dict = {}
        self.policy_file = policy_file
        self.locations: dict[tuple[str, str], tuple[str | None, int | None]] = {}

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
        """Import one element (found in ``file``) of the tree; return its entity id, or None if it was left out."""
        try:
            definition = resolve_definition(element, self.fs)
        except OlxError as exc:
            self.problems.append(ImportProblem(exc.message, exc.file, exc.line, element.get("url_name")))
            return None
        definition_file = pointer_path(element) or file
        tag = definition.tag
        block_id = self.block_id_for(definition, parent_ref)
        ref = f"{tag}/{block_id}"
        try:
            usage_key_for(self.course_key, tag, block_id)
        except InvalidKey as exc:
            self.problem(str(exc), element, file=file, block=ref)
            return None
        if (tag, block_id) in self._seen:
            self.problem(f"duplicate url_name {block_id!r} for <{tag}>: only the first one is imported", element,
                         file=file, block=ref)
            return None
        self._seen.add((tag, block_id))
        self.locations[(tag, block_id)] = (definition_file, definition.sourceline)
        if tag in CONTAINER_CLASSES:
            if _CONTAINER_PARENT.get(tag) != parent_tag:
                self.problem(f"<{tag}> cannot stand inside <{parent_tag}>", element, file=file, block=ref)
                return None
            return self.import_container(definition, tag, block_id, definition_file)
        if parent_tag not in ("vertical", "leaf"):
            self.problem(f"<{tag}> must stand inside a <vertical>, not <{parent_tag}>", element, file=file,
                         block=ref)
            return None
        return self.import_leaf(definition, tag, block_id, definition_file)

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
        policy = self.policy.get(f"{tag}/{block_id}", {})
        fields, extra, attribute_errors, policy_errors = container_fields(tag, dict(definition.attrib), policy)
        for error in attribute_errors:
            self.problem(error, definition, file=file, block=f"{tag}/{block_id}")
        for error in policy_errors:
            self.problem(error, None, file=self.policy_file, block=f"{tag}/{block_id}")
        if tag == "course":
            fields.update(self.course_fields)
            fields.update(course_metadata)
        self.blocks_by_type[tag] += 1
        self.progress(tag)
        return self.writer.write_container(tag, block_id, fields.get("display_name") or "", children, fields, extra)

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
        # The block is kept as written; learners see an error notice for it instead of its view.
        for error in leaf_attribute_errors(block_class, definition):
            self.problem(error, definition, file=file, block=f"{tag}/{block_id}")
        policy = self.policy.get(f"{tag}/{block_id}", {})
        for name, value in policy.items():
            definition.set(name, value if isinstance(value, str) else json.dumps(value))
        for error in leaf_attribute_errors(block_class, definition, only=policy):
            self.problem(f"policy {error}", None, file=self.policy_file, block=f"{tag}/{block_id}")
        definition.attrib.pop("url_name", None)
        self.blocks_by_type[tag] += 1
        self.progress(tag)
        return self.writer.write_component(
            tag, block_id, element_to_string(definition), definition.get("display_name") or "", children
        )


def _field_value(declared, text: str):
    """The JSON value of an OLX attribute for a field, or ValueError saying why it is not one."""
    try:
        value = declared.from_string(text)
        declared.from_json(declared.to_json(value))
    except Exception as exc:  # field types raise ValueError, TypeError, dateutil's ParserError, ...
        raise ValueError(f"{text!r} is not a valid {type(declared).__name__} ({exc})") from exc
    return declared.to_json(value)


def _known_fields(block_class) -> dict:
    """The fields a block of this class has in this runtime: its own and the inheritable settings."""
    return {**InheritableFieldsMixin.fields, **block_class.fields}


def container_fields(
    tag: str, attributes: dict[str, str], policy: dict
) -> tuple[dict, dict, list[str], list[str]]:
    """
    Split a container's OLX attributes and policy into XBlock field values (JSON) and unknown extras.

    A value its field cannot read is kept among the extras, as written, and named in the returned
    errors: those of the attributes, then those of the policy.
    """
    known = _known_fields(load_block_class(tag))
    fields: dict = {}
    extra: dict = {}
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
                extra[name] = value if isinstance(value, str) else json.dumps(value)
                continue
            fields[name] = value
        else:
            extra[name] = value if isinstance(value, str) else json.dumps(value)
    return fields, extra, errors, policy_errors


def leaf_attribute_errors(block_class, definition: etree._Element, only=None) -> list[str]:
    """
    The attributes of a leaf element (or only those named in ``only``) that its block's fields cannot
    read, each with the reason.
    """
    known = _known_fields(block_class)
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


def _read_json(root_fs, path: str, *, object_of_objects: bool = False) -> dict:
    if not root_fs.isfile(path):
        return {}
    try:
        data = json.loads(root_fs.readtext(path, encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OlxError(f"malformed JSON: {exc.msg}", file=path, line=exc.lineno) from exc
    if not isinstance(data, dict):
        raise OlxError("expected a JSON object", file=path)
    if object_of_objects and not all(isinstance(value, dict) for value in data.values()):
        raise OlxError("expected a JSON object whose values are objects", file=path)
    return data


def import_course(
    source: OlxSource,
    *,
    course_key=None,
    created_by: int | None = None,
    publish: bool = True,
    strict: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """
    Import the course export at ``source`` (see :mod:`lc_runtime.olx.sources`) as course run ``course_key``.

    ``course_key`` defaults to the org, course and run that ``course.xml`` names. The export becomes
    the run's draft; with ``publish`` (the default) it is then published, as the export is a
    published course. Raises :class:`OlxError` for an export that cannot be read at all, and
    :class:`StrictImportError` under ``strict`` for any problem; in both cases nothing is written.
    """
    progress = progress or (lambda _tag: None)
    with open_course_root(source) as root_fs:
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
        policy = _read_json(root_fs, policy_file, object_of_objects=True)
        course_policy = policy.pop(f"course/{run}", {})
        policy[f"course/{COURSE_ROOT_BLOCK_ID}"] = course_policy
        grading_policy = _read_json(root_fs, f"policies/{run}/grading_policy.json")

        with transaction.atomic():
            package_id = package_for_run(str(key)) or get_or_create_package(
                str(key), course_definition.get("display_name") or course_policy.get("display_name") or str(key)
            )
            writer = CourseWriter(package_id, created_by=created_by)
            importer = _CourseImport(root_fs, writer, key, policy, progress, policy_file)
            importer.course_fields = {"org": pointer.get("org"), "course": pointer.get("course")}
            if grading_policy:
                importer.course_fields["grading_policy"] = grading_policy
            with bulk_changes(package_id, changed_by=created_by):
                course_definition.set("url_name", COURSE_ROOT_BLOCK_ID)
                root_entity = importer.import_container(
                    course_definition, "course", COURSE_ROOT_BLOCK_ID, pointer_path(pointer) or "course.xml"
                )
                if strict and importer.problems:
                    raise StrictImportError(
                        f"{len(importer.problems)} problem(s); first: {importer.problems[0]}", block=None
                    )
            ensure_course_run(str(key), package_id, root_entity)
            published = publish_course(package_id, published_by=created_by) if publish else None
    return ImportResult(
        course_key=str(key),
        blocks_by_type=dict(importer.blocks_by_type),
        created=writer.counts.created,
        updated=writer.counts.updated,
        unchanged=writer.counts.unchanged,
        problems=importer.problems,
        published=published,
        block_locations=importer.locations,
    )
