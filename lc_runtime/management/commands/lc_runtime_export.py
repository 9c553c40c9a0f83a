"""``manage.py lc_runtime_export KEY DEST [--draft] [--overwrite] [--json]``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = (
        "Export a course run as OLX (a folder, or DEST ending in .tar.gz) that edx-platform and "
        "lc_runtime_import read. Same as 'lc-runtime export'."
    )
    add_cli_arguments = cli.add_export_arguments
    cli_function = cli.cmd_export
