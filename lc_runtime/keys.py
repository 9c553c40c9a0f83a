"""
Keys: course-run and usage keys (edx-opaque-keys) and their Learning Core names.

This is the bottom layer. It knows how an OLX ``url_name`` and a course key become the codes of
Learning Core entities, and back, and nothing else.

Learning Core codes only allow ``[\\w.-]``, while usage-key block ids also allow ``:`` and ``~``.
A block id that is not a valid code is stored hex-encoded behind :data:`ENCODED_PREFIX`; the
mapping is reversible, so a usage key can always be rebuilt from an entity.
Container codes are unique per package across container types, while OLX ``url_name`` values are
only unique per tag, so container codes carry their OLX tag: ``vertical.<id>``.
"""

from __future__ import annotations

import re

from opaque_keys import InvalidKeyError
from opaque_keys.edx.asides import AsideUsageKeyV2
from opaque_keys.edx.keys import CourseKey, UsageKey
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator

__all__ = [
    "COURSE_ROOT_BLOCK_ID",
    "ENCODED_PREFIX",
    "MAX_CODE_LENGTH",
    "InvalidKey",
    "block_id_from_code",
    "check_block_id",
    "code_from_block_id",
    "container_code",
    "parse_container_code",
    "to_block_or_aside_key",
    "to_course_key",
    "to_usage_key",
    "stored_usage_key",
    "usage_key_for",
]

COURSE_ROOT_BLOCK_ID = "course"
ENCODED_PREFIX = "_lcx_"
# ASCII only: MySQL/MariaDB check openedx-core's code constraint with REGEXP BINARY, where \w is ASCII.
_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")
MAX_CODE_LENGTH = 255
"""The longest code Learning Core stores (its ``*_code`` columns)."""


class InvalidKey(ValueError):
    """A course key, usage key or block id that cannot be used."""


def _parsed(text, key_class, locator_class, kind: str):
    """``text`` as a key of ``locator_class`` (a run's, not an old-style one), or :class:`InvalidKey`."""
    if isinstance(text, locator_class):
        key = text
    else:
        try:
            key = key_class.from_string(str(text))
        except InvalidKeyError as exc:
            raise InvalidKey(f"Not a {kind} key: {text!r}") from exc
    # Exactly the class: CCX keys (ccx-v1:, ccx-block-v1:) and old Mongo locations subclass these.
    if type(key) is not locator_class or key.deprecated:
        prefix = "course-v1:" if locator_class is CourseLocator else "block-v1:"
        raise InvalidKey(f"Only {prefix} {kind}{'-run' if kind == 'course' else ''} keys are supported, not {text!r}")
    return key


def to_course_key(course_key: str | CourseKey) -> CourseLocator:
    """Return a ``course-v1:`` course-run key from a string or a key; raise :class:`InvalidKey`."""
    key = _parsed(course_key, CourseKey, CourseLocator, "course")
    return key.for_branch(None).replace(version_guid=None)


def to_usage_key(usage_key: str | UsageKey) -> BlockUsageLocator:
    """Return a ``block-v1:`` usage key from a string or a key; raise :class:`InvalidKey`."""
    key = _parsed(usage_key, UsageKey, BlockUsageLocator, "usage")
    return key.replace(course_key=to_course_key(key.course_key))


def to_block_or_aside_key(key: str) -> BlockUsageLocator | AsideUsageKeyV2:
    """A ``block-v1:`` key, or an ``aside-usage-v2:`` key of an aside on such a block; raise :class:`InvalidKey`."""
    if key.startswith(f"{AsideUsageKeyV2.CANONICAL_NAMESPACE}:"):
        try:
            aside_key = UsageKey.from_string(key)
        except InvalidKeyError as exc:
            raise InvalidKey(f"Not an aside key: {key!r}") from exc
        return AsideUsageKeyV2(to_usage_key(aside_key.usage_key), aside_key.aside_type)
    return to_usage_key(key)


def usage_key_for(course_key: CourseLocator, block_type: str, block_id: str) -> BlockUsageLocator:
    """The usage key of a block of ``block_type`` with OLX ``url_name`` ``block_id`` in a course run."""
    try:
        return course_key.make_usage_key(block_type, block_id)
    except InvalidKeyError as exc:
        raise InvalidKey(f"Not a valid block id for {block_type}: {block_id!r}") from exc


_STORED_PART = re.compile(r"[\w\-~.:]+")  # opaque-keys' ALLOWED_ID_CHARS; anything else is parsed


def stored_usage_key(course_key: CourseLocator, block_type: str, block_id: str) -> BlockUsageLocator:
    """
    :func:`usage_key_for` for a block read back from storage, built without opaque-keys' parsing (a few
    times faster: a request builds many). Its parts were checked when written; one that would not
    pass here goes through :func:`usage_key_for`, and its error.
    """
    if course_key.deprecated or not (_STORED_PART.fullmatch(block_type) and _STORED_PART.fullmatch(block_id)):
        return usage_key_for(course_key, block_type, block_id)
    key = object.__new__(BlockUsageLocator)
    for name, value in (("deprecated", False), ("course_key", course_key), ("block_type", block_type),
                        ("block_id", block_id), ("_initialized", True)):
        object.__setattr__(key, name, value)
    return key


def check_block_id(course_key: CourseLocator, block_type: str, block_id: str) -> None:
    """
    Raise :class:`InvalidKey` unless a block of ``block_type`` can be stored under ``block_id``: a
    usage key holds it, and its code (a component's, or with its type a container's) fits Learning Core.
    """
    usage_key_for(course_key, block_type, block_id)
    container_code(block_type, block_id)


def code_from_block_id(block_id: str) -> str:
    """
    The Learning Core code that stores a block id (reversible with :func:`block_id_from_code`).

    Raises :class:`InvalidKey` for the empty id, and for an id whose code is longer than Learning
    Core stores (:data:`MAX_CODE_LENGTH`).
    """
    if not block_id:
        raise InvalidKey("A block id cannot be empty")
    code = block_id
    if not _CODE_RE.match(block_id) or block_id.startswith(ENCODED_PREFIX):
        code = ENCODED_PREFIX + block_id.encode("utf-8").hex()
    return _fitting(code, block_id)


def _fitting(code: str, block_id: str) -> str:
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidKey(
            f"The block id {block_id[:40]!r}... is too long: its Learning Core code would have {len(code)} "
            f"characters, {MAX_CODE_LENGTH} at most"
        )
    return code


def block_id_from_code(code: str) -> str:
    """The block id a Learning Core code stands for."""
    if code.startswith(ENCODED_PREFIX):
        return bytes.fromhex(code[len(ENCODED_PREFIX) :]).decode("utf-8")
    return code


def container_code(olx_tag: str, block_id: str) -> str:
    """The container code for an OLX container element (``chapter``, ``vertical``, ...) and its id."""
    return _fitting(f"{olx_tag}.{code_from_block_id(block_id)}", block_id)


def parse_container_code(code: str) -> tuple[str, str]:
    """Split a container code into (OLX tag, block id)."""
    olx_tag, _, rest = code.partition(".")
    return olx_tag, block_id_from_code(rest)
