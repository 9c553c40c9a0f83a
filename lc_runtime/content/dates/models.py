"""Learners' schedules in a course run: when each learner started (the default schedule provider reads it)."""

from __future__ import annotations

from django.db import models
from openedx_django_lib.fields import case_sensitive_char_field

__all__ = ["LearnerSchedule"]


class LearnerSchedule(models.Model):
    """
    When one learner started one course run: the day a self-paced course's relative dates count from.

    edx-platform keeps this in its ``Schedule`` model (one per enrollment); lc-runtime has no
    enrollments, so the host (or whoever enrolls learners) records the start here. Users are named
    by id, as learner rows are.
    """

    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255)
    start_date = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    modified = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "course_key"], name="lc_learnerschedule_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} started {self.course_key} on {self.start_date:%Y-%m-%d}"
