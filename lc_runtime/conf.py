"""
lc-runtime's settings: one ``LC_RUNTIME`` dict in Django settings, every key optional.

=============================  =============================================================
key                            meaning
=============================  =============================================================
``BLOCK_CLASSES``              ``{olx_tag: entry point name or "module:Class"}``, merged over
                               :data:`lc_runtime.blocks.registry.DEFAULT_BLOCK_CLASSES`
``LEARNER_STATE_STORE``        ``"module:Class"`` of the learner-state store (default: ours)
``PREVIEW_STATE_STORE``        ``"module:Class"`` of the store of authors' preview state in draft
                               runtimes (default: ephemeral, in Django's cache)
``UNSAFE_CODE_EXECUTION``      run capa problems' Python in-process, with no sandbox (unsafe)
``HANDLER_SECRET``             signs handler URLs (default: ``SECRET_KEY``)
``HANDLER_URL_PREFIX``         path where ``lc_runtime.web.urls`` is mounted (``/lc-runtime``)
``EVENT_HANDLERS``             ``["module:callable", ...]`` called with each event after commit
``ASIDE_TYPES``                aside types allowed to attach to blocks (default: none)
``UNIT_OF_WORK_PATHS``         path prefixes the unit-of-work middleware wraps (default: every path)
``JUMP_TO_ID_BASE_URL``        where ``/jump_to_id/<id>`` links in content go, ``{course_key}`` filled in
                               and the id appended (default: lc-runtime's own jump view)
``COURSE_BASE_URL``            where ``/course/<rest>`` links in content go (``/courses/{course_key}/``)
``SELECTOR_SEED_SECRET``       per-deployment secret in every selector's random seed (default:
                               derived from ``SECRET_KEY``); changing it changes new draws only
``IMPORT_UNPACK_DIR``          folder under which archives are unpacked for import (default:
                               ``lc-runtime-imports-<uid>`` in the system's temporary folder)
``ROLES``                      ``"module:callable"``: ``(user, CourseKey) -> role names``, asked by
                               every staff-only check (default: Django ``is_staff`` users are
                               ``staff`` everywhere, plus lc-runtime's course-role table)
``LEARNER_SCHEDULE``           ``"module:callable"``: ``(user, course_key) -> datetime | None``, when
                               the learner started the run: what a self-paced run's relative dates
                               count from, outside edx-platform (default: lc-runtime's schedule table)
``ENROLLMENT``                 ``"module:callable"``: ``(user, CourseKey) -> bool``, whether a user is
                               enrolled: who may read a course's locked static files besides its
                               staff (default: every logged-in user)
``ROUTE_TO_LEARNING_CORE``     ``"module:callable"``: ``(CourseKey) -> bool``, which courses
                               :class:`lc_runtime.modulestore.CourseRouter` sends to Learning Core
                               (default: every course run that exists in Learning Core)
``SERVICES``                   ``{service name: "module:factory"}``: services a host adds or replaces;
                               each factory is called as ``factory(runtime, block)`` (docs/blocks.md)
``RUNTIME_MIXINS``             ``["module:Class", ...]`` mixed into every block after lc-runtime's own
``ANONYMOUS_USER_ID``          ``"module:callable"``: ``(user, course_key) -> str``, a learner's
                               anonymous id in a course (default: lc-runtime's per-course pseudonym)
``USER_BY_ANONYMOUS_ID``       ``"module:callable"``: ``(anonymous_id) -> User | None`` (default:
                               looked up among the run's learners with the default pseudonym)
``TRACKING_LOG``               ``"module:callable"``: ``(event dict) -> None``, where the ``publish``
                               service's tracking events go (default: the ``tracking`` logger, one
                               JSON line per event in edx-platform's tracking-log shape)
``STUDENT_MODULE_TABLE``       the table :class:`StudentModuleStateStore` reads and writes
                               (default: edx-platform's ``courseware_studentmodule``)
``CACHE_ITEM_BYTES``           the largest item written to Django's cache (512,000)
``LOADED_TREES_BYTES``         the memory (estimated) of the course trees a process keeps loaded
=============================  =============================================================
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "BLOCK_CLASSES": {},
    "LEARNER_STATE_STORE": "lc_runtime.content.learners.api:DjangoLearnerStateStore",
    "PREVIEW_STATE_STORE": "lc_runtime.content.learners.api:CacheLearnerStateStore",
    "UNSAFE_CODE_EXECUTION": False,
    "HANDLER_SECRET": None,
    "HANDLER_URL_PREFIX": "/lc-runtime",
    "EVENT_HANDLERS": [],
    "ASIDE_TYPES": [],
    "UNIT_OF_WORK_PATHS": None,
    "JUMP_TO_ID_BASE_URL": None,
    "COURSE_BASE_URL": "/courses/{course_key}/",
    "SELECTOR_SEED_SECRET": None,
    "IMPORT_UNPACK_DIR": None,
    "ROLES": "lc_runtime.content.roles.api:stored_course_roles",
    "LEARNER_SCHEDULE": "lc_runtime.content.dates.api:stored_learner_schedule",
    # The largest item written to Django's cache (memcached refuses items over 1 MB by default).
    "CACHE_ITEM_BYTES": 512_000,
    # The memory (estimated) of the course trees one process keeps loaded.
    "LOADED_TREES_BYTES": 128 * 1024 * 1024,
    "ROUTE_TO_LEARNING_CORE": None,
    "ENROLLMENT": None,
    "SERVICES": {},
    "RUNTIME_MIXINS": [],
    "ANONYMOUS_USER_ID": None,
    "USER_BY_ANONYMOUS_ID": None,
    "TRACKING_LOG": None,
    "STUDENT_MODULE_TABLE": "courseware_studentmodule",
}


def get_setting(name: str) -> Any:
    """The value of ``LC_RUNTIME[name]``, or its default."""
    return getattr(settings, "LC_RUNTIME", {}).get(name, DEFAULTS[name])


def import_object(path: str) -> Any:
    """Import ``"package.module:attribute"`` (or ``"package.module.attribute"``)."""
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    return getattr(import_module(module_name), attribute)
