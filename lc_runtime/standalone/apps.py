"""The standalone host's app: what an LMS operator would switch on, switched on for running lc-runtime alone."""

from __future__ import annotations

from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate

COMPLETION_TRACKING_SWITCH = "completion.enable_completion_tracking"


def switch_on_completion_tracking(**kwargs) -> None:
    """
    Create edx-completion's tracking switch, on, where it does not exist (an operator's switch is left as it is).

    In edx-platform the switch is the operator's choice; running on its own, lc-runtime records completions.
    """
    from waffle.models import Switch

    Switch.objects.using(kwargs.get("using") or "default").get_or_create(
        name=COMPLETION_TRACKING_SWITCH, defaults={"active": True}
    )


class StandaloneConfig(AppConfig):
    name = "lc_runtime.standalone"
    label = "lc_runtime_standalone"
    verbose_name = "lc-runtime on its own"

    def ready(self) -> None:
        # Sent once per app with models after each migrate: waffle's, whose table the switch is a row of.
        post_migrate.connect(
            switch_on_completion_tracking, sender=apps.get_app_config("waffle"), dispatch_uid="lc-runtime-completion"
        )
