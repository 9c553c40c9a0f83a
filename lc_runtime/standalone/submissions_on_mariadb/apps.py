"""The app around edx-submissions' MariaDB migration (see the package's docstring)."""

from django.apps import AppConfig


class SubmissionsOnMariaDBConfig(AppConfig):
    name = "lc_runtime.standalone.submissions_on_mariadb"
    label = "lc_runtime_submissions_on_mariadb"
    verbose_name = "edx-submissions on a new MariaDB database"
