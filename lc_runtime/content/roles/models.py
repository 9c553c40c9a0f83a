"""Course roles granted by lc-runtime's own table (the default role provider reads it)."""

from __future__ import annotations

from django.db import models
from openedx_django_lib.fields import case_sensitive_char_field

__all__ = ["CourseRole"]


class CourseRole(models.Model):
    """
    One role one user holds in one course run: ``staff``, ``instructor``, ``limited_staff`` or ``beta_tester``.

    Users are named by id, as learner rows are, so that the table works with any user model and
    outlives nothing it should not.
    """

    user_id = models.BigIntegerField()
    course_key = case_sensitive_char_field(max_length=255)
    role = case_sensitive_char_field(max_length=32)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "course_key", "role"], name="lc_courserole_uniq")
        ]
        indexes = [models.Index(fields=["course_key", "role"], name="lc_courserole_course")]

    def __str__(self) -> str:
        return f"{self.user_id} is {self.role} in {self.course_key}"
