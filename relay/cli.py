"""Command-line options shared by ``python -m relay`` and ``manage.py relay``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the runner imports models: only after django.setup()
    from relay.runner import RelayOptions

logger = logging.getLogger("relay")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="drain until nothing is claimable, then exit 0"
    )
    parser.add_argument("--batch-size", type=int, default=100, help="events claimed per batch")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between polls when idle"
    )
    parser.add_argument("--database", default="default", help="database alias of the outbox")


def options_from(args: argparse.Namespace) -> RelayOptions:
    from relay.runner import RelayOptions

    return RelayOptions(
        batch_size=args.batch_size, poll_interval=args.poll_interval, using=args.database
    )


def run(args: argparse.Namespace) -> int:
    from relay.runner import ConfigurationError, Relay

    relay = Relay(options_from(args))
    if args.once:
        try:
            stats = relay.drain()
        except ConfigurationError:
            return 2
        logger.info(
            "drained: %d delivered, %d to retry, %d dead",
            stats.delivered,
            stats.retried,
            stats.dead,
        )
        return 0
    stop = threading.Event()

    def _stop(signum, frame):
        logger.info(
            "received %s: finishing the current batch, then exiting", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    logger.info(
        "relay %s started (batch size %d, poll every %.1fs)",
        relay.options.owner,
        relay.options.batch_size,
        relay.options.poll_interval,
    )
    relay.run(stop)
    logger.info("relay stopped")
    return 0


def configure_logging(verbosity: int = 1) -> None:
    level = logging.DEBUG if verbosity > 1 else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
