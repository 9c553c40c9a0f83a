"""The workbench app (standalone settings only)."""

from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "lc_runtime.workbench"
    label = "lc_runtime_workbench"
    verbose_name = "lc-runtime's workbench"
