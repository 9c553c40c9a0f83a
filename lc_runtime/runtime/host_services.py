"""
The services an LMS host provides blocks beyond the basics in :mod:`lc_runtime.runtime.services`.

Each has a default that a standalone host can honestly provide; edx-platform (or any host) replaces
any of them through ``LC_RUNTIME["SERVICES"]`` (docs/settings.md, "Services").

=========================  ==================================================================
service                    default behaviour
=========================  ==================================================================
``user_state``             another learner's ``user_state`` of a block, read-only
``rebind_user``            binds a block to another learner (a grader's callback without a session)
``publish``                ``runtime.publish``: after commit, to the event receivers and the tracking log
``completion``             edx-completion's service: real ``BlockCompletion`` rows
``partitions``             the learner's partition groups, as the runtime stores them
``teams``                  no teams: every learner is on none
``teams_configuration``    no team sets
``mako``                   Mako templates from the block's own package
``i18n``                   the block's own translations over Django's
=========================  ==================================================================
"""

from __future__ import annotations

import gettext
import json
import logging
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import translation
from xblock.fields import Scope

from lc_runtime.conf import get_setting, import_object
from lc_runtime.fielddata.learner import state_key
from lc_runtime.runtime.events import XBlockEvent
from lc_runtime.runtime.services import I18nService

__all__ = [
    "BlockI18nService",
    "EmptyTeamsConfiguration",
    "EmptyTeamsConfigurationService",
    "EmptyTeamsService",
    "EventPublishingService",
    "MakoService",
    "PartitionService",
    "RebindUserError",
    "RebindUserService",
    "UserStateService",
    "tracking_log_event",
]

tracking_log = logging.getLogger("tracking")


# ---- user_state and rebind_user
class UserStateService:
    """
    ``get_state_as_dict(username_or_email, block_id)``: a learner's ``user_state`` of a block, as a dict (empty
    when they have none), read-only, from the runtime's learner-state store (two queries: the user, the
    state). Course staff read anyone's (ORA2's and edx-sga's staff tools); anyone else reads only their own.
    """

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    def get_state_as_dict(self, username_or_email: str, block_id) -> dict[str, Any]:
        user = get_user_model().objects.filter(Q(username=username_or_email) | Q(email=username_or_email)).first()
        runtime = self._runtime
        if user is None or (user.id != runtime.learner_id and not runtime.user_is_staff):
            return {}
        key = state_key(
            Scope.user_state, user.id, runtime.course_key, str(block_id), getattr(block_id, "block_type", "")
        )
        return dict(runtime.learner.store.load([key]).get(key, {}))


class RebindUserError(PermissionError):
    """A block bound to a signed-in user asked to act for someone else."""


class RebindUserService:
    """
    ``rebind_noauth_module_to_user(block, real_user)``: make ``block`` act for ``real_user`` from now on, as a
    grader's callback without a session needs (the LTI block's outcome service).

    As in edx-platform, only a block bound to no signed-in user (a callback) may be rebound; from a signed-in
    user's request, rebinding to anyone else raises :class:`RebindUserError` (to themselves, it does nothing).
    The block is bound in place to a runtime of ``real_user`` (same course run, mode and tree), so its
    learner fields, its events and its service calls are theirs.
    """

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    def rebind_noauth_module_to_user(self, block, real_user) -> None:
        current = self._runtime.user
        if current is not None and current.is_authenticated:
            if current.id == real_user.id:
                return
            raise RebindUserError(
                "rebind_noauth_module_to_user can only rebind a block bound to no signed-in user (a callback)"
            )
        runtime = self._runtime.for_user(real_user)
        block.runtime = runtime
        block.scope_ids = block.scope_ids._replace(user_id=real_user.id)
        block._field_data = runtime.field_data
        block._field_data_cache.clear()
        block._dirty_fields.clear()


# ---- publish: events, and the tracking log
class EventPublishingService:
    """``publish(block, event_type, event)``: the block's runtime's ``publish`` (delivered after commit)."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    def publish(self, block, event_type: str, event: Any) -> None:
        self._runtime.publish(block, event_type, event)


def tracking_log_event(event: XBlockEvent) -> None:
    """
    Write a learner's event where ``LC_RUNTIME["TRACKING_LOG"]`` says, in edx-platform's tracking-log shape;
    by default one JSON line on the ``tracking`` logger (silent unless the host gives it a handler).
    """
    record = {
        "name": event.event_type,
        "event_type": event.event_type,
        "event_source": "server",
        "event": event.data,
        "time": event.time.isoformat(),
        "username": event.username or "",
        # The request's own fields: delivered after commit, the event no longer has its request.
        "ip": None,
        "agent": None,
        "host": None,
        "page": None,
        "context": {
            "course_id": event.course_key,
            "org_id": event.course_key.split(":", 1)[-1].split("+", 1)[0],
            "user_id": event.user_id,
            "module": {"usage_key": event.usage_key, "block_type": event.block_type},
        },
    }
    sink = get_setting("TRACKING_LOG")
    if sink:
        import_object(sink)(record)
    elif tracking_log.isEnabledFor(logging.INFO):
        tracking_log.info(json.dumps(record, default=str))


# ---- partitions and teams
class PartitionService:
    """
    The learner's partition groups (split tests, content groups), as the runtime stores and assigns them.

    ``course_partitions`` are the course's ``user_partitions``; ``get_user_group_id_for_partition`` answers for
    the runtime's learner (None for anyone else: their groups are not this request's to read).
    """

    def __init__(self, runtime) -> None:
        self._runtime = runtime

    @property
    def course_partitions(self) -> list:
        runtime = self._runtime
        course = runtime.get_block(runtime.root_usage_key)
        return list(getattr(course, "user_partitions", None) or [])

    def get_user_group_id_for_partition(self, user, user_partition_id: int) -> int | None:
        runtime = self._runtime
        if user is not None and getattr(user, "id", None) != runtime.learner_id:
            return None
        return runtime.variants.partition_groups().get(int(user_partition_id))

    def get_group(self, user, user_partition, assign: bool = True):
        group_id = self.get_user_group_id_for_partition(user, _field(user_partition, "id"))
        if group_id is None:
            return None
        for group in _field(user_partition, "groups") or []:
            if _field(group, "id") == group_id:
                return group
        return None


def _field(value, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


class EmptyTeamsService:
    """No teams outside edx-platform: every learner is on none (ORA2's team assignments stay off)."""

    def get_team(self, user, course_id, topic_id):
        return None

    def get_team_by_team_id(self, team_id):
        return None

    def get_anonymous_user_ids_for_team(self, user, team) -> list:
        return []

    def get_team_detail_url(self, team) -> str:
        return ""

    def get_team_names(self, course_id, topic_id=None) -> dict:
        return {}


class EmptyTeamsConfiguration:
    """A course's teams configuration with no team sets (edx-platform's ``TeamsConfig`` shape)."""

    is_enabled = False
    teamsets: list = []
    teamsets_by_id: dict = {}

    def __bool__(self) -> bool:
        return False


class EmptyTeamsConfigurationService:
    """``get_teams_configuration(course_id)``: no team sets."""

    def get_teams_configuration(self, course_id) -> EmptyTeamsConfiguration:
        return EmptyTeamsConfiguration()


# ---- mako and i18n: from the block's own package
def _package_folder(block) -> Path:
    """The folder of the top-level package that defines ``block``'s class (its templates and catalogues)."""
    module = getattr(type(block), "unmixed_class", type(block)).__module__
    return Path(os.path.dirname(sys.modules[module.split(".")[0]].__file__))


class MakoService:
    """
    ``render_template(name, context)``: a Mako template from the block's own package (its ``templates``
    folders), as edx-platform's Mako service renders blocks' templates. ``namespace`` is accepted and
    ignored: there is one lookup per package.
    """

    def __init__(self, block) -> None:
        self._block = block

    def render_template(self, template_file: str, dictionary: dict, namespace: str = "main") -> str:
        return _mako_lookup(str(_package_folder(self._block))).get_template(template_file).render_unicode(
            **dictionary
        )

    render_lms_template = render_template
    render_cms_template = render_template


@cache
def _mako_lookup(package_folder: str):
    from mako.lookup import TemplateLookup

    folders = [str(path) for path in Path(package_folder).rglob("templates") if path.is_dir()]
    return TemplateLookup(directories=folders or [package_folder], default_filters=["decode.utf8"],
                          input_encoding="utf-8", strict_undefined=False)


class BlockI18nService(I18nService):
    """
    Translation with the block's own message catalogues first (``translations/<lang>/LC_MESSAGES/text.mo``
    or ``conf/locale/<lang>/LC_MESSAGES/django.mo`` in its package, as XBlock packages ship them), then
    Django's, in the request's language.
    """

    def __init__(self, block) -> None:
        self._folder = str(_package_folder(block))

    def _catalogue(self) -> gettext.NullTranslations:
        return _block_catalogue(self._folder, translation.get_language() or settings.LANGUAGE_CODE)

    def gettext(self, message: str) -> str:
        return self._catalogue().gettext(message)

    def ngettext(self, singular: str, plural: str, number: int) -> str:
        return self._catalogue().ngettext(singular, plural, number)

    def pgettext(self, context: str, message: str) -> str:
        return self._catalogue().pgettext(context, message)

    @property
    def ugettext(self) -> Callable[[str], str]:
        return self.gettext

    @property
    def ungettext(self) -> Callable[[str, str, int], str]:
        return self.ngettext


class _DjangoFallback(gettext.NullTranslations):
    def gettext(self, message):
        return translation.gettext(message)

    def ngettext(self, singular, plural, number):
        return translation.ngettext(singular, plural, number)

    def pgettext(self, context, message):
        return translation.pgettext(context, message)


@cache
def _block_catalogue(package_folder: str, language: str) -> gettext.NullTranslations:
    languages = [translation.to_locale(language), language.split("-")[0]]
    catalogue: gettext.NullTranslations = _DjangoFallback()
    for folder, domain in (("translations", "text"), ("conf/locale", "django"), ("locale", "django")):
        found = gettext.find(domain, os.path.join(package_folder, folder), languages=languages)
        if found:
            with open(found, "rb") as file:
                own = gettext.GNUTranslations(file)
            own.add_fallback(catalogue)
            return own
    return catalogue
