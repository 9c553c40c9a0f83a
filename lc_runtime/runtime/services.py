"""
The services the runtime offers blocks, each with a safe default for use outside edx-platform.

(The services of an LMS host, ``completion`` and ``user_state`` among them, are in
:mod:`lc_runtime.runtime.host_services` and :mod:`lc_runtime.runtime.completion`.)

=========================  ==================================================================
service                    default behaviour
=========================  ==================================================================
``user``                   the runtime's Django user, with edx-platform's ``opt_attrs`` keys; staff and
                           role from the user's course roles (``LC_RUNTIME["ROLES"]``)
``i18n``                   Django's translation machinery (the base of the per-block ``i18n``)
``settings``               ``settings.XBLOCK_SETTINGS[<block class name or block_settings_key>]``
``cache``                  Django's default cache
``request_cache``          a dict that lives as long as the runtime
``replace_urls``           rewrites ``/static/``, ``/jump_to_id/`` and ``/course/`` links to working URLs
                           (:mod:`lc_runtime.runtime.static_urls`); TypeError on non-strings, as capa expects
``sandbox``                Python in codejail as the host configures it, in-process only with
                           ``LC_RUNTIME["UNSAFE_CODE_EXECUTION"]``; the course's ``python_lib.zip``
``xqueue``                 no external grader configured (``interface`` is None)
``discussion_config_service``  discussions visible and read-only (no forum backend)
``call_to_action``         no calls to action
``video_config``           the video block's transcripts from the course's static files
                           (:mod:`lc_runtime.runtime.video_config`)
=========================  ==================================================================
"""

from __future__ import annotations

import re
import sys
import zipimport
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache as django_cache
from django.utils import translation
from xblock.reference.user_service import UserService, XBlockUser

from lc_runtime.conf import get_setting
from lc_runtime.content.assets.api import find_course_asset
from lc_runtime.content.roles.api import INSTRUCTOR, has_staff_access
from lc_runtime.content.roles.api import course_roles as ask_role_provider
from lc_runtime.runtime.anonymous_ids import anonymous_user_id, user_by_anonymous_id
from lc_runtime.runtime.static_urls import replace_urls

__all__ = [
    "CacheService",
    "CallToActionService",
    "DiscussionConfigService",
    "I18nService",
    "ReplaceURLService",
    "RequestCacheService",
    "SandboxService",
    "SettingsService",
    "RuntimeUserService",
    "XQueueService",
    "edx_user_role",
]


def edx_user_role(roles: frozenset[str]) -> str:
    """
    What edx-platform's ``get_user_role`` answers for a holder of ``roles``: ``instructor``, ``staff`` or ``student``.

    ``limited_staff`` counts as ``staff`` (edx-platform's limited staff role is a kind of staff role);
    beta testers, and everyone else, are ``student``.
    """
    if INSTRUCTOR in roles:
        return "instructor"
    return "staff" if has_staff_access(roles) else "student"


class _UserAttributes(Mapping):
    """
    ``opt_attrs``: a read-only mapping whose callable values are called on first read, then kept.

    Blocks call ``get_current_user()`` to read the anonymous id (every capa problem, every html block);
    the course roles behind ``user_is_staff`` and ``user_role`` cost a query, so they are asked only when
    a block reads one of those two.
    """

    def __init__(self, values: dict[str, Any], deferred: dict[str, Callable[[], Any]]) -> None:
        self._values = values
        self._deferred = deferred

    def __getitem__(self, name: str) -> Any:
        if name in self._deferred:
            self._values[name] = self._deferred.pop(name)()
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._values, *self._deferred])

    def __len__(self) -> int:
        return len(self._values) + len(self._deferred)


class RuntimeUserService(UserService):
    """
    The current user, in the shape edx-platform's blocks expect (``opt_attrs`` and ``_django_user``).

    ``user_is_staff`` and ``user_role`` come from the user's roles in the course run: ``roles`` gives
    them (the runtime passes its own, asked once per runtime); without it the service asks
    ``LC_RUNTIME["ROLES"]`` itself, once, when a block first reads either.
    """

    def __init__(
        self, django_user, course_key: str, *, roles: Callable[[], frozenset[str]] | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self._django_user = django_user
        self.course_key = course_key
        self._roles = roles
        self._asked_roles: frozenset[str] | None = None

    def course_roles(self) -> frozenset[str]:
        """The current user's roles in the course run (none for an anonymous user)."""
        if self._roles is not None:
            return self._roles()
        if self._asked_roles is None:
            self._asked_roles = ask_role_provider(self._django_user, self.course_key)
        return self._asked_roles

    def get_current_user(self) -> XBlockUser:
        user = self._django_user
        authenticated = bool(user is not None and user.is_authenticated)
        xblock_user = XBlockUser(
            is_current_user=True,
            emails=[user.email] if authenticated and user.email else [],
            full_name=user.get_full_name() if authenticated else None,
        )
        user_id = user.id if authenticated else None
        anonymous_id = anonymous_user_id(user, self.course_key)
        xblock_user.opt_attrs = _UserAttributes(
            {
                "edx-platform.user_id": user_id,
                "edx-platform.username": user.username if authenticated else None,
                "edx-platform.is_authenticated": authenticated,
                "edx-platform.anonymous_user_id": anonymous_id,
                "edx-platform.deprecated_anonymous_user_id": anonymous_id,
                "edx-platform.request_country_code": None,
            },
            {
                "edx-platform.user_is_staff": lambda: has_staff_access(self.course_roles()),
                "edx-platform.user_role": lambda: edx_user_role(self.course_roles()),
            },
        )
        return xblock_user

    def get_anonymous_user_id(self, username: str, course_id: str) -> str | None:
        """
        The anonymous id of ``username`` in ``course_id``: the current user's for anyone, another user's for
        course staff only (as edx-platform: pseudonyms keep learners apart, in peer grading for one), else None.
        """
        user = self._django_user
        if user is not None and user.is_authenticated and user.username == username:
            return anonymous_user_id(user, str(course_id))
        if not has_staff_access(self.course_roles()):
            return None
        other = get_user_model().objects.filter(username=username).first()
        return anonymous_user_id(other, str(course_id)) if other is not None else None

    def get_user_by_anonymous_id(self, uid: str | None = None):
        """
        The Django user behind an anonymous id (the current user's when ``uid`` is None), or None: the
        current user without a query; anyone else for course staff only, through the host's function
        (docs/settings.md, "Anonymous ids").
        """
        user = self._django_user
        authenticated = user is not None and user.is_authenticated
        if uid is None:
            return user if authenticated else None
        if authenticated and uid == anonymous_user_id(user, self.course_key):
            return user
        if not has_staff_access(self.course_roles()):
            return None
        return user_by_anonymous_id(uid, self.course_key)


class I18nService:
    """Translation through Django (the block's own catalogue where it ships one)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(translation, name)

    # XBlock.ugettext() and older blocks read these; Django 4 removed them from django.utils.translation.
    @property
    def ugettext(self):
        return translation.gettext

    @property
    def ungettext(self):
        return translation.ngettext

    def strftime(self, value, date_format: str) -> str:
        formats = {"SHORT_DATE": "%b %d, %Y", "LONG_DATE": "%A, %B %d, %Y", "TIME": "%H:%M:%S"}
        formats["DATE_TIME"] = f"{formats['SHORT_DATE']} at {formats['TIME']}"
        return value.strftime(formats.get(date_format, date_format))

    def get_javascript_i18n_catalog_url(self, block) -> None:
        return None


class SettingsService:
    """``get_settings_bucket(block)``: the block's entry in ``settings.XBLOCK_SETTINGS``."""

    def get_settings_bucket(self, block, default: Any = None) -> Any:
        key = getattr(block, "block_settings_key", None) or type(block).unmixed_class.__name__
        return getattr(settings, "XBLOCK_SETTINGS", {}).get(key, default if default is not None else {})


class CacheService:
    """``get`` / ``set`` over Django's default cache."""

    def get(self, key: str, default: Any = None) -> Any:
        return django_cache.get(key, default)

    def set(self, key: str, value: Any, *args: Any, **kwargs: Any) -> None:
        django_cache.set(key, value, *args, **kwargs)


class RequestCacheService:
    """A cache that lives as long as the runtime (one request)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value


class ReplaceURLService:
    """
    ``replace_urls(text)``: rewrites course-relative URLs in block HTML to working ones.

    ``/static/`` links go to the course's static files (drafts in a draft runtime), ``/jump_to_id/``
    and ``/course/`` links where the settings say (see :mod:`lc_runtime.runtime.static_urls`). capa
    calls it on its own HTML; the runtime calls it on every rendered fragment, as edx-platform's LMS
    wraps every block. Non-strings raise TypeError, which capa relies on to skip list answers.
    """

    def __init__(self, block=None, course_key: str | None = None, mode: str | None = None) -> None:
        self.course_key = course_key
        # The block's runtime says whether its links should reach drafts (Studio) or published files.
        self.mode = mode or getattr(getattr(block, "runtime", None), "mode", None) or "published"

    def replace_urls(self, text, static_replace_only: bool = False):
        if not isinstance(text, str):
            raise TypeError(f"replace_urls takes text, not {type(text).__name__}")
        if not self.course_key:
            return text
        return replace_urls(text, self.course_key, self.mode, static_only=static_replace_only)


class SandboxService:
    """
    Where capa problems may run Python, and the course library they may import.

    Python runs in codejail, configured by the host as in edx-platform (``settings.CODE_JAIL`` with
    ``codejail.django_integration.ConfigureCodeJailMiddleware``, or the codejail REST service
    settings); with no jail configured, a problem that runs Python shows capa's own error message.
    ``LC_RUNTIME["UNSAFE_CODE_EXECUTION"]``, or a course key that a pattern of edx-platform's
    ``settings.COURSES_WITH_UNSAFE_CODE`` matches, runs it in-process with no sandbox: unsafe, for
    development and demos only. ``get_python_lib_zip`` gives the sandbox the course's
    ``python_lib.zip`` (``settings.PYTHON_LIB_FILENAME``) from its static files.
    """

    def __init__(self, course_key: str | None = None, mode: str = "published") -> None:
        self.course_key = course_key
        self.mode = mode
        self._python_lib: tuple[bytes | None] | None = None  # read once per runtime

    def can_execute_unsafe_code(self) -> bool:
        if get_setting("UNSAFE_CODE_EXECUTION"):
            return True
        patterns = getattr(settings, "COURSES_WITH_UNSAFE_CODE", None) or []
        return bool(self.course_key) and any(re.match(pattern, self.course_key) for pattern in patterns)

    def get_python_lib_zip(self) -> bytes | None:
        """The bytes of the course's ``python_lib.zip`` static file (the draft in a draft runtime), or None."""
        name = getattr(settings, "PYTHON_LIB_FILENAME", None) or "python_lib.zip"
        if self._python_lib is None:
            asset = find_course_asset(self.course_key, name, mode=self.mode) if self.course_key else None
            self._python_lib = (asset.read() if asset is not None else None,)
        if self.can_execute_unsafe_code():
            _forget_imported_python_lib(name)
        return self._python_lib[0]


def _forget_imported_python_lib(name: str) -> None:
    """
    Make in-process execution import the course library afresh, as a sandbox does every time.

    capa calls ``get_python_lib_zip`` just before it runs a problem's script. codejail's in-process
    executor puts the library on ``sys.path`` as a relative ``python_lib.zip`` in a new temporary
    folder each time, but Python keeps what it imported from the last one (modules, and the zip's
    table of contents keyed by that same relative path): another course's library, or an older version.
    """
    for module_name, module in list(sys.modules.items()):
        loader = getattr(module, "__loader__", None)
        if isinstance(loader, zipimport.zipimporter) and loader.archive.endswith(name):
            del sys.modules[module_name]
    for path in [path for path in sys.path_importer_cache if path.endswith(name)]:
        del sys.path_importer_cache[path]
    zip_directories = getattr(zipimport, "_zip_directory_cache", {})
    for path in [path for path in zip_directories if path.endswith(name)]:
        del zip_directories[path]


class XQueueService:
    """No external grader: ``interface`` is None, so capa reports that queued grading is unavailable."""

    interface = None
    default_queuename = "lc-runtime"
    waittime = 5

    def __init__(self, block=None) -> None:
        self.block = block

    def construct_callback(self, dispatch: str = "score_update") -> str:
        if self.block is None:
            return ""
        return self.block.runtime.handler_url(self.block, "xmodule_handler", dispatch, thirdparty=True)


class DiscussionConfigService:
    """Discussions are shown, read-only: there is no forum service outside edx-platform."""

    is_discussion_enabled = True

    def is_discussion_visible(self, course_key) -> bool:
        return True

    def has_permission(self, user, permission: str, course_key) -> bool:
        return False


class CallToActionService:
    """No calls to action."""

    def get_ctas(self, block, category: str) -> list:
        return []
