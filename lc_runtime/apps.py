"""The ``lc_runtime`` Django app, installable into LMS and Studio as a plugin app."""

from django.apps import AppConfig


class LcRuntimeConfig(AppConfig):
    """App config; ``plugin_app`` lets edx-platform's plugin system install it."""

    name = "lc_runtime"
    label = "lc_runtime"
    verbose_name = "Learning Core XBlock runtime"
    default_auto_field = "django.db.models.BigAutoField"

    plugin_app = {
        "url_config": {
            "lms.djangoapp": {"namespace": "lc_runtime", "regex": r"^lc-runtime/", "relative_path": "web.urls"},
            "cms.djangoapp": {"namespace": "lc_runtime", "regex": r"^lc-runtime/", "relative_path": "web.urls"},
        },
    }

    def ready(self) -> None:
        from lc_runtime.content.setup import register_models

        register_models()
