"""The argument types of every feed_outbox and relay command: each turns what was typed into a
value or raises argparse.ArgumentTypeError naming it, so a typo is one line and exit 2.

Importable before django.setup() (``python -m relay`` builds its parser first): what needs the
app registry is imported where it is used.
"""

from __future__ import annotations

import argparse
import datetime
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

USAGE = 2

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])?")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# stream-python checks a feed's slug and id with ^[\w-]+$ (stream/utils.py, valid_re), its
# error saying "please only use letters, numbers and _" for the slug; fullmatch, unlike its
# ``$``, also refuses a trailing newline.
_FEED_SLUG = re.compile(r"\w+")
_FEED_USER_ID = re.compile(r"[\w-]+")
FOLLOW_KEY_PREFIX = "follow:"


def bad(value: Any, why: str) -> NoReturn:
    raise argparse.ArgumentTypeError(f"{value!r} {why}")


def duration(value: str) -> datetime.timedelta:
    """``90``, ``90s``, ``15m``, ``2h``, ``7d``, ``1w``: an age, so now minus it is a time."""
    delta = _age(value)
    if delta is None:
        bad(value, "is not a duration like 90s, 15m, 2h or 7d")
    return delta


def _age(value: str) -> datetime.timedelta | None:
    """The duration ``value`` spells, None when it spells none; refused when it reaches back
    before the year 1 (float("9" * 400) is inf, and timedelta() or now - delta overflow)."""
    match = _DURATION.fullmatch(value.strip().lower())
    if not match:
        return None
    try:
        delta = datetime.timedelta(seconds=float(match[1]) * _UNITS[match[2] or "s"])
        timezone.now() - delta
    except (OverflowError, ValueError):
        bad(value, "reaches back before the year 1")
    return delta


def instant(value: str) -> datetime.datetime:
    """An ISO date/time (UTC if naive) or a duration ago (``2h`` = two hours ago)."""
    text = value.strip()
    try:
        parsed = parse_datetime(text) or (
            parse_datetime(text + "T00:00:00") if re.fullmatch(r"\d{4}-\d\d-\d\d", text) else None
        )
    except ValueError as exc:  # well formed, but no such day or hour
        bad(value, f"is not a valid date/time ({exc})")
    if parsed is not None:
        return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=datetime.UTC)
    delta = _age(value)
    if delta is None:
        bad(value, "is neither an ISO date/time nor a duration ago like 2h")
    return timezone.now() - delta


def count(minimum: int = 1, maximum: int | None = None) -> Callable[[str], int]:
    """An integer type for argparse, between ``minimum`` and ``maximum`` (inclusive)."""

    def parse(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            bad(value, "is not a whole number")
        if number < minimum or (maximum is not None and number > maximum):
            top = f" and at most {maximum:,}" if maximum is not None else ""
            bad(value, f"is out of range: at least {minimum:,}{top}")
        return number

    parse.__name__ = "count"
    return parse


def seconds(minimum: float = 0.0, maximum: float = 10**9, above: bool = False) -> Callable:
    """A finite number of seconds for argparse (``above``: strictly more than ``minimum``)."""

    def parse(value: str) -> float:
        try:
            number = float(value.strip())
        except ValueError:
            bad(value, "is not a number of seconds")
        # nan compares false with everything: a --max-lag of nan would never fire.
        if not math.isfinite(number):
            bad(value, "is not a finite number of seconds")
        if number < minimum or (above and number == minimum) or number > maximum:
            low = f"more than {minimum:g}" if above else f"at least {minimum:g}"
            bad(value, f"is out of range: {low} and at most {maximum:g} seconds")
        return number

    parse.__name__ = "seconds"
    return parse


def port(value: str) -> int:
    return count(0, 65535)(value)


def feed_id(value: str) -> str:
    """``group:id``, like ``timeline:42``, in the alphabet Stream accepts."""
    slug, sep, user_id = value.partition(":")
    if not sep or ":" in user_id:
        bad(value, "is not a feed id like user:42 (one ':' between feed group and id)")
    if not _FEED_SLUG.fullmatch(slug):
        bad(value, "has a feed group that is not letters, digits and _")
    if not _FEED_USER_ID.fullmatch(user_id):
        bad(value, "has a feed id that is not letters, digits, _ and -")
    return value


def activity_model(value: str) -> type[ActivityModel]:
    """An Activity model by its label, ``app_label.ModelName``."""
    from feed_outbox.operations.current_state import activity_model as lookup

    model = lookup(value.strip()) if "." in value else None
    if model is None:
        bad(value, "is not an Activity model (expected app_label.ModelName, like app.Tweet)")
    return model


def event_model(value: str) -> str:
    """What ``aggregate_type`` an outbox event of ``value`` has: an Activity model's label,
    or ``follow`` for follow events."""
    if value.strip().lower() == FOLLOW_KEY_PREFIX.rstrip(":"):
        return "follow"
    return activity_model(value)._meta.label


def primary_key(model: type[models.Model], value: str) -> Any:
    """``value`` as a primary key of ``model``, in the range its column holds."""
    from django.core.exceptions import ValidationError

    field = model._meta.pk
    try:
        pk = field.to_python(value)
        field.run_validators(pk)  # IntegerField's validators hold the database's range
    except (ValidationError, TypeError, ValueError, OverflowError):
        bad(value, f"is not a primary key of {model._meta.label} ({field.get_internal_type()})")
    if pk is None:
        bad(value, f"is not a primary key of {model._meta.label}")
    return pk


def ordering_key(value: str) -> str:
    """An outbox ordering key: an activity's ``app.Model:pk`` or ``follow:<feed>><feed>``."""
    from feed_outbox.write.references import model_content_type, split_foreign_id

    if value.startswith(FOLLOW_KEY_PREFIX):
        source, sep, target = value[len(FOLLOW_KEY_PREFIX) :].partition(">")
        try:
            if not sep:
                raise argparse.ArgumentTypeError("no '>'")
            feed_id(source), feed_id(target)
        except argparse.ArgumentTypeError:
            bad(value, "is not a follow key like follow:timeline:1>user:2")
        return value
    parts = split_foreign_id(value)
    if parts is None:
        bad(value, "is not an ordering key like app.Tweet:7 or follow:timeline:1>user:2")
    label, pk = parts
    try:
        model = activity_model(label)
        # As the outbox wrote it (feed_outbox.write.references): keys are matched exactly.
        return f"{model_content_type(model)}:{primary_key(model, pk)}"
    except argparse.ArgumentTypeError as exc:
        bad(value, f"is not an ordering key: {exc}")


def database_alias(value: str) -> str:
    from django.db import connections

    if value not in connections.settings:
        known = ", ".join(sorted(connections.settings))
        bad(value, f"is not a database alias of DATABASES (known: {known})")
    return value


def known_feed_group(feed: str, using: str | None = None) -> None:
    """Refuse a feed whose group neither the settings name nor any outbox event used.

    An app's activity_feeds() may name groups of its own, which only the outbox records."""
    from django.db import router

    from feed_outbox import conf
    from feed_outbox.models import OutboxEvent

    group = feed.partition(":")[0]
    if group in conf.configured_feed_slugs():
        return
    using = using or router.db_for_read(OutboxEvent)
    if OutboxEvent.objects.using(using).filter(feed__startswith=f"{group}:").exists():
        return
    known = ", ".join(sorted(conf.configured_feed_slugs()))
    bad(
        feed,
        f"names feed group {group!r}, which no setting names and no outbox event used "
        f"(the settings name: {known})",
    )


def missing_tables(using: str) -> list[str]:
    """The tables of feed_outbox's models absent from database ``using`` (migrate not run)."""
    from django.apps import apps
    from django.db import connections

    wanted = [m._meta.db_table for m in apps.get_app_config("feed_outbox").get_models()]
    with connections[using].cursor() as cursor:
        present = set(connections[using].introspection.table_names(cursor))
    return [table for table in wanted if table not in present]


def one_line_errors(parser: argparse.ArgumentParser, raise_as: type | None = None) -> None:
    """Make ``parser`` answer a bad argument with one line and exit 2 (argparse prints its
    usage first; the usage is a --help away). ``raise_as``: an exception class taking
    ``(message, returncode=)`` to raise instead when not run from a command line."""

    def error(message: str) -> NoReturn:
        if raise_as is not None and not getattr(parser, "called_from_command_line", True):
            raise raise_as(f"Error: {message}", returncode=USAGE)
        parser.exit(USAGE, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]  # argparse's documented hook
