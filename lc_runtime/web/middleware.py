"""One unit of work per request: everything a request writes commits at its end, or nothing does."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from lc_runtime.conf import get_setting
from lc_runtime.fielddata.unit_of_work import current_unit, unit_of_work


class UnitOfWorkMiddleware:
    """
    Wraps each request in :func:`lc_runtime.api.unit_of_work`.

    A view that raises, or a response with a 5xx status, rolls the unit back and drops its events.
    ``LC_RUNTIME["UNIT_OF_WORK_PATHS"]`` limits it to requests whose path starts with one of the given
    prefixes: inside edx-platform, list the paths that reach lc-runtime (``["/lc-runtime/"]`` and the
    courseware views that render with it), so views that manage their own transactions (with
    ``outer_atomic``, which refuses to run inside another transaction) are left alone.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        prefixes = get_setting("UNIT_OF_WORK_PATHS")
        if isinstance(prefixes, str):
            raise ImproperlyConfigured('LC_RUNTIME["UNIT_OF_WORK_PATHS"] must be a list of path prefixes, not a string')
        if prefixes is not None and not request.path.startswith(tuple(prefixes)):
            return self.get_response(request)
        with unit_of_work() as unit:
            response = self.get_response(request)
            if response.status_code >= 500:
                unit.set_rollback()
        return response

    def process_exception(self, request, exception) -> None:
        unit = current_unit()
        if unit is not None:
            unit.set_rollback()
