"""
XBlock classes for the outline containers: course, chapter (Section), sequential (Subsection) and
vertical (Unit).

They are declarative: their children come from the runtime (a Learning Core entity list), never
from their own code, and their views only lay out what the runtime renders for the current learner.
They are not registered as ``xblock.v1`` entry points under their OLX tags, so they never clash with
edx-platform's own classes; the runtime maps the tags to them (configurable).
"""

from __future__ import annotations

from web_fragments.fragment import Fragment
from xblock.core import XBlock
from xblock.fields import Boolean, Dict, Integer, List, Scope, String

__all__ = ["ChapterBlock", "ContainerBlock", "CourseBlock", "SequentialBlock", "VerticalBlock"]


class ContainerBlock(XBlock):
    """Base for the outline containers: renders its children in order, each in its own wrapper."""

    has_children = True
    container_css_class = "lc-container"

    display_name = String(display_name="Display Name", scope=Scope.settings, default=None)

    def _render_children(self, view_name: str, context: dict | None) -> Fragment:
        fragment = Fragment()
        fragment.add_content(f'<div class="{self.container_css_class}">')
        for child in self.get_children():
            child_fragment = self.runtime.render_child(child, view_name, context)
            fragment.add_content(child_fragment.content)
            fragment.add_fragment_resources(child_fragment)
        fragment.add_content("</div>")
        return fragment

    def student_view(self, context: dict | None = None) -> Fragment:
        return self._render_children("student_view", context)

    def author_view(self, context: dict | None = None) -> Fragment:
        return self._render_children("author_view", context)

    def public_view(self, context: dict | None = None) -> Fragment:
        return self._render_children("public_view", context)


class CourseBlock(ContainerBlock):
    """The course root. Holds the course-wide policy: partitions, grading, advanced modules, tabs."""

    container_css_class = "lc-course"
    org = String(scope=Scope.settings, default=None)
    course = String(scope=Scope.settings, default=None)
    grading_policy = Dict(scope=Scope.content, default={})
    advanced_modules = List(scope=Scope.settings, default=[])
    tabs = List(scope=Scope.settings, default=[])
    end = String(help="When the course ends (ISO 8601); a run may set its own", scope=Scope.settings, default=None)
    enrollment_start = String(scope=Scope.settings, default=None)
    enrollment_end = String(scope=Scope.settings, default=None)
    course_image = String(scope=Scope.settings, default=None)
    language = String(help="The language the course is taught in (a language code)", scope=Scope.settings, default=None)
    cert_html_view_enabled = Boolean(scope=Scope.settings, default=False)
    lti_passports = List(scope=Scope.settings, default=[])
    wiki_slug = String(scope=Scope.settings, default=None)
    # Course advanced settings that third-party blocks read off the course (ORA2).
    force_on_flexible_peer_openassessments = Boolean(scope=Scope.settings, default=False)
    teams_configuration = Dict(scope=Scope.settings, default={})


class ChapterBlock(ContainerBlock):
    """A Section (``<chapter>``)."""

    container_css_class = "lc-chapter"
    hide_from_toc = Boolean(scope=Scope.settings, default=False)


class SequentialBlock(ContainerBlock):
    """A Subsection (``<sequential>``)."""

    container_css_class = "lc-sequential"
    format = String(scope=Scope.settings, default=None)
    hide_from_toc = Boolean(scope=Scope.settings, default=False)
    hide_after_due = Boolean(scope=Scope.settings, default=False)
    is_time_limited = Boolean(help="A timed exam (default_time_limit_minutes)", scope=Scope.settings, default=False)
    is_proctored_enabled = Boolean(help="A proctored exam (the host proctors it)", scope=Scope.settings, default=False)
    is_practice_exam = Boolean(scope=Scope.settings, default=False)
    default_time_limit_minutes = String(scope=Scope.settings, default=None)
    relative_weeks_due = Integer(
        help="In a self-paced course: due this many weeks after the learner's start", scope=Scope.settings, default=None
    )


class VerticalBlock(ContainerBlock):
    """A Unit (``<vertical>``): its student view is the components, in order."""

    container_css_class = "lc-vertical"
