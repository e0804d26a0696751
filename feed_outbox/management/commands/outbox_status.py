"""outbox_status: how far behind the relay is; a health probe with --max-lag."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from feed_outbox.management.arguments import count, seconds
from feed_outbox.management.base import PROBLEMS, OperationsCommand
from feed_outbox.models import EventKind, EventStatus
from feed_outbox.operations.status import OutboxStatus, outbox_status


class Command(OperationsCommand):
    help = (
        "Show the outbox: pending / in flight / delivered / dead events by kind, the age of\n"
        "the oldest pending event (the lag), throughput over the last minutes and dead\n"
        "letters grouped by error. With --max-lag it is a health probe: it exits 1 when the\n"
        "oldest pending event is older than that many seconds."
    )
    problems = "the lag exceeds --max-lag"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")
        parser.add_argument(
            "--max-lag",
            type=seconds(0),
            default=None,
            metavar="SECONDS",
            help="exit 1 when the oldest pending event is older than this",
        )
        parser.add_argument(
            "--minutes",
            type=count(1, 10 * 525_600),
            default=5,
            help="window of the throughput figure (default 5 minutes)",
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["minutes"] < 1:
            raise CommandError("--minutes must be at least 1", returncode=2)
        status = outbox_status(options["database"], window_minutes=options["minutes"])
        if options["json"]:
            data = status.to_dict()
            data["max_lag"] = options["max_lag"]
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True))
        else:
            self.stdout.write(render(status))
        max_lag = options["max_lag"]
        if max_lag is not None and status.lag_seconds > max_lag:
            raise CommandError(
                f"lag {status.lag_seconds:.1f}s exceeds --max-lag {max_lag:g}s "
                f"({status.total(EventStatus.PENDING)} events pending)",
                returncode=PROBLEMS,
            )


def render(status: OutboxStatus) -> str:
    kinds = list(EventKind.values)
    header = f"{'':<11}" + "".join(f"{kind:>10}" for kind in kinds) + f"{'total':>10}"
    lines = [f"Outbox at {status.at:%Y-%m-%d %H:%M:%S %Z}", header]
    for state in EventStatus.values:
        counts = status.counts.get(state, {})
        row = "".join(f"{counts.get(kind, 0):>10,}" for kind in kinds)
        lines.append(f"{state:<11}{row}{status.total(state):>10,}")
        if state == EventStatus.PENDING:
            row = "".join(f"{status.in_flight_by_kind.get(kind, 0):>10,}" for kind in kinds)
            lines.append(f"{'  in flight':<11}{row}{status.in_flight:>10,}")
    lines.append(f"waiting for a retry (backoff): {status.waiting_retry:,}")
    if status.waiting_by_cause:
        lines.append("pending after a failure, by last error:")
        lines.extend(f"  {count:>7,}  {cause}" for cause, count in status.waiting_by_cause)
    if status.oldest_pending_at:
        lines.append(
            f"oldest pending: {status.oldest_pending_at:%Y-%m-%d %H:%M:%S} "
            f"(lag {status.lag_seconds:.1f}s)"
        )
    else:
        lines.append("oldest pending: none (lag 0s, caught up)")
    lines.append(
        f"throughput: {status.throughput_per_minute:,.1f} delivered/min over the last "
        f"{status.window_minutes} min"
    )
    if status.dead_by_error:
        lines.append("dead letters by error:")
        lines.extend(f"  {count:>7,}  {error}" for error, count in status.dead_by_error)
    return "\n".join(lines)
