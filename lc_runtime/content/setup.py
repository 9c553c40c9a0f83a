"""Registration of our models with openedx-core, run once when Django starts."""

from openedx_content import api as content_api

from lc_runtime.content.courses.models import CourseRoot, CourseRootVersion
from lc_runtime.content.pools.models import SelectorPool, SelectorPoolVersion


def register_models() -> None:
    """Tell openedx-core about our container types: :class:`CourseRoot` and :class:`SelectorPool`."""
    content_api.register_publishable_models(CourseRoot, CourseRootVersion)
    content_api.register_publishable_models(SelectorPool, SelectorPoolVersion)
