"""``manage.py lc_runtime_import PATH [--course-key KEY] [--strict] [--no-publish] [--json]``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = (
        "Import an OLX course export (folder, .tar.gz or .zip) into Learning Core and publish it. "
        "Importing again creates versions only for what changed. Same as 'lc-runtime import'."
    )
    add_cli_arguments = cli.add_import_arguments
    cli_function = cli.cmd_import
