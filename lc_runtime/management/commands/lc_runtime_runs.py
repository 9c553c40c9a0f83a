"""``manage.py lc_runtime_runs list|create|pin|unpin|set|snapshots ...``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = (
        "List, create, pin and unpin the runs of a course; runs share one LearningPackage and a new "
        "run copies no content. Same as 'lc-runtime runs'."
    )
    add_cli_arguments = cli.add_runs_arguments
    cli_function = cli.cmd_runs
