"""
How a loaded course tree is kept between requests (ADR 0019).

Two levels, both keyed by the snapshot a tree was read at (so neither is ever stale, and neither
needs invalidating: a publish makes a new snapshot, hence a new key):

- **Django's cache**, shared by every process: the tree's *stored form*, a versioned header and a
  zlib-compressed pickle of plain tuples (no XBlock, key or model object inside, so loading it builds
  nothing but the records). A stored form larger than ``LC_RUNTIME["CACHE_ITEM_BYTES"]`` is written in
  parts no larger than that, so a memcached item limit (1 MB by default) is never met; a part evicted
  on its own makes the whole entry a miss.
- **The trees this process has loaded**, an LRU bounded in bytes (``LC_RUNTIME["LOADED_TREES_BYTES"]``,
  sized by an estimate of each tree's memory): a warm request deserializes nothing.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from uuid import uuid4

from django.core.cache import caches
from opaque_keys.edx.keys import CourseKey

from lc_runtime.conf import get_setting
from lc_runtime.content.courses.records import BlockRecord, CourseTree

TREE_CACHE_ALIAS = "default"
# The version of the stored form: the cache key's version, so that processes running different code
# never read each other's entries (4: compressed tuples in parts; 3 was a pickled CourseTree).
STORED_FORM_VERSION = 4
TREE_CACHE_TIMEOUT = 60 * 60 * 24
_HEADER = b"lc-runtime-tree/4\n"
# Measured (``make bench``, tracemalloc): a loaded tree takes about twice its uncompressed stored form.
_MEMORY_PER_STORED_BYTE = 2


class StoredFormError(ValueError):
    """Bytes that are not a stored tree of this version (another version's, or damaged)."""


def dump_tree(tree: CourseTree) -> bytes:
    """The stored form of ``tree`` (without ``run_settings``/``snapshot_at``, which every load sets)."""
    return _HEADER + zlib.compress(_serialized(tree), 6)


def _serialized(tree: CourseTree) -> bytes:
    records = tuple(
        (
            r.block_type, r.block_id, r.entity_id, r.version_id, r.version_uuid, r.version_num, r.title,
            r.is_container, r.olx, r.fields, r.extra_attributes, tuple(r.children), r.parent,
            r.pool_entity_id, r.pool_version_id,
        )
        for r in tree.blocks.values()
    )
    body = (str(tree.course_key), tree.learning_package_id, tree.mode, tree.snapshot, tree.root, records)
    return pickle.dumps(body, protocol=5)


def load_tree(stored: bytes) -> tuple[CourseTree, int]:
    """The tree ``stored`` holds, and an estimate of the memory it takes; StoredFormError if it is not one."""
    if not isinstance(stored, bytes | bytearray) or not stored.startswith(_HEADER):
        raise StoredFormError("not a stored course tree of this version")
    try:
        raw = zlib.decompress(memoryview(stored)[len(_HEADER):])
        course_key, package_id, mode, snapshot, root, records = pickle.loads(raw)  # noqa: S301 - our own cache
    except (zlib.error, pickle.UnpicklingError, ValueError, TypeError, EOFError) as exc:
        raise StoredFormError(f"damaged stored course tree: {exc}") from exc
    blocks = {}
    for (block_type, block_id, entity_id, version_id, version_uuid, version_num, title, is_container, olx,
         fields, extra_attributes, children, parent, pool_entity_id, pool_version_id) in records:
        blocks[(block_type, block_id)] = BlockRecord(
            block_type, block_id, entity_id, version_id, version_uuid, version_num, title, is_container, olx,
            fields, extra_attributes, list(children), parent, pool_entity_id, pool_version_id,
        )
    tree = CourseTree(
        CourseKey.from_string(course_key), package_id, mode, snapshot, root, blocks,
        {record.entity_id: ref for ref, record in blocks.items()},
    )
    return tree, len(raw) * _MEMORY_PER_STORED_BYTE


@dataclass(frozen=True, slots=True)
class _Parts:
    """What the cache holds under a tree's key when its stored form was written in parts."""

    token: str
    count: int
    size: int

    def keys(self, cache_key: str) -> list[str]:
        # Named by a digest of the entry's key: a long course key must not push them past memcached's 250.
        base = hashlib.sha256(cache_key.encode()).hexdigest()[:32]
        return [f"lc_runtime.tree-part:{base}:{self.token}:{index}" for index in range(self.count)]


def write_stored_form(cache_key: str, stored: bytes) -> int:
    """Put ``stored`` in the shared cache under ``cache_key``; return how many items it took."""
    cache = caches[TREE_CACHE_ALIAS]
    limit = max(1024, int(get_setting("CACHE_ITEM_BYTES")))
    if len(stored) <= limit:
        cache.set(cache_key, stored, TREE_CACHE_TIMEOUT, version=STORED_FORM_VERSION)
        return 1
    # Parts first, the entry naming them last: a reader never finds an entry whose parts were not written.
    # The token keeps two writers' parts apart (their bytes are equal, but their counts need not be).
    parts = _Parts(uuid4().hex, -(-len(stored) // limit), len(stored))
    cache.set_many(
        {key: stored[index * limit:(index + 1) * limit] for index, key in enumerate(parts.keys(cache_key))},
        TREE_CACHE_TIMEOUT,
        version=STORED_FORM_VERSION,
    )
    cache.set(cache_key, parts, TREE_CACHE_TIMEOUT, version=STORED_FORM_VERSION)
    return parts.count + 1


def read_stored_form(cache_key: str) -> bytes | None:
    """The stored form under ``cache_key`` in the shared cache, or None (absent, or a part evicted)."""
    cache = caches[TREE_CACHE_ALIAS]
    entry = cache.get(cache_key, version=STORED_FORM_VERSION)
    if not isinstance(entry, _Parts):
        return entry if isinstance(entry, bytes) else None
    keys = entry.keys(cache_key)
    found = cache.get_many(keys, version=STORED_FORM_VERSION)
    if len(found) != len(keys):
        return None
    stored = b"".join(found[key] for key in keys)
    return stored if len(stored) == entry.size else None


class LoadedTrees:
    """The trees one process has loaded, least recently used first out once over ``max_bytes``."""

    def __init__(self) -> None:
        self._trees: OrderedDict[str, tuple[CourseTree, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, cache_key: str) -> CourseTree | None:
        with self._lock:
            found = self._trees.get(cache_key)
            if found is None:
                return None
            self._trees.move_to_end(cache_key)
            return found[0]

    def put(self, cache_key: str, tree: CourseTree, size: int) -> None:
        limit = int(get_setting("LOADED_TREES_BYTES"))
        if size > limit:
            return  # a tree larger than the whole budget would only push every other one out
        with self._lock:
            previous = self._trees.pop(cache_key, None)
            if previous is not None:
                self._bytes -= previous[1]
            self._trees[cache_key] = (tree, size)
            self._bytes += size
            while self._bytes > limit:
                _, (_, dropped) = self._trees.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()
            self._bytes = 0

    def usage(self) -> tuple[int, int]:
        """(trees kept, their estimated bytes)."""
        with self._lock:
            return len(self._trees), self._bytes


LOADED_TREES = LoadedTrees()


def cached_tree(cache_key: str) -> CourseTree | None:
    """The tree under ``cache_key``: this process's loaded one, else the shared cache's (then kept here)."""
    tree = LOADED_TREES.get(cache_key)
    if tree is not None:
        return tree
    stored = read_stored_form(cache_key)
    if stored is None:
        return None
    try:
        tree, size = load_tree(stored)
    except StoredFormError:
        return None  # read again from the database, and stored again
    LOADED_TREES.put(cache_key, tree, size)
    return tree


def keep_tree(cache_key: str, tree: CourseTree) -> None:
    """Store a freshly read ``tree`` in the shared cache and keep it loaded in this process."""
    raw = _serialized(tree)
    write_stored_form(cache_key, _HEADER + zlib.compress(raw, 6))
    LOADED_TREES.put(cache_key, tree, len(raw) * _MEMORY_PER_STORED_BYTE)


def forget_loaded_trees() -> None:
    """Drop the trees this process keeps loaded (the shared cache is untouched). Tests clear both."""
    LOADED_TREES.clear()


def loaded_trees_usage() -> tuple[int, int]:
    """How many trees this process keeps loaded, and their estimated memory in bytes."""
    return LOADED_TREES.usage()
