"""outbox_adopt_stream_django: take over what stream-django published (see feed_outbox.operations.adoption)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from stream.exceptions import StreamApiException

from feed_outbox.management.arguments import activity_model, count
from feed_outbox.management.base import (
    PROBLEMS,
    USAGE,
    OperationsCommand,
)
from feed_outbox.operations.adoption import Adoption
from feed_outbox.operations.current_state import activity_models
from feed_outbox.operations.progress import ProgressBar
from feed_outbox.stream_api.errors import refuses_credentials
from feed_outbox.stream_api.rate_limits import estimate_drain


class Command(OperationsCommand):
    help = (
        "Run once after switching a project's imports from stream_django to feed_outbox (and\n"
        "migrating), before or while the relay runs. Queues through the outbox:\n"
        "  follows  a follow event (activity_copy_limit=0) for every relation a user's news\n"
        "           feed has on Stream and the outbox does not know (stream-django's follows)\n"
        "  removes  by activity id, of each activity in an author feed under stream-django's\n"
        "           identity (foreign_id = activity_object, its verb and time) or of a row that\n"
        "           no longer exists; its notification and timeline copies go with it\n"
        "  adds     under feed-outbox's identity, for each published row without outbox events\n"
        "Reads every feed page by page within Stream's read limits. Restartable: a second run\n"
        "queues nothing already queued. Then run the relay and `outbox_reconcile` (exit 0)."
    )
    problems = "rows whose activity cannot be built (listed on stderr)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "models",
            nargs="*",
            type=activity_model,
            help="Activity models, like app.Tweet (default: every one)",
        )
        parser.add_argument("--dry-run", action="store_true", help="read and count, queue nothing")
        parser.add_argument(
            "--page-size", type=count(1, 100), default=100, help="activities per read (at most 100)"
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = list(options["models"]) or activity_models()
        if not chosen:
            raise CommandError("no Activity models are installed", returncode=USAGE)
        bars: dict[str, ProgressBar] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            bar = bars.get(phase)
            if bar is None:
                bar = bars[phase] = self.progress(total, phase)
            bar.advance(done - bar.done)
            if done >= total:
                bar.finish()

        adoption = Adoption(
            chosen,
            using=options["database"],
            dry_run=options["dry_run"],
            page_size=options["page_size"],
            on_progress=on_progress,
        )
        try:
            report = adoption.run()
        except StreamApiException as exc:
            if not refuses_credentials(exc):
                raise
            raise CommandError(f"Stream refused the credentials: {exc}", returncode=USAGE) from exc
        verb = "would queue" if report.dry_run else "queued"
        self.stdout.write(
            f"follows: {report.follows_seen:,} on Stream, {verb} {report.follows_recorded:,} "
            "follow events for those the outbox did not know"
        )
        self.stdout.write(
            f"activities: {report.feeds_read:,} author feeds read, {report.activities_seen:,} "
            f"activities of the models, {report.kept:,} already under feed-outbox's identity; "
            f"{verb} {report.rekeyed + report.orphaned:,} removes ({report.rekeyed:,} under "
            f"stream-django's identity, {report.orphaned:,} orphaned), "
            f"{report.removal_pending:,} removes still pending from an earlier run"
        )
        self.stdout.write(
            f"adds: {verb} {report.added:,}, {report.already_in_outbox:,} rows already in the "
            "outbox"
        )
        if report.planned:
            self.stdout.write(f"estimated drain: {estimate_drain(report.planned).describe()}")
        for problem in report.invalid:
            self.stderr.write(f"cannot build activity: {problem}")
        if report.invalid:
            raise CommandError(
                f"{len(report.invalid):,} rows could not be adopted", returncode=PROBLEMS
            )
        self.stdout.write("next: run the relay, then `manage.py outbox_reconcile` (exit 0)")
