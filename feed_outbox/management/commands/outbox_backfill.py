"""outbox_backfill: queue add events for rows that existed before feed-outbox was installed."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import router

from feed_outbox.management.arguments import activity_model, count, instant, primary_key
from feed_outbox.management.base import USAGE, OperationsCommand
from feed_outbox.operations.backfill import BackfillReport, backfill, rows_to_backfill
from feed_outbox.stream_api.rate_limits import estimate_drain


class Command(OperationsCommand):
    help = (
        "Queue an add event for every published row of an Activity model (adoption on an\n"
        "existing database), optionally only rows whose activity time is --since or later.\n"
        "Works in chunks of --batch-size rows by primary key, one short transaction each.\n"
        "Restartable and idempotent: rows whose activity already has an outbox event are\n"
        "skipped, so after an interruption run the same command again (or pass the last\n"
        "printed --after-pk to skip the rows already scanned)."
    )
    problems = "not used by this command"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "model", type=activity_model, help="the Activity model, like sample_app.Tweet"
        )
        parser.add_argument("--since", type=instant, help="ISO time or duration ago (30d)")
        parser.add_argument(
            "--batch-size", type=count(1, 100_000), default=500, help="rows per transaction"
        )
        parser.add_argument("--after-pk", help="resume after this primary key")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be queued, queue nothing"
        )
        parser.add_argument(
            "--api",
            choices=("v2", "v3"),
            help="queue the events for this Stream API only (fill a new v3 app: --api v3); "
            "default: every API of FEED_OUTBOX_STREAM_API",
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        model = options["model"]
        after_pk = options["after_pk"]
        if after_pk is not None:
            try:
                after_pk = primary_key(model, after_pk)
            except argparse.ArgumentTypeError as exc:
                raise CommandError(f"--after-pk {exc}", returncode=USAGE) from None
        using = options["database"] or router.db_for_write(model)
        rows = rows_to_backfill(model, using, options["since"])
        if after_pk is not None:
            rows = rows.filter(pk__gt=after_pk)
        bar = self.progress(rows.count(), f"backfill {model._meta.label}")

        def on_chunk(report: BackfillReport) -> None:
            bar.advance(report.scanned - bar.done)

        report = backfill(
            model,
            since=options["since"],
            batch_size=options["batch_size"],
            using=using,
            dry_run=options["dry_run"],
            after_pk=after_pk,
            on_chunk=on_chunk,
            api=options.get("api"),
        )
        bar.finish()
        verb = "would queue" if options["dry_run"] else "queued"
        self.stdout.write(
            f"scanned {report.scanned:,} rows; {verb} {report.queued:,} add events; "
            f"{report.already_in_outbox:,} already in the outbox, "
            f"{report.unpublished:,} not published; last pk {report.last_pk}"
        )
        if report.queued:
            self.stdout.write(f"estimated drain: {estimate_drain(report.planned).describe()}")
