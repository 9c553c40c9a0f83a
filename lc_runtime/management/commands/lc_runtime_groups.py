"""``manage.py lc_runtime_groups assign|remove KEY USERNAME --partition ID [--group ID]``, ``... list KEY``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = (
        "Put learners in groups of a course run's partitions (cohorts, enrollment tracks, an experiment's arm), "
        "take them out, list them. Same as 'lc-runtime groups'."
    )
    add_cli_arguments = cli.add_groups_arguments
    cli_function = cli.cmd_groups
