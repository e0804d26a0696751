"""outbox_purge: delete delivered events older than FEED_OUTBOX_RETENTION, in small batches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from feed_outbox.management.arguments import count, duration
from feed_outbox.management.base import OperationsCommand, describe
from feed_outbox.operations.retention import PurgePlan, purge, purgeable, retention


class Command(OperationsCommand):
    help = (
        "Delete delivered outbox events older than FEED_OUTBOX_RETENTION (default 7 days),\n"
        "a batch per short transaction, skipping rows a relay holds. Pending events and dead\n"
        "letters are kept unless --include-pending / --include-dead name them (they then go\n"
        "by their creation time). Safe to run twice, and from cron."
    )
    problems = "not used by this command"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=duration,
            default=None,
            help="age limit like 36h or 14d (default: FEED_OUTBOX_RETENTION)",
        )
        parser.add_argument(
            "--include-dead", action="store_true", help="also delete old dead letters"
        )
        parser.add_argument(
            "--include-pending",
            action="store_true",
            help="also delete old pending events: they will never be published",
        )
        parser.add_argument("--batch-size", type=count(1, 100_000), default=1000)
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        plan = PurgePlan(
            older_than=options["older_than"] or retention(),
            include_dead=options["include_dead"],
            include_pending=options["include_pending"],
        )
        using = options["database"]
        candidates = purgeable(plan, using).count()
        what = "delivered" + (", dead" if plan.include_dead else "")
        what += ", pending" if plan.include_pending else ""
        self.stdout.write(
            f"{candidates:,} {what} events older than {describe(plan.older_than)} "
            f"(before {plan.cutoff():%Y-%m-%d %H:%M:%S})"
        )
        if options["dry_run"]:
            self.stdout.write("dry run: nothing deleted")
            return
        if not candidates:
            return
        bar = self.progress(candidates, "purge")
        deleted = purge(plan, using, options["batch_size"], on_batch=bar.advance)
        bar.finish()
        self.stdout.write(f"deleted {deleted:,} events")
