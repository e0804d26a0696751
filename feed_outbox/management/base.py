"""What the outbox_* commands share: exit codes, the checks of their environment (database,
tables, Stream) that turn a setup mistake into one line and exit 2, the progress bar."""

from __future__ import annotations

import argparse
import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    SystemCheckError,
)
from django.db import DatabaseError, router
from stream.exceptions import StreamApiException

from feed_outbox.exceptions import OutboxNotMigrated
from feed_outbox.management.arguments import (  # noqa: F401 (the commands' argument types)
    database_alias,
    duration,
    instant,
    missing_tables,
    one_line_errors,
)
from feed_outbox.operations.current_state import activity_model
from feed_outbox.operations.progress import ProgressBar
from feed_outbox.stream_api.errors import FEED_CONFIG, refuses_credentials

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

try:  # the v3 SDK and its HTTP client; absent without the [v3] extra
    from getstream.exceptions import StreamApiException as V3ApiException
    from getstream.exceptions import StreamTransportException as V3TransportException
    from httpx import TransportError as V3TransportError
except ImportError:  # pragma: no cover
    # Without the SDK no v3 error is ever raised: the names fall back to one never missed.
    V3ApiException = V3TransportException = V3TransportError = requests.RequestException  # type: ignore[misc,assignment]

DOES_NOT_EXIST = 16  # Stream's DoesNotExistException: v3's answer to an unknown feed group

OK, PROBLEMS, USAGE = 0, 1, 2
EXIT_CODES = """exit codes:
  0  done, nothing wrong
  1  {problems}
  2  usage or configuration error (bad argument, unknown model, Stream credentials missing
     or refused)"""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def describe(delta: datetime.timedelta) -> str:
    """``7d``, ``36h``, ``90m``, ``45s``: the way --older-than is written."""
    seconds = delta.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{seconds / _UNITS[unit]:g}{unit}"
    return f"{seconds:g}s"


def activity_model_arg(label: str) -> type[ActivityModel]:
    model = activity_model(label)
    if model is None:
        raise CommandError(
            f"{label!r} is not an Activity model (expected app_label.ModelName)", returncode=USAGE
        )
    return model


class OperationsCommand(BaseCommand):
    """A command whose --help ends with the exit codes scripts can rely on."""

    problems = "problems found"
    # Whether the command reads or writes the outbox (so needs `migrate` to have been run).
    needs_outbox = True

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(
            prog_name,
            subcommand,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=EXIT_CODES.format(problems=self.problems),
            **kwargs,
        )
        one_line_errors(parser, raise_as=CommandError)
        return parser

    def add_database_argument(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            type=database_alias,
            default=None,
            help="database alias of the outbox (default: routed)",
        )

    def progress(self, total: int | None, label: str = "") -> ProgressBar:
        return ProgressBar(self.stdout, total, label)

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            if self.needs_outbox:
                check_outbox_tables(options.get("database"))
            return super().execute(*args, **options)
        except OutboxNotMigrated as exc:  # a column a later migration adds, say
            raise CommandError(str(exc), returncode=USAGE) from exc
        except SystemCheckError as exc:  # a configuration error, not problems found
            exc.returncode = USAGE
            raise
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=USAGE) from exc
        except (requests.RequestException, V3TransportError, V3TransportException) as exc:
            raise CommandError(unreachable(exc), returncode=USAGE) from exc
        except V3ApiException as exc:
            if getattr(exc, "code", None) != DOES_NOT_EXIST:
                raise
            message = getattr(exc, "message", "") or str(exc)
            raise CommandError(f"Stream v3: {message}", returncode=USAGE) from exc
        except StreamApiException as exc:
            if refuses_credentials(exc):
                message = f"Stream refused the credentials: {exc}"
            elif getattr(exc, "code", None) == FEED_CONFIG:
                message = f"Stream does not know a feed group (FeedConfigException): {exc}"
            else:
                raise
            raise CommandError(message, returncode=USAGE) from exc


def check_outbox_tables(using: str | None) -> None:
    """Refuse to run against a database that migrate has not set up, or cannot reach."""
    from feed_outbox.models import OutboxEvent

    using = using or router.db_for_write(OutboxEvent)
    try:
        missing = missing_tables(using)
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"cannot read database {using!r}: {first}", returncode=USAGE) from exc
    if missing:
        raise CommandError(
            f"the outbox table {', '.join(missing)} does not exist in database {using!r}: "
            "run `python manage.py migrate`",
            returncode=USAGE,
        )


def unreachable(exc: BaseException) -> str:
    """One line for a request that never got an answer, naming where it went (no query string:
    it carries the API key)."""
    url = ""
    # getstream wraps httpx's error: the request is on its cause.
    for error in (exc, exc.__cause__, exc.__context__):
        try:
            # error may be None or carry no request: the AttributeError is caught below.
            url = str(getattr(error.request, "url", "") or "")  # type: ignore[union-attr]
        except (AttributeError, RuntimeError):  # httpx: RuntimeError for an unset request
            continue
        if url:
            break
    where = ""
    if url:
        parts = urlsplit(url)
        where = f" at {parts.scheme}://{parts.netloc}"
    return (
        f"Stream cannot be reached{where} ({type(exc).__name__}): check that it is up and "
        "STREAM_BASE_URL / STREAM_LOCATION"
    )
