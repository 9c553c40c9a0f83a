"""
The public Python API of lc-runtime: what edx-platform (and anyone else) calls.

Every ``course_key`` argument takes a string or a ``CourseKey``.

>>> from lc_runtime import api
>>> result = api.import_olx("examples/demo-course")            # import and publish
>>> with api.unit_of_work():                                   # one transaction per request
...     runtime = api.get_runtime(user, course_key=result.course_key)
...     unit = runtime.get_block("block-v1:LcX+Demo+2026+type@vertical+block@welcome-unit")
...     html = runtime.render(unit, "student_view").content
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from opaque_keys.edx.keys import CourseKey

from lc_runtime.content.tree import CourseNotFound, CourseNotPublished, load_course_tree
from lc_runtime.content.writes import PublishSummary, package_for_run, publish_course
from lc_runtime.fielddata.learner import get_learner_state_store, get_preview_state_store
from lc_runtime.fielddata.unit_of_work import unit_of_work
from lc_runtime.keys import InvalidKey, to_course_key
from lc_runtime.olx.importer import ImportProblem, ImportResult, StrictImportError, import_course
from lc_runtime.olx.parsing import OlxError
from lc_runtime.olx.sources import OlxSource
from lc_runtime.runtime.events import XBlockEvent, xblock_event
from lc_runtime.runtime.runtime import LearningCoreRuntime

__all__ = [
    "CourseNotFound",
    "CourseNotPublished",
    "ImportProblem",
    "ImportResult",
    "InvalidKey",
    "LearningCoreRuntime",
    "OlxError",
    "PublishSummary",
    "StrictImportError",
    "XBlockEvent",
    "get_runtime",
    "import_olx",
    "publish",
    "unit_of_work",
    "xblock_event",
]

Mode = Literal["published", "draft"]


def import_olx(
    source: OlxSource,
    *,
    course_key: str | CourseKey | None = None,
    publish: bool = True,
    strict: bool = False,
    created_by: int | None = None,
    progress=None,
) -> ImportResult:
    """
    Import a course export and (by default) publish it.

    ``source`` is the folder holding ``course.xml``, a parent folder holding ``course/`` (as Studio's
    export unpacks), a ``.tar.gz``, a ``.zip``, or an ``fs`` filesystem. ``course_key`` defaults to
    the run ``course.xml`` names. Importing again updates only what changed. The import is one
    transaction: on error nothing is written. Blocks that cannot be read are reported in
    ``result.problems``; with ``strict=True`` any problem refuses the import.

    >>> result = import_olx("examples/demo-course")
    >>> result.course_key, result.blocks_by_type["problem"], result.problems
    ('course-v1:LcX+Demo+2026', 1, [])
    """
    with transaction.atomic():
        result = import_course(
            source, course_key=course_key, created_by=created_by, publish=False, strict=strict, progress=progress
        )
        # Blocks whose own XBlock class cannot load their OLX are damage too: find them now, not at a learner.
        checker = LearningCoreRuntime(
            None,
            to_course_key(result.course_key),
            mode="draft",
            tree=load_course_tree(result.course_key, mode="draft"),
            learner_store=get_preview_state_store(),
        )
        already_reported = {problem.block for problem in result.problems}
        for (block_type, block_id), error in checker.load_failures().items():
            if f"{block_type}/{block_id}" in already_reported:
                continue
            file, line = result.block_locations.get((block_type, block_id), (None, None))
            message = f"<{block_type}> could not be loaded by its XBlock class: {error}"
            problem = ImportProblem(message, file, line, f"{block_type}/{block_id}")
            if strict:
                raise StrictImportError(str(problem), file=file, line=line, block=problem.block)
            result.problems.append(problem)
        if publish:
            result.published = publish_course(package_for_run(result.course_key), published_by=created_by)
    return result


def publish(course_key: str | CourseKey, *, published_by: int | None = None) -> PublishSummary:
    """
    Publish every draft change of a course run, so learners see it.

    The summary counts the entities published; with nothing left to publish, nothing is written and
    the summary is ``PublishSummary(publish_log_id=None, entities_published=0)``.

    >>> result = import_olx("examples/demo-course", publish=False)    # a draft: learners see nothing yet
    >>> publish(result.course_key).entities_published                 # all 14 blocks of the demo course
    14
    >>> publish(result.course_key).entities_published                 # nothing changed since
    0
    """
    key = str(to_course_key(course_key))
    package_id = package_for_run(key)
    if package_id is None:
        raise CourseNotFound(f"No course run {key}")
    return publish_course(package_id, published_by=published_by)


def get_runtime(user, *, course_key: str | CourseKey, mode: Mode = "published") -> LearningCoreRuntime:
    """
    A runtime for ``user`` in a course run: ``published`` (what learners see, LMS) or ``draft`` (Studio).

    ``user`` is a Django user, an ``AnonymousUser`` or None (a system task). Draft runtimes are for
    staff (or None) only: learners never see drafts. Loading the tree costs one query when cached.
    Learner-scoped state goes to ``LC_RUNTIME["LEARNER_STATE_STORE"]``; in a draft runtime, the
    author's preview state goes to ``LC_RUNTIME["PREVIEW_STATE_STORE"]`` instead (by default
    ephemeral, in Django's cache), so it never reaches learners.

    >>> runtime = get_runtime(request.user, course_key="course-v1:LcX+Demo+2026")
    >>> html = runtime.render(runtime.get_block(unit_key), "student_view").content
    """
    if mode not in ("published", "draft"):
        raise ValueError(f"mode must be 'published' or 'draft', not {mode!r}")
    if mode == "draft" and user is not None and not getattr(user, "is_staff", False):
        raise PermissionDenied("Only staff may use a draft (authoring) runtime")
    key = to_course_key(course_key)
    tree = load_course_tree(str(key), mode=mode)
    store = get_preview_state_store() if mode == "draft" else get_learner_state_store()
    return LearningCoreRuntime(user, key, mode=mode, tree=tree, learner_store=store)
