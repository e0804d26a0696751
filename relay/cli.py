"""Command-line options shared by ``python -m relay`` and ``manage.py relay``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from feed_outbox.management.arguments import count, database_alias, port, seconds
from relay.options import RelayOptions

if TYPE_CHECKING:  # imported at use: the parser is built before django.setup()
    from relay.health import HealthServer
    from relay.runner import Relay

logger = logging.getLogger("relay")


def _default(option: str) -> Any:
    # One home for each default: RelayOptions (settings-backed ones stay None here).
    return RelayOptions.default(option)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="drain until nothing is claimable, then exit 0"
    )
    parser.add_argument(
        "--workers",
        type=count(1, 256),
        default=1,
        help="relay processes to run (each claims on its own)",
    )
    parser.add_argument(
        "--batch-size",
        type=count(1, 10_000),
        default=_default("batch_size"),
        help="events claimed per batch",
    )
    parser.add_argument(
        "--concurrency",
        type=count(1, 1024),
        default=_default("concurrency"),
        help="Stream requests in flight per process",
    )
    parser.add_argument(
        "--poll-interval",
        type=seconds(0, 86400, above=True),
        default=_default("poll_interval"),
        help="seconds between polls when idle (the floor under LISTEN/NOTIFY)",
    )
    parser.add_argument(
        "--poll-only",
        action="store_true",
        help="never LISTEN (PgBouncer in transaction pooling mode): poll every --poll-interval",
    )
    parser.add_argument(
        "--grace-period",
        type=seconds(0, 86400),
        default=_default("grace_period"),
        help="seconds SIGTERM/SIGINT waits for in-flight requests before exiting",
    )
    parser.add_argument(
        "--metrics-port",
        type=port,
        default=None,
        help="serve /healthz, /readyz and /metrics on this port (0 picks a free one); "
        "with --workers the parent serves them for every worker",
    )
    parser.add_argument(
        "--lease-seconds",
        type=seconds(0, 86400, above=True),
        default=None,
        help="lease of a claimed batch (default FEED_OUTBOX_LEASE_SECONDS); renewed while waiting",
    )
    parser.add_argument(
        "--max-attempts",
        type=count(1, 1_000_000),
        default=None,
        help="tries before a permanently failing event is dead-lettered "
        "(default FEED_OUTBOX_MAX_ATTEMPTS)",
    )
    parser.add_argument(
        "--retry-backoff",
        type=seconds(0, 3600),
        default=_default("retry_backoff"),
        help="base of the exponential retry backoff in seconds (full jitter, capped at 300)",
    )
    parser.add_argument(
        "--landing-seconds",
        type=seconds(0, 86400),
        default=None,
        help="how long Stream may still apply a request that timed out or lost its answer; "
        "its event (and its key) waits that long before the retry "
        "(default FEED_OUTBOX_LANDING_SECONDS, else 2 x STREAM_TIMEOUT)",
    )
    parser.add_argument(
        "--database", default=_default("using"), help="database alias of the outbox"
    )
    parser.add_argument(
        "--api",
        choices=("v2", "v3"),
        default=None,
        help="deliver only this Stream API's rows (default: every API of "
        "FEED_OUTBOX_STREAM_API, each by relays of its own)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="with --once: exit 1 when events are left undelivered (pending, e.g. waiting for "
        "a retry) or were dead-lettered, naming their errors; for CI",
    )


def options_from(args: argparse.Namespace) -> RelayOptions:
    return RelayOptions.from_settings(
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        poll_interval=args.poll_interval,
        poll_only=args.poll_only,
        grace_period=args.grace_period,
        lease_seconds=args.lease_seconds,
        max_attempts=args.max_attempts,
        retry_backoff=args.retry_backoff,
        landing_seconds=args.landing_seconds,
        using=args.database,
        api=getattr(args, "api", None),
    )


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    from feed_outbox import conf

    if getattr(args, "strict", False) and not args.once:
        logger.error("--strict applies to --once only (a sidecar never ends with a verdict)")
        return 2
    apis = (args.api,) if args.api else conf.stream_apis()
    problems = preflight(args)
    if problems:
        for problem in problems:
            logger.error("cannot start: %s", problem)
        return 2
    if len(apis) > 1:
        # v2+v3: each API gets relays of its own, so an outage, a pause or a rate limit of one
        # never holds the other's events (their rows, leases and order are separate too).
        if args.once:
            codes = [run(argparse.Namespace(**{**vars(args), "api": api}), argv) for api in apis]
            return max(codes)
        from relay.supervisor import run_workers

        return run_workers(
            args.workers, argv or [], args.grace_period, args.metrics_port, apis=apis
        )
    if args.workers > 1 and not args.once:
        from relay.supervisor import run_workers

        return run_workers(args.workers, argv or [], args.grace_period, args.metrics_port)
    from relay.runner import Relay

    relay = Relay(options_from(args))
    server = _start_health_server(args, relay)
    try:
        return _serve(relay, once=args.once, strict=getattr(args, "strict", False))
    except ImproperlyConfigured as exc:  # no credentials at all: nothing to retry
        logger.error("configuration error: %s", exc)
        return 2
    finally:
        if server is not None:
            server.stop()


def preflight(args: argparse.Namespace) -> list[str]:
    """``startup_problems`` of the API(s) and database ``args`` name; an unknown --database
    alias first (connections[alias] would raise, a traceback)."""
    from feed_outbox import conf

    try:
        database_alias(args.database)
    except argparse.ArgumentTypeError as exc:
        return [f"--database {exc}"]
    return startup_problems((args.api,) if args.api else conf.stream_apis(), args.database)


def startup_problems(apis: tuple[str, ...], using: str) -> list[str]:
    """What makes every delivery fail, found before the relay starts: missing credentials, a
    base URL the clients cannot use, an outbox table ``migrate`` has not created."""
    from django.db import DatabaseError, connections

    from feed_outbox.checks import stream_setup_errors
    from feed_outbox.models import OutboxEvent

    problems = stream_setup_errors(apis)
    table = OutboxEvent._meta.db_table
    try:
        with connections[using].cursor() as cursor:
            tables = connections[using].introspection.table_names(cursor)
    except DatabaseError:
        return problems  # unreachable now: the loop waits for the database and says so
    if table not in tables:
        problems.append(
            f"the outbox table {table} does not exist in database {using!r}: "
            "run `python manage.py migrate`"
        )
    return problems


def _start_health_server(args: argparse.Namespace, relay: Relay) -> HealthServer | None:
    if args.metrics_port is None:
        return None
    from relay.health import HealthServer

    server = HealthServer(args.metrics_port, relay.metrics, relay.ready).start()
    # A parent process (or a test) reads the port from this line when it asked for port 0.
    logger.info("metrics listening on port %d", server.port)
    return server


def _serve(relay: Relay, once: bool = False, strict: bool = False) -> int:
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        logger.info(
            "received %s: claiming nothing more, finishing in-flight requests",
            signal.Signals(signum).name,
        )
        stop.set()
        relay.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _orphaned() -> None:
        logger.warning("the --workers parent process is gone: stopping as on SIGTERM")
        stop.set()
        relay.wake()

    from relay.supervisor import watch_parent

    watch_parent(_orphaned)
    opts = relay.options
    if once:
        from relay.wakeup import PollWakeup

        # The same pipelined loop as the sidecar, ending when nothing is left to claim.
        relay.run(stop, wakeup=PollWakeup(), until_idle=True)
        events = relay.metrics.events_by_outcome()
        logger.info(
            "drained: %d delivered, %d to retry, %d dead",
            events.get("delivered", 0),
            events.get("retried", 0),
            events.get("dead", 0),
        )
        if relay.paused_reason:
            return 2
        return _left_failing(opts, events.get("dead", 0)) if strict else 0
    logger.info(
        "relay %s started (batch size %d, concurrency %d, poll every %.1fs%s)",
        opts.owner,
        opts.batch_size,
        opts.concurrency,
        opts.poll_interval,
        ", poll only" if opts.poll_only else "",
    )
    relay.run(stop)
    logger.info("relay stopped")
    return 0


def _left_failing(opts: RelayOptions, dead: int) -> int:
    """--strict: 1 (one line naming the errors) when events are left undelivered, else 0."""
    from feed_outbox.operations.status import undelivered

    left = undelivered(opts.using, api=opts.api)
    if not left.pending and not dead:
        return 0
    causes = "; ".join(f"{count} x {cause}" for cause, count in left.causes[:3])
    logger.error(
        "--strict: %d events left pending (%d of them failed before), %d dead-lettered by "
        "this run%s",
        left.pending,
        left.failed,
        dead,
        f"; last errors: {causes}" if causes else "",
    )
    return 1


def configure_logging(verbosity: int = 1) -> None:
    """A plain format unless the project's LOGGING set one up; ``-v 2`` shows DEBUG lines."""
    level = logging.DEBUG if verbosity > 1 else logging.INFO
    # The pid tells the lines of --workers apart.
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s"
    )
    relay_logger = logging.getLogger("relay")
    if verbosity > 1 or relay_logger.level == logging.NOTSET:
        relay_logger.setLevel(level)
    # stream-python logs every request's URL and body at DEBUG (a body's `to` holds feed
    # tokens), urllib3 every URL: keep them quiet whatever the verbosity.
    for name in ("stream", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
