"""One unit of work per request: everything a request writes commits at its end, or nothing does."""

from __future__ import annotations

from lc_runtime.fielddata.unit_of_work import current_unit, unit_of_work


class UnitOfWorkMiddleware:
    """
    Wraps each request in :func:`lc_runtime.api.unit_of_work`.

    A view that raises, or a response with a 5xx status, rolls the unit back and drops its events.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        with unit_of_work() as unit:
            response = self.get_response(request)
            if response.status_code >= 500:
                unit.set_rollback()
        return response

    def process_exception(self, request, exception) -> None:
        unit = current_unit()
        if unit is not None:
            unit.set_rollback()
