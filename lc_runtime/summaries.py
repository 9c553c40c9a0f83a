"""
A course run as edx-platform's CourseOverview knows it: name and number, organisation, dates, pacing,
certificate and catalog settings, image, language. Read from what the run shows learners (its
published course root, with the run's own dates over the root's), with no block built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from opaque_keys.edx.keys import CourseKey
from xblock.fields import Date

from lc_runtime.blocks.inheritance import DEFAULT_START_DATE
from lc_runtime.content.courses.api import CourseNotFound, CourseNotPublished, load_course_tree
from lc_runtime.keys import to_course_key, usage_key_for
from lc_runtime.runtime.static_urls import asset_url

__all__ = ["CourseSummary", "course_summary", "summary_or_none"]

_DATE = Date()
_HIDDEN_FROM_CATALOG = ("about", "none")  # edx-platform's catalog_visibility values that hide a course


@dataclass(frozen=True)
class CourseSummary:
    """The fields of edx-platform's CourseOverview that a course run's content sets."""

    id: CourseKey
    display_name: str
    display_number_with_default: str
    display_org_with_default: str
    start: datetime
    end: datetime | None
    enrollment_start: datetime | None
    enrollment_end: datetime | None
    self_paced: bool
    pacing: str
    """``"self"`` or ``"instructor"``, as openedx-events' CourseScheduleData says it."""
    language: str | None
    course_image_url: str
    certificates_display_behavior: str | None
    certificate_available_date: datetime | None
    cert_html_view_enabled: bool
    catalog_visibility: str
    hidden: bool
    """Hidden from the catalog: ``catalog_visibility`` is ``about`` or ``none``."""
    invitation_only: bool
    mobile_available: bool
    days_early_for_beta: float | None
    advertised_start: str | None
    published_version: str
    extra: dict[str, Any] = field(default_factory=dict)
    """The root's other settings, as stored (JSON values)."""

    @property
    def location(self):
        """The course root's usage key, as CourseOverview has it."""
        return usage_key_for(self.id, "course", "course")

    def has_ended(self, now: datetime) -> bool:
        """Whether the course's end is past at ``now``."""
        return self.end is not None and self.end < now


def _date(value) -> datetime | None:
    return _DATE.from_json(value) if isinstance(value, str) else value


_NAMED = {
    "display_name", "org", "course", "display_coursenumber", "display_organization", "start", "end",
    "enrollment_start", "enrollment_end", "self_paced", "language", "course_image", "certificates_display_behavior",
    "certificate_available_date", "cert_html_view_enabled", "catalog_visibility", "invitation_only",
    "mobile_available", "days_early_for_beta", "advertised_start",
}


def course_summary(course_key: str | CourseKey) -> CourseSummary:
    """
    The summary of what a run shows learners. Raises :class:`CourseNotFound`, or :class:`CourseNotPublished`
    for a run never published (CourseOverview has nothing for it either).
    """
    key = to_course_key(course_key)
    tree = load_course_tree(key, mode="published")
    root = tree.blocks[tree.root]
    settings = {**root.fields, **tree.run_settings}
    image = settings.get("course_image")
    catalog_visibility = settings.get("catalog_visibility") or "both"
    return CourseSummary(
        id=key,
        display_name=settings.get("display_name") or root.title or str(key),
        display_number_with_default=settings.get("display_coursenumber") or key.course,
        display_org_with_default=settings.get("display_organization") or key.org,
        start=_date(settings.get("start")) or DEFAULT_START_DATE,
        end=_date(settings.get("end")),
        enrollment_start=_date(settings.get("enrollment_start")),
        enrollment_end=_date(settings.get("enrollment_end")),
        self_paced=bool(settings.get("self_paced")),
        pacing="self" if settings.get("self_paced") else "instructor",
        language=settings.get("language"),
        course_image_url=asset_url(str(key), image) if image else "",
        certificates_display_behavior=settings.get("certificates_display_behavior"),
        certificate_available_date=_date(settings.get("certificate_available_date")),
        cert_html_view_enabled=bool(settings.get("cert_html_view_enabled")),
        catalog_visibility=catalog_visibility,
        hidden=catalog_visibility in _HIDDEN_FROM_CATALOG,
        invitation_only=bool(settings.get("invitation_only")),
        mobile_available=bool(settings.get("mobile_available")),
        days_early_for_beta=settings.get("days_early_for_beta"),
        advertised_start=settings.get("advertised_start"),
        published_version=tree.snapshot,
        extra={name: value for name, value in settings.items() if name not in _NAMED},
    )


def summary_or_none(course_key: CourseKey) -> CourseSummary | None:
    """:func:`course_summary`, or None for a run that does not exist or was never published."""
    try:
        return course_summary(course_key)
    except (CourseNotFound, CourseNotPublished):
        return None
