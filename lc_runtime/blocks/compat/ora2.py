"""ORA2 (``openassessment``, PyPI ``ora2``) outside edx-platform."""

from __future__ import annotations

__all__ = ["OpenAssessmentCompat"]


class OpenAssessmentCompat:
    """
    Feature toggles without edx-platform's per-course waffle flags.

    ORA2 asks ``openedx.core.djangoapps.waffle_utils.CourseWaffleFlag`` first for every feature (team
    submissions, the learning MFE's views, ...) whenever a block has a ``location``, which blocks have
    here. Per-course flag overrides are an edx-platform model; here a feature is on when its global
    waffle switch or flag is, or its ``settings.FEATURES`` toggle, which ORA2 asks next.
    """

    def is_feature_enabled(self, flag):
        if self._waffle_switch(flag).is_enabled() or self._waffle_flag(flag).is_enabled():
            return True
        from openassessment.xblock.config_mixin import FEATURE_TOGGLES_BY_FLAG_NAME

        return self._settings_toggle_enabled(FEATURE_TOGGLES_BY_FLAG_NAME.get(flag))
