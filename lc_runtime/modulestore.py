"""
A modulestore-shaped door to courses in Learning Core, for edx-platform's many ``modulestore()`` callers.

:class:`LearningCoreModuleStore` answers the calls of edx-platform's modulestore API (``get_course``,
``get_item``, ``get_items``, ``get_parent_location``..., and the writes Studio's views make) with
blocks of a :class:`~lc_runtime.runtime.learning_core_runtime.LearningCoreRuntime`: they have
``location``, ``category``, ``children`` (keys), ``get_children()``, ``get_parent()`` and inherited
settings, as blocks of the split modulestore do. Reads use the published course (``published-only``,
the LMS default) or the draft (``draft-preferred``, Studio's), as :meth:`branch_setting` says; the
default is ``settings.MODULESTORE_BRANCH`` when the host sets it. Writes change the draft through
:mod:`lc_runtime.authoring` and the unit of work, one transaction each (or one for a whole
:meth:`bulk_operations`). What is not supported raises ``NotImplementedError`` naming the method.

The exceptions are edx-platform's own (``xmodule.modulestore.exceptions``) when it is installed, so
callers' ``except ItemNotFoundError`` clauses work; otherwise classes of the same names here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from opaque_keys.edx.keys import CourseKey, UsageKey

from lc_runtime import api
from lc_runtime.conf import get_setting, import_object
from lc_runtime.keys import InvalidKey, to_course_key, to_usage_key, usage_key_for
from lc_runtime.qualifiers import matches
from lc_runtime.signals import suppressed_course_published

try:  # pragma: no cover - inside edx-platform
    from xmodule.modulestore.exceptions import DuplicateItemError, ItemNotFoundError
except ImportError:
    class ItemNotFoundError(Exception):
        """No block (or course) at the key asked for."""

    class DuplicateItemError(Exception):
        """A block with this key exists already."""

__all__ = [
    "CourseRouter",
    "DRAFT_PREFERRED",
    "PUBLISHED_ONLY",
    "DuplicateItemError",
    "ItemNotFoundError",
    "LearningCoreModuleStore",
]

PUBLISHED_ONLY = "published-only"
DRAFT_PREFERRED = "draft-preferred"
_PUBLISHED_AT_ONCE = ("course", "chapter", "sequential")
"""What edx-platform publishes as soon as it changes ("direct-only" categories)."""
_BRANCHES = (PUBLISHED_ONLY, DRAFT_PREFERRED)
_MISSING = object()


@dataclass(frozen=True)
class CourseSummaryItem:
    """What ``get_course_summaries`` gives per course (edx-platform's CourseSummary attributes)."""

    id: CourseKey
    location: UsageKey
    display_name: str
    display_coursenumber: str
    display_org_with_default: str
    display_number_with_default: str
    start: datetime
    end: datetime | None

    def has_ended(self) -> bool:
        """Whether the course's end has passed."""
        from django.utils import timezone

        return self.end is not None and self.end < timezone.now()


def _field_matches(block, name: str, criterion) -> bool:
    field = block.fields.get(name)
    if isinstance(criterion, dict) and "$exists" in criterion:
        exists = field is not None and field.is_set_on(block)
        return exists == bool(criterion["$exists"])
    if field is None:
        return False
    value = getattr(block, name)
    if name == "children":
        value = [str(child) for child in value]
    return matches(value, criterion)


class LearningCoreModuleStore:
    """The modulestore API over Learning Core courses (see the module's docs). Constructed with no arguments."""

    def __init__(self) -> None:
        self._local = threading.local()

    # ---- branches and bulk operations

    @property
    def branch(self) -> str:
        """The branch reads use now, in this thread."""
        stack = getattr(self._local, "branches", None)
        if stack:
            return stack[-1]
        return getattr(settings, "MODULESTORE_BRANCH", PUBLISHED_ONLY)

    @contextmanager
    def branch_setting(self, branch_setting: str, course_id=None) -> Iterator[None]:
        """Read ``published-only`` or ``draft-preferred`` inside (``course_id`` is accepted and ignored)."""
        if branch_setting not in _BRANCHES:
            raise ValueError(f"branch_setting must be one of {_BRANCHES}, not {branch_setting!r}")
        stack = self._local.__dict__.setdefault("branches", [])
        stack.append(branch_setting)
        try:
            yield
        finally:
            stack.pop()

    def get_branch_setting(self, course_id=None) -> str:
        """The branch reads use now (edx-platform's name for :attr:`branch`)."""
        return self.branch

    @contextmanager
    def bulk_operations(self, course_id, emit_signals: bool = True, ignore_case: bool = False) -> Iterator[None]:
        """
        One transaction for every write inside: the platform hears of them once, after it commits
        (with ``emit_signals=False``, no ``course_published`` at all). Nests.
        """
        with transaction.atomic():
            if emit_signals:
                yield
            else:
                with suppressed_course_published():
                    yield

    # ---- reading

    def _mode(self, revision=None) -> str:
        # edx-platform's ModuleStoreEnum.RevisionOption values, and its branch names.
        if revision in ("rev-opt-draft-only", "rev-opt-draft-preferred", "draft-only", DRAFT_PREFERRED):
            return "draft"
        if revision in ("rev-opt-published-only", PUBLISHED_ONLY):
            return "published"
        return "draft" if self.branch == DRAFT_PREFERRED else "published"

    def _runtime(self, course_key: CourseKey, revision=None):
        try:
            return api.get_runtime(None, course_key=course_key, mode=self._mode(revision))
        except (api.CourseNotFound, api.CourseNotPublished) as exc:
            raise ItemNotFoundError(str(course_key)) from exc

    def _block(self, usage_key, revision=None):
        try:
            usage_key = to_usage_key(usage_key)
        except InvalidKey as exc:
            raise ItemNotFoundError(str(usage_key)) from exc
        runtime = self._runtime(usage_key.course_key, revision)
        ref = (usage_key.block_type, usage_key.block_id)
        if ref not in runtime.tree.blocks:
            raise ItemNotFoundError(str(usage_key))
        return runtime.get_block(usage_key)

    def get_item(self, usage_key, depth: int = 0, revision=None, **kwargs):
        """The block at ``usage_key``; raises ``ItemNotFoundError``. (Children load when asked: ``depth`` is moot.)"""
        return self._block(usage_key, revision)

    def has_item(self, usage_key, revision=None, **kwargs) -> bool:
        """Whether a block exists at ``usage_key`` in the branch read."""
        try:
            self._block(usage_key, revision)
        except ItemNotFoundError:
            return False
        return True

    def get_course(self, course_key, depth: int = 0, **kwargs):
        """The course's root block, or None if there is no such course (or, published-only, not published)."""
        try:
            key = to_course_key(course_key)
            runtime = self._runtime(key)
        except (InvalidKey, ItemNotFoundError):
            return None
        return runtime.get_block(runtime.root_usage_key)

    def has_course(self, course_id, ignore_case: bool = False, **kwargs):
        """The course's key if the run exists (any case with ``ignore_case``), else None."""
        wanted = str(course_id)
        for run in api.list_runs():
            if run.course_key == wanted or (ignore_case and run.course_key.lower() == wanted.lower()):
                return to_course_key(run.course_key)
        return None

    def get_course_keys(self) -> list[CourseKey]:
        """Every course run's key."""
        return [to_course_key(run.course_key) for run in api.list_runs()]

    def get_courses(self, **kwargs) -> list:
        """The root block of every course run readable in the branch (published-only: the published ones)."""
        courses = (self.get_course(key) for key in self.get_course_keys())
        return [course for course in courses if course is not None]

    def get_course_summaries(self, **kwargs) -> list[CourseSummaryItem]:
        """A summary of every published course run, without building its blocks."""
        found = []
        for key in self.get_course_keys():
            try:
                summary = api.get_course_summary(key)
            except (api.CourseNotFound, api.CourseNotPublished):
                continue
            found.append(CourseSummaryItem(
                id=key, location=summary.location, display_name=summary.display_name,
                display_coursenumber=summary.display_number_with_default,
                display_org_with_default=summary.display_org_with_default,
                display_number_with_default=summary.display_number_with_default,
                start=summary.start, end=summary.end,
            ))
        return found

    def get_items(
        self,
        course_key,
        revision=None,
        settings: Mapping[str, Any] | None = None,
        content: Mapping[str, Any] | None = None,
        qualifiers: Mapping[str, Any] | None = None,
        include_orphans: bool = True,
        **kwargs,
    ) -> list:
        """
        The blocks of a course matching ``qualifiers`` (``category``, ``name``, or any field), ``settings``
        and ``content`` (field values): a value may be a regex, a callable, ``{"$in": [...]}``,
        ``{"$nin": [...]}`` or ``{"$exists": bool}``. In course order. Other keyword arguments are
        qualifiers too, as edx-platform allows.
        """
        try:
            runtime = self._runtime(to_course_key(course_key), revision)
        except InvalidKey:
            return []
        wanted = {**(qualifiers or {}), **kwargs}
        category, name = wanted.pop("category", _MISSING), wanted.pop("name", _MISSING)
        field_criteria = {**wanted, **(settings or {}), **(content or {})}
        found = []
        for record in runtime.tree.descendants(runtime.tree.root):
            if category is not _MISSING and not matches(record.block_type, category):
                continue
            if name is not _MISSING and not matches(record.block_id, name):
                continue
            block = runtime.get_block(runtime.usage_key_of(record.ref))
            if all(_field_matches(block, field, criterion) for field, criterion in field_criteria.items()):
                found.append(block)
        return found

    def get_parent_location(self, location, revision=None, **kwargs):
        """The key of the block's parent, or None for the course (raises ``ItemNotFoundError`` for no block)."""
        block = self._block(location, revision)
        parent = block.runtime.tree.blocks[(block.category, block.url_name)].parent
        return block.runtime.usage_key_of(parent) if parent is not None else None

    def get_orphans(self, course_key, **kwargs) -> list[UsageKey]:
        """Blocks the course's package holds a draft of that no parent in the draft reaches."""
        return api.orphans_of(to_course_key(course_key))

    def get_modulestore_type(self, course_key=None) -> str:
        """``"split"``: courses here have split's keys (``course-v1:``/``block-v1:``) and its branches."""
        return "split"

    def make_course_key(self, org: str, course: str, run: str) -> CourseKey:
        """The ``course-v1:`` key of a run."""
        return to_course_key(f"course-v1:{org}+{course}+{run}")

    def make_course_usage_key(self, course_key) -> UsageKey:
        """The key of a course's root block."""
        return usage_key_for(to_course_key(course_key), "course", "course")

    # ---- writing (the draft; Studio's calls)

    @staticmethod
    def _user(user_id: int | None):
        """The user a write is made as; None (a system task) only when no user id is given."""
        if user_id is None:
            return None
        user = get_user_model().objects.filter(id=user_id).first()
        if user is None:
            raise PermissionDenied(f"No user {user_id}: writes are made as a known user")
        return user

    def _auto_publish(self, location, user) -> None:
        """edx-platform publishes a course, section or subsection at once when it changes: its own version."""
        if location.block_type in _PUBLISHED_AT_ONCE:
            api.publish_block(user, location, with_descendants=False)

    def update_item(self, xblock, user_id=None, allow_not_found: bool = False, force: bool = False, **kwargs):
        """Save the draft block's changed fields (one unit of work, as ``user_id``); return it."""
        if xblock.runtime.mode != "draft":
            raise ValueError("update_item takes a block read with the draft-preferred branch")
        user = self._user(user_id)
        if user is not None and not api.has_author_access(api.course_roles(user, xblock.location.course_key)):
            raise PermissionDenied(f"Only the course's staff and instructors may edit {xblock.location.course_key}")
        with api.unit_of_work():
            xblock.save()
            self._auto_publish(xblock.location, user)
        api.announce_block_updated(xblock.location)
        return xblock

    def create_child(self, user_id, parent_usage_key, block_type, block_id=None, fields=None, position=None,
                     **kwargs):
        """Create a block among ``parent_usage_key``'s children (at ``position``, else last); return it."""
        user = self._user(user_id)
        with transaction.atomic():
            key = api.create_block(user, parent_usage_key, block_type, block_id=block_id, position=position,
                                   fields=fields or {})
            self._auto_publish(to_usage_key(parent_usage_key), user)
        return self._block(key, DRAFT_PREFERRED)

    def create_item(self, user_id, course_key, block_type, block_id=None, fields=None, **kwargs):
        """Not supported: a block with no parent (an orphan, or a course's about/info/tab item) is not stored."""
        raise NotImplementedError(
            "LearningCoreModuleStore.create_item: blocks are created under a parent (create_child); a course's "
            "about, info and tab pages are its course files (import them)"
        )

    def delete_item(self, location, user_id=None, revision=None, **kwargs) -> None:
        """Delete the block and everything below it from the draft (at once for a section or subsection)."""
        user = self._user(user_id)
        location = to_usage_key(location)
        parent = self.get_parent_location(location, revision=DRAFT_PREFERRED)
        with transaction.atomic():
            api.delete_block(user, location)
            if location.block_type in _PUBLISHED_AT_ONCE and parent is not None:
                api.publish_block(user, parent, with_descendants=False)

    def publish(self, location, user_id=None, **kwargs):
        """Publish the block and everything below it; return the published block."""
        api.publish_block(self._user(user_id), location)
        return self._block(location, PUBLISHED_ONLY)

    def revert_to_published(self, location, user_id=None) -> None:
        """Discard the draft changes of the block and everything below it."""
        api.discard_changes(self._user(user_id), location)

    def has_changes(self, xblock) -> bool:
        """Whether the block, or anything below it, has changes not yet published."""
        return api.has_unpublished_changes(xblock.location)

    def unpublish(self, location, user_id=None, **kwargs):
        """Not supported: a published block leaves learners when it is deleted and the deletion published."""
        raise NotImplementedError("LearningCoreModuleStore.unpublish: delete the block and publish its parent")

    def __getattr__(self, name: str) -> Callable:
        # The rest of edx-platform's modulestore API: a clear error naming the method, not an AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)

        def unsupported(*args, **kwargs):
            raise NotImplementedError(f"LearningCoreModuleStore.{name} is not supported (see the README)")

        return unsupported


# ---- one course at a time

_COURSE_ARGUMENT: dict[str, tuple[int, str]] = {
    # method -> (position, keyword) of the argument that names the course (a course key, a usage key or a block)
    "get_course": (0, "course_key"), "has_course": (0, "course_id"), "get_items": (0, "course_key"),
    "get_orphans": (0, "course_key"), "bulk_operations": (0, "course_id"), "get_item": (0, "usage_key"),
    "has_item": (0, "usage_key"), "get_parent_location": (0, "location"), "has_changes": (0, "xblock"),
    "update_item": (0, "xblock"), "create_child": (1, "parent_usage_key"), "create_item": (1, "course_key"),
    "delete_item": (0, "location"), "publish": (0, "location"), "unpublish": (0, "location"),
    "revert_to_published": (0, "location"), "get_modulestore_type": (0, "course_key"),
    "make_course_usage_key": (0, "course_key"),
}


def _course_of(value) -> CourseKey | None:
    """The course key in a course key, a usage key, a block or a string of either."""
    if isinstance(value, CourseKey):
        return value
    if isinstance(value, UsageKey):
        return value.course_key
    location = getattr(value, "location", None)
    if isinstance(location, UsageKey):
        return location.course_key
    if isinstance(value, str):
        for parse in (to_course_key, lambda text: to_usage_key(text).course_key):
            try:
                return parse(value)
            except InvalidKey:
                continue
    return None


def learning_core_has_course(course_key: CourseKey) -> bool:
    """The default route: a course run that exists in Learning Core is read there."""
    return api.run_exists(course_key)


class CourseRouter:
    """
    A mixed store that moves courses one at a time: each call about one course goes to the
    :class:`LearningCoreModuleStore` when ``LC_RUNTIME["ROUTE_TO_LEARNING_CORE"]`` (a callable
    ``(CourseKey) -> bool``; by default, "the run exists in Learning Core") says so, and to ``other`` (the
    platform's own modulestore) otherwise; calls about every course (``get_courses``,
    ``get_course_summaries``, ``get_course_keys``) merge both; ``branch_setting`` applies to both; any
    other call goes to ``other``.
    """

    def __init__(self, other, learning_core: LearningCoreModuleStore | None = None, route=None) -> None:
        self.other = other
        self.learning_core = learning_core or LearningCoreModuleStore()
        configured = get_setting("ROUTE_TO_LEARNING_CORE")
        self.route: Callable[[CourseKey], bool] = route or (
            import_object(configured) if configured else learning_core_has_course
        )

    def store_for(self, course_key) -> Any:
        """The store that holds ``course_key`` (a course key, a usage key or a block)."""
        key = _course_of(course_key)
        return self.learning_core if key is not None and self.route(key) else self.other

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in _COURSE_ARGUMENT:
            return getattr(self.other, name)
        position, keyword = _COURSE_ARGUMENT[name]

        def routed(*args, **kwargs):
            subject = kwargs.get(keyword, args[position] if len(args) > position else None)
            return getattr(self.store_for(subject), name)(*args, **kwargs)

        routed.__name__ = name
        return routed

    def get_course_keys(self) -> list[CourseKey]:
        """Every course of both stores (the Learning Core copy of a course routed there, once)."""
        mine = [key for key in self.learning_core.get_course_keys() if self.route(key)]
        theirs = [key for key in _other_keys(self.other) if not self.route(key)]
        return mine + theirs

    def get_courses(self, **kwargs) -> list:
        """The courses of both stores, each from the store it is routed to."""
        mine = [c for c in self.learning_core.get_courses(**kwargs) if self.route(c.location.course_key)]
        theirs = [c for c in self.other.get_courses(**kwargs) if not self.route(c.location.course_key)]
        return mine + theirs

    def get_course_summaries(self, **kwargs) -> list:
        """The summaries of both stores, each from the store its course is routed to."""
        mine = [s for s in self.learning_core.get_course_summaries(**kwargs) if self.route(s.id)]
        theirs = [s for s in self.other.get_course_summaries(**kwargs) if not self.route(s.id)]
        return mine + theirs

    @contextmanager
    def branch_setting(self, branch_setting: str, course_id=None) -> Iterator[None]:
        """The branch for both stores."""
        with ExitStack() as stack:
            stack.enter_context(self.learning_core.branch_setting(branch_setting, course_id))
            if hasattr(self.other, "branch_setting"):
                stack.enter_context(self.other.branch_setting(branch_setting, course_id))
            yield


def _other_keys(store) -> list[CourseKey]:
    if hasattr(store, "get_course_keys"):
        return list(store.get_course_keys())
    return [course.location.course_key for course in store.get_courses()]
