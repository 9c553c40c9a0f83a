"""
What a version of a course static file carries beyond its bytes.
"""

from __future__ import annotations

from django.db import models
from openedx_content.models_api import PublishableEntityVersion

__all__ = ["AssetSettings"]


class AssetSettings(models.Model):
    """
    What a version of a course static file carries beyond its bytes: whether it is locked.

    A course's static files are ``openedx.v1:upload`` components (ADR 0010). openedx-core leaves
    per-asset settings to the platform (its draft ADR 0013), so they live here, one row per
    component version and only for locked ones: no row means not locked. Immutable, like the version:
    locking or unlocking a file makes its next version.
    """

    component_version = models.OneToOneField(
        PublishableEntityVersion, on_delete=models.CASCADE, primary_key=True, related_name="lc_asset_settings"
    )
    # Served only to logged-in users (edx-platform's "locked" assets; enrollment is the host's to check).
    locked = models.BooleanField(default=False)
