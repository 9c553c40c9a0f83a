"""What a stored course is, as comparable data: for round-trip tests of OLX import and export."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lxml import etree

from lc_runtime import api
from lc_runtime.content.assets.api import list_assets
from lc_runtime.content.courses.api import load_course_tree, read_course_files
from lc_runtime.keys import usage_key_for
from lc_runtime.olx.damaged import damage_of


def canonical_olx(olx: str | None) -> str | None:
    """OLX in canonical form (C14N 2.0): CDATA and escaped text, attribute quoting, ... compare equal."""
    return etree.canonicalize(olx) if olx else olx


def tree_snapshot(course_key: str, mode: str = "published") -> dict:
    """
    Every block of a run's tree in ``mode``: children (refs, in order), title, container settings, a
    leaf's canonical OLX and the authored field values its own class parses from it (through the runtime).
    """
    tree = load_course_tree(course_key, mode=mode)
    runtime = api.get_runtime(None, course_key=course_key, mode=mode)
    blocks = {}
    for ref, record in tree.blocks.items():
        entry = {"children": list(record.children), "title": record.title, "damaged": damage_of(record) is not None}
        if record.is_container:
            entry["fields"] = record.fields
            entry["extra_attributes"] = record.extra_attributes
        else:
            entry["olx"] = canonical_olx(record.olx)
            key = usage_key_for(runtime.course_key, *ref)
            runtime.get_block(key)
            entry["authored"] = runtime.authored.values_of(key)
        blocks[ref] = entry
    return blocks


def course_files_snapshot(course_key: str, mode: str = "published") -> dict[str, bytes]:
    """The run's about/, info/ and tabs/ files."""
    return read_course_files(load_course_tree(course_key, mode=mode).learning_package_id, mode=mode)


def static_files_snapshot(course_key: str, mode: str = "published") -> list[tuple]:
    """The run's static files: path, content hash, content type, locked."""
    package_id = load_course_tree(course_key, mode=mode).learning_package_id
    return [(a.path, a.hash_digest, a.content_type, a.locked) for a in list_assets(package_id, mode=mode)]


def files_of(folder: Path) -> dict[str, str]:
    """{relative path: sha1 of the bytes} of every file below ``folder``."""
    return {
        str(path.relative_to(folder)): hashlib.sha1(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def row_counts() -> dict[str, int]:
    """Rows of every table of lc-runtime and openedx-core: to show that a refused import wrote nothing."""
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("lc_runtime", "openedx_content")
    }
