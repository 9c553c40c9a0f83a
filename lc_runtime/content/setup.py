"""Registration of our models with openedx-core, run once when Django starts."""

from openedx_content import api as content_api

from lc_runtime.content.models import CourseRoot, CourseRootVersion


def register_models() -> None:
    """Tell openedx-core that :class:`CourseRoot` is a publishable container type."""
    content_api.register_publishable_models(CourseRoot, CourseRootVersion)
