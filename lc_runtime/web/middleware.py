"""One unit of work per request: everything a request writes commits at its end, or nothing does."""

from __future__ import annotations

import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpResponse
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import AssetKey

from lc_runtime import api
from lc_runtime.conf import get_setting
from lc_runtime.fielddata.unit_of_work import (
    DEADLOCK_RETRIES,
    current_unit,
    is_transient,
    pause_before_retry,
    unit_of_work,
)
from lc_runtime.web.asset_views import asset_key_view

__all__ = ["AssetKeyMiddleware", "UnitOfWorkMiddleware"]

log = logging.getLogger(__name__)

# Set on a request while its attempt may still be run again (read by ``process_exception``).
_MAY_RUN_AGAIN = "_lc_runtime_may_run_again"


class _RunAgain(HttpResponse):
    """What ``process_exception`` answers for an attempt the middleware will run again; never sent."""

    status_code = 503


class UnitOfWorkMiddleware:
    """
    Wraps each request in :func:`lc_runtime.api.unit_of_work`.

    A view that raises, or a response with a 5xx status, rolls the unit back and drops its events.
    ``LC_RUNTIME["UNIT_OF_WORK_PATHS"]`` limits it to requests whose path starts with one of the given
    prefixes: inside edx-platform, list the paths that reach lc-runtime (``["/lc-runtime/"]`` and the
    courseware views that render with it), so views that manage their own transactions (with
    ``outer_atomic``, which refuses to run inside another transaction) are left alone.

    A request whose unit the database aborts to break a deadlock, or after a lock wait timeout
    (:func:`~lc_runtime.fielddata.unit_of_work.is_transient`), is run again from the start, up to
    :data:`~lc_runtime.fielddata.unit_of_work.DEADLOCK_RETRIES` times, when its unit is the outermost
    transaction (not inside ``ATOMIC_REQUESTS``). Nothing of the aborted attempt remains (its writes
    are rolled back, its events dropped), so a handler run again is the learner's request arriving a
    moment later; only what a block sends outside the database and the runtime by itself (an HTTP
    call, a file) would happen twice (ADR 0016). The aborted attempt is not reported as a server error.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        prefixes = get_setting("UNIT_OF_WORK_PATHS")
        if isinstance(prefixes, str):
            raise ImproperlyConfigured('LC_RUNTIME["UNIT_OF_WORK_PATHS"] must be a list of path prefixes, not a string')
        if prefixes is not None and not request.path.startswith(tuple(prefixes)):
            return self.get_response(request)
        attempt = 0
        while True:
            may_run_again = attempt < DEADLOCK_RETRIES and not connections[DEFAULT_DB_ALIAS].in_atomic_block
            setattr(request, _MAY_RUN_AGAIN, may_run_again)
            try:
                with unit_of_work() as unit:
                    response = self.get_response(request)
                    if response.status_code >= 500:
                        unit.set_rollback()
            except DatabaseError as error:  # raised by the unit's flush or commit, after the view
                if not (may_run_again and is_transient(error)):
                    raise
                response = _RunAgain()
            finally:
                setattr(request, _MAY_RUN_AGAIN, False)
            if not isinstance(response, _RunAgain):
                return response
            log.warning("%s %s: running the request again after a deadlock or lock wait timeout",
                        request.method, request.path)
            pause_before_retry(attempt)
            attempt += 1

    def process_exception(self, request, exception):
        unit = current_unit()
        if unit is not None:
            unit.set_rollback()
        if getattr(request, _MAY_RUN_AGAIN, False) and is_transient(exception):
            # Answering here keeps Django from logging and signalling a server error for an attempt
            # that ``__call__`` runs again.
            return _RunAgain()
        return None


ASSET_KEY_PREFIX = "/asset-v1:"


class AssetKeyMiddleware:
    """
    Serves ``/asset-v1:<key>`` paths (files and thumbnails, as edx-platform's content server does) for
    the courses that run in Learning Core, and passes every other request on. Inside edx-platform, list
    it before ``StaticContentServer``, which answers those paths from the modulestore's contentstore.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ASSET_KEY_PREFIX):
            asset_key = request.path[1:]
            try:
                in_learning_core = api.run_exists(AssetKey.from_string(asset_key).course_key)
            except InvalidKeyError:
                in_learning_core = False
            if in_learning_core:
                return asset_key_view(request, asset_key)
        return self.get_response(request)
