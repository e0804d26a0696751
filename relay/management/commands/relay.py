"""``manage.py relay``: the same relay as ``python -m relay``."""

from django.core.management.base import BaseCommand, CommandError

from relay import cli


class Command(BaseCommand):
    help = "Drain the feed outbox into Stream (run it as a sidecar; --once drains and exits)."

    def add_arguments(self, parser):
        cli.add_arguments(parser)

    def handle(self, *args, **options):
        import argparse

        cli.configure_logging(options["verbosity"])
        code = cli.run(argparse.Namespace(**options))
        if code:
            raise CommandError("the relay stopped on a configuration error", returncode=code)
