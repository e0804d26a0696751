"""What the outbox_* commands share: exit codes, duration and model arguments, the progress bar."""

from __future__ import annotations

import argparse
import datetime
import re

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from feed_outbox.current_state import activity_model
from feed_outbox.progress import ProgressBar

OK, PROBLEMS, USAGE = 0, 1, 2
EXIT_CODES = """exit codes:
  0  done, nothing wrong
  1  {problems}
  2  usage or configuration error (bad argument, unknown model, Stream credentials missing
     or refused)"""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration(value: str) -> datetime.timedelta:
    """``90``, ``90s``, ``15m``, ``2h``, ``7d``, ``1w``."""
    value = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return datetime.timedelta(seconds=float(value))
    match = _DURATION.match(value)
    if not match:
        raise argparse.ArgumentTypeError(f"{value!r} is not a duration like 90s, 15m, 2h or 7d")
    return datetime.timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def describe(delta: datetime.timedelta) -> str:
    """``7d``, ``36h``, ``90m``, ``45s``: the way --older-than is written."""
    seconds = delta.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"


def instant(value: str) -> datetime.datetime:
    """An ISO date/time (UTC if naive) or a duration ago (``2h`` = two hours ago)."""
    parsed = parse_datetime(value) or (
        parse_datetime(value + "T00:00:00") if re.fullmatch(r"\d{4}-\d\d-\d\d", value) else None
    )
    if parsed is not None:
        return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=datetime.UTC)
    try:
        return timezone.now() - duration(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither an ISO date/time nor a duration ago like 2h"
        ) from None


def activity_model_arg(label: str) -> type[models.Model]:
    model = activity_model(label)
    if model is None:
        raise CommandError(
            f"{label!r} is not an Activity model (expected app_label.ModelName)", returncode=USAGE
        )
    return model


class OperationsCommand(BaseCommand):
    """A command whose --help ends with the exit codes scripts can rely on."""

    problems = "problems found"

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(
            prog_name,
            subcommand,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=EXIT_CODES.format(problems=self.problems),
            **kwargs,
        )
        return parser

    def add_database_argument(self, parser) -> None:
        parser.add_argument(
            "--database", default=None, help="database alias of the outbox (default: routed)"
        )

    def progress(self, total: int | None, label: str = "") -> ProgressBar:
        return ProgressBar(self.stdout, total, label)

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=USAGE) from exc
