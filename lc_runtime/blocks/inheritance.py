"""
The settings that flow from a course's ancestors to its descendants.

These are the 26 fields of edx-platform's ``InheritanceMixin``. The runtime mixes
:class:`InheritableFieldsMixin` into every block class, so a problem that reads ``self.graded`` or
``self.showanswer`` finds a field; the field data supplies the value of the nearest ancestor that
sets it (see ``lc_runtime.fielddata.authored``). Inside edx-platform the platform's own mixin can be
configured instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from xblock.core import XBlockMixin
from xblock.fields import Boolean, Date, Dict, Float, Integer, List, Scope, String, Timedelta

__all__ = ["DEFAULT_START_DATE", "INHERITABLE_FIELD_NAMES", "InheritableFieldsMixin"]

# edx-platform's default start date. It lies in the future on purpose: an unset start means "not scheduled".
DEFAULT_START_DATE = datetime(2030, 1, 1, tzinfo=UTC)


class InheritableFieldsMixin(XBlockMixin):
    """The inheritable settings of edx-platform's InheritanceMixin, with the same names and defaults."""

    graded = Boolean(display_name="Graded", default=False, scope=Scope.settings)
    start = Date(display_name="Start", default=DEFAULT_START_DATE, scope=Scope.settings)
    due = Date(display_name="Due", default=None, scope=Scope.settings)
    visible_to_staff_only = Boolean(default=False, scope=Scope.settings)
    course_edit_method = String(default="Studio", scope=Scope.settings)
    giturl = String(scope=Scope.settings)
    xqa_key = String(scope=Scope.settings)
    graceperiod = Timedelta(scope=Scope.settings)
    group_access = Dict(default={}, scope=Scope.settings)
    showanswer = String(default="finished", scope=Scope.settings)
    show_correctness = String(default="always", scope=Scope.settings)
    rerandomize = String(default="never", scope=Scope.settings)
    days_early_for_beta = Float(default=None, scope=Scope.settings)
    static_asset_path = String(default="", scope=Scope.settings)
    use_latex_compiler = Boolean(default=False, scope=Scope.settings)
    max_attempts = Integer(default=None, scope=Scope.settings, values={"min": 0})
    matlab_api_key = String(scope=Scope.settings)
    user_partitions = List(default=[], scope=Scope.settings)
    video_speed_optimizations = Boolean(default=True, scope=Scope.settings)
    video_auto_advance = Boolean(default=False, scope=Scope.settings)
    video_bumper = Dict(default={}, scope=Scope.settings)
    show_reset_button = Boolean(default=False, scope=Scope.settings)
    edxnotes = Boolean(default=False, scope=Scope.settings)
    edxnotes_visibility = Boolean(default=True, scope=Scope.user_info)
    in_entrance_exam = Boolean(default=False, scope=Scope.settings)
    self_paced = Boolean(default=False, scope=Scope.settings)


INHERITABLE_FIELD_NAMES: frozenset[str] = frozenset(
    name for name, value in vars(InheritableFieldsMixin).items() if hasattr(value, "scope")
)
