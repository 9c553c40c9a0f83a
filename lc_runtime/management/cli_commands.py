"""Running one of the ``lc-runtime`` CLI's commands as a Django management command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from lc_runtime import cli

__all__ = ["CliCommand"]


class _PrintTo:
    """A file-like view of a command's OutputWrapper for ``print``: no extra line endings added."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()

    def isatty(self) -> bool:
        return self.wrapper.isatty()


class CliCommand(BaseCommand):
    """
    A management command that is one CLI command: ``add_cli_arguments`` adds its arguments and
    ``cli_function`` does the work. Output goes to the command's stdout and stderr (so
    ``call_command(..., stdout=...)`` captures it); a known error becomes a ``CommandError`` whose
    message is the CLI's one line.
    """

    add_cli_arguments: Callable[[argparse.ArgumentParser], None]
    cli_function: Callable[[argparse.Namespace], int]

    def add_arguments(self, parser) -> None:
        type(self).add_cli_arguments(parser)

    def handle(self, *args, **options) -> None:
        namespace = argparse.Namespace(**options)
        with redirect_stdout(_PrintTo(self.stdout)), redirect_stderr(_PrintTo(self.stderr)):
            try:
                status = type(self).cli_function(namespace)
            except Exception as exc:
                message = cli.known_error_message(exc)
                if message is None:
                    raise
                raise CommandError(message, returncode=2) from exc
        if status:
            raise CommandError(f"failed with exit status {status}", returncode=status)
