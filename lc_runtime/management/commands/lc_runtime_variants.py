"""``manage.py lc_runtime_variants USAGE_KEY [--json]``."""

from lc_runtime import cli
from lc_runtime.management.cli_commands import CliCommand


class Command(CliCommand):
    help = "Which learners see which content of one selector (split_test, randomize, ...); as 'lc-runtime variants'."
    add_cli_arguments = cli.add_variants_arguments
    cli_function = cli.cmd_variants
