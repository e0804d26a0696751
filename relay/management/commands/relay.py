"""``manage.py relay``: the same relay as ``python -m relay``."""

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feed_outbox.management.arguments import one_line_errors
from relay import cli


class Command(BaseCommand):
    help = "Drain the feed outbox into Stream (run it as a sidecar; --once drains and exits)."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        one_line_errors(parser, raise_as=CommandError)
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = argparse.Namespace(**options)
        # Found before the relay starts, the problems are this command's one answer.
        problems = cli.preflight(namespace)
        if problems:
            raise CommandError("cannot start: " + "; ".join(problems), returncode=2)
        cli.configure_logging(options["verbosity"])
        # --workers starts `python -m relay` children with the options given here.
        argv = sys.argv[sys.argv.index("relay") + 1 :] if "relay" in sys.argv else []
        code = cli.run(namespace, argv)
        if code == 1:  # --strict: the relay logged which events are left and why
            raise CommandError("events are left undelivered (--strict)", returncode=code)
        if code:
            raise CommandError("the relay stopped on a configuration error", returncode=code)
