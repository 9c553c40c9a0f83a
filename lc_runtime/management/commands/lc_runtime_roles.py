"""``manage.py lc_runtime_roles grant|revoke KEY USERNAME ROLE``, ``lc_runtime_roles list KEY [--json]``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = (
        "Grant, revoke and list the course roles of lc-runtime's own table (staff, instructor, limited_staff, "
        "beta_tester), which the default LC_RUNTIME['ROLES'] provider reads. Same as 'lc-runtime roles'."
    )
    add_cli_arguments = cli.add_roles_arguments
    cli_function = cli.cmd_roles
