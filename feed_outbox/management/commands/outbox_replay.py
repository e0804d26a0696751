"""outbox_replay: re-publish the latest state of what was delivered (or dead-lettered)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError, CommandParser

from feed_outbox.management.arguments import (
    count,
    event_model,
    feed_id,
    instant,
    known_feed_group,
    ordering_key,
)
from feed_outbox.management.base import USAGE, OperationsCommand
from feed_outbox.operations.replay import ReplaySelection, blocked_by_dead_letters, replay


class Command(OperationsCommand):
    help = (
        "Re-publish to Stream what the outbox already delivered, e.g. after a Stream outage\n"
        "or restore. Select events by time range (--since/--until, on their creation time),\n"
        "--feed, --key (ordering key), --model, or --dead for dead letters; --all for\n"
        "everything. For each selected key the LATEST state is queued, in the order the keys\n"
        "last changed: an activity still published is added again (same foreign_id + time,\n"
        "so Stream overwrites instead of duplicating), one deleted or unpublished since is\n"
        "removed, never re-added. Keys with a pending event are skipped (the relay is on it).\n"
        "Running it twice is safe: the same latest state is queued again and feeds end the same.\n"
        "--api v2|v3 replays to that Stream API only (its rows, its pending keys), e.g. after\n"
        "an outage of one of the two while FEED_OUTBOX_STREAM_API is v2+v3.\n"
        "Prints how many events were queued and the estimated drain time under Stream's\n"
        "rate limits."
    )
    problems = "not used by this command"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=instant, help="ISO time or duration ago (2h)")
        parser.add_argument("--until", type=instant, help="ISO time or duration ago")
        parser.add_argument("--feed", type=feed_id, help="only events of this feed, like user:42")
        parser.add_argument(
            "--key", type=ordering_key, help="only this ordering key, like sample_app.Tweet:7"
        )
        parser.add_argument(
            "--model",
            type=event_model,
            help="only events of this Activity model, like sample_app.Tweet (or: follow)",
        )
        parser.add_argument("--dead", action="store_true", help="replay the keys of dead letters")
        parser.add_argument("--all", action="store_true", help="replay every delivered key")
        parser.add_argument("--api", choices=("v2", "v3"), help="replay to this Stream API only")
        parser.add_argument(
            "--chunk-size", type=count(1, 100_000), default=500, help="keys per transaction"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count and estimate, queue nothing"
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["feed"] is not None:
            try:
                known_feed_group(options["feed"], options["database"])
            except argparse.ArgumentTypeError as exc:
                raise CommandError(f"--feed {exc}", returncode=USAGE) from None
        selection = ReplaySelection(
            since=options["since"],
            until=options["until"],
            feed=options["feed"],
            ordering_key=options["key"],
            model=options["model"],
            dead=options["dead"],
            api=options["api"],
        )
        narrowed = any(options[name] for name in ("since", "until", "feed", "key", "model", "dead"))
        if not narrowed and not options["all"]:
            raise CommandError(
                "say what to replay: --since/--until, --feed, --key, --model, --dead, "
                "or --all for every delivered key",
                returncode=USAGE,
            )
        if options["since"] and options["until"] and options["since"] >= options["until"]:
            raise CommandError("--since must be before --until", returncode=USAGE)
        if options["dead"] and blocked_by_dead_letters():
            self.stderr.write(
                "warning: FEED_OUTBOX_BLOCK_KEY_ON_DEAD is on, so a key's dead letter holds "
                "back what is replayed for it; requeue or purge the dead letters instead"
            )
        bar = None

        def on_chunk(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = self.progress(total, "replay")
            bar.advance(done - bar.done)

        report = replay(
            selection,
            options["database"],
            dry_run=options["dry_run"],
            chunk_size=options["chunk_size"],
            on_chunk=on_chunk,
        )
        if bar is not None:
            bar.finish()
        verb = "would queue" if options["dry_run"] else "queued"
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(report.queued.items()))
        self.stdout.write(
            f"{report.keys:,} keys selected; {verb} {report.total_queued:,} events"
            + (f" ({kinds})" if kinds else "")
            + f"; {report.already_pending:,} keys skipped (already pending)"
        )
        if report.total_queued and report.estimate is not None:
            self.stdout.write(f"estimated drain: {report.estimate.describe()}")
