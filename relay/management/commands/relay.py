"""``manage.py relay``: the same relay as ``python -m relay``."""

import argparse
import sys

from django.core.management.base import BaseCommand, CommandError

from relay import cli


class Command(BaseCommand):
    help = "Drain the feed outbox into Stream (run it as a sidecar; --once drains and exits)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        cli.configure_logging(options["verbosity"])
        # --workers starts `python -m relay` children with the options given here.
        argv = sys.argv[sys.argv.index("relay") + 1 :] if "relay" in sys.argv else []
        code = cli.run(argparse.Namespace(**options), argv)
        if code == 1:  # --strict: the relay logged which events are left and why
            raise CommandError("events are left undelivered (--strict)", returncode=code)
        if code:
            raise CommandError("the relay stopped on a configuration error", returncode=code)
