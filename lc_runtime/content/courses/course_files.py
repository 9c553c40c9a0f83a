"""
The course's files outside its outline: ``about/``, ``info/`` and ``tabs/`` of an OLX export.

edx-platform keeps these as "detached" blocks: ``about`` (``about/overview.html``,
``about/short_description.html``, ``about/effort.html``, ...), ``course_info`` (``info/updates.html``
with ``info/updates.items.json``, ``info/handouts.html``) and ``static_tab`` (``tabs/<url_slug>.html``).
Here each becomes a Component of that type (namespace ``xblock.v1``, code = the file's name without
extension, so ``about/overview.html`` is ``xblock.v1:about:overview``, the usage key edx-platform
gives it) that no container lists. Its media are the files themselves, at their paths in the export,
byte for byte: text media when the file is UTF-8 text short enough for the database, file media
otherwise. They are drafts like everything else an import writes, and are published with the course.
"""

from __future__ import annotations

import mimetypes
from collections import defaultdict
from collections.abc import Mapping

from openedx_content import api as content_api
from openedx_content.models_api import ComponentVersionMedia, Media

from lc_runtime.content.courses.tree import Mode, check_mode
from lc_runtime.content.courses.writer import XBLOCK_NAMESPACE, ChangeCounts, utc_now
from lc_runtime.keys import code_from_block_id

COURSE_FILE_FOLDERS: dict[str, str] = {"about": "about", "info": "course_info", "tabs": "static_tab"}
"""Export folder -> the detached block type its files belong to."""


def course_file_group(path: str) -> tuple[str, str] | None:
    """
    The (block type, name) of the detached block a file of the export belongs to, or None.

    ``info/updates.html`` and ``info/updates.items.json`` are one block, ``course_info/updates``.
    """
    folder, _, rest = path.partition("/")
    block_type = COURSE_FILE_FOLDERS.get(folder)
    if block_type is None or not rest or rest.endswith("/"):
        return None
    directory, _, filename = rest.rpartition("/")
    stem = filename.split(".", 1)[0]
    if not stem:
        return None
    return block_type, f"{directory}/{stem}" if directory else stem


def _media_type(path: str, is_text: bool):
    guessed = mimetypes.guess_type(path)[0]
    if guessed is None:
        guessed = "text/plain" if is_text else "application/octet-stream"
    return content_api.get_or_create_media_type(guessed)


def _media_for(package_id: int, path: str, data: bytes) -> Media:
    """Deduplicated media holding ``data`` exactly: text in the database when it can be, else a file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    # Text media are compared and served as text; only text that encodes back to the same bytes is kept so.
    if text is not None and len(text) <= Media.MAX_TEXT_LENGTH and "\x00" not in text:
        return content_api.get_or_create_text_media(
            package_id, _media_type(path, True).id, text=text, created=utc_now()
        )
    return content_api.get_or_create_file_media(package_id, _media_type(path, False).id, data=data, created=utc_now())


def _media_bytes(media: Media) -> bytes:
    if media.text is not None:
        return media.text.encode("utf-8")
    with media.read_file() as handle:
        return handle.read()


def _detached_components(package_id: int):
    return content_api.get_components(
        package_id, namespace=XBLOCK_NAMESPACE, type_names=sorted(set(COURSE_FILE_FOLDERS.values()))
    )


def write_course_files(
    package_id: int, files: Mapping[str, bytes], *, created_by: int | None = None
) -> ChangeCounts:
    """
    Make ``files`` ({export path: bytes}) the draft detached blocks of the package.

    A block whose files are the same gets no new version; a detached block whose files are all gone
    from ``files`` is deleted (as a draft change). Files outside ``about/``, ``info/`` and ``tabs/``
    are ignored.
    """
    groups: dict[tuple[str, str], dict[str, bytes]] = defaultdict(dict)
    for path, data in files.items():
        group = course_file_group(path)
        if group is not None:
            groups[group][path] = data
    existing = {
        (component.component_type.name, component.component_code): component
        for component in _detached_components(package_id)
    }
    counts = ChangeCounts()
    written_codes: set[tuple[str, str]] = set()
    for (block_type, name), group_files in sorted(groups.items()):
        code = code_from_block_id(name)
        written_codes.add((block_type, code))
        media = {path: _media_for(package_id, path, data) for path, data in sorted(group_files.items())}
        component = existing.get((block_type, code))
        draft = component.versioning.draft if component is not None else None
        if component is None:
            content_api.create_component_and_version(
                package_id,
                component_type=content_api.get_or_create_component_type(XBLOCK_NAMESPACE, block_type),
                component_code=code,
                title=name,
                created=utc_now(),
                created_by=created_by,
                media=media,
            )
            counts.count(block_type, "created", name)
            continue
        current = (
            dict(ComponentVersionMedia.objects.filter(component_version=draft).values_list("path", "media_id"))
            if draft is not None else None
        )
        if current == {path: item.id for path, item in media.items()}:
            counts.count(block_type, "unchanged")
            continue
        replace: dict = dict(media)
        for path in current or {}:
            replace.setdefault(path, None)  # a file the block no longer has
        content_api.create_next_component_version(
            component.id, media_to_replace=replace, created=utc_now(), title=name, created_by=created_by
        )
        counts.count(block_type, "updated", name)
    for (block_type, code), component in sorted(existing.items()):
        if (block_type, code) not in written_codes and component.versioning.draft is not None:
            content_api.soft_delete_draft(component.publishable_entity_id, deleted_by=created_by)
            counts.count(block_type, "deleted", code)
    return counts


def read_course_files(package_id: int, *, mode: Mode = "published") -> dict[str, bytes]:
    """
    The files of the package's detached blocks, {export path: bytes}, as published or as drafted.

    Two queries, plus one storage read per file kept as file media.
    """
    branch = check_mode(mode)
    version_ids = [
        version_id
        for version_id in _detached_components(package_id).values_list(
            f"publishable_entity__{branch}__version_id", flat=True
        )
        if version_id is not None
    ]
    rows = ComponentVersionMedia.objects.filter(component_version_id__in=version_ids).select_related("media")
    return {row.path: _media_bytes(row.media) for row in rows.order_by("path")}
