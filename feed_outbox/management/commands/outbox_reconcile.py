"""outbox_reconcile: compare the database with what Stream's feeds hold; --fix queues repairs."""

from __future__ import annotations

from django.core.management.base import CommandError
from stream.exceptions import StreamApiException

from feed_outbox.management.operations import (
    PROBLEMS,
    USAGE,
    OperationsCommand,
    activity_model_arg,
)
from feed_outbox.reconcile import reconcile, repair
from feed_outbox.stream_errors import refuses_credentials


class Command(OperationsCommand):
    help = (
        "Read the author feeds from Stream (paginated) and compare them with what the\n"
        "database says they should hold: every instance of an Activity model whose\n"
        "activity_should_publish() is true, in its author feed. Reports drift:\n"
        "  missing  published in the database, absent from the feed\n"
        "  phantom  in the feed, but deleted, unpublished, or belonging to another feed\n"
        "  stale    in the feed with other data or another time, or more than once\n"
        "Activities with a pending outbox event are skipped: the relay is still on them.\n"
        "With --fix, queue the events that repair the drift (removes before adds); run again\n"
        "once the relay has drained to confirm 0. Scope with --feed user:42 or --model."
    )
    problems = "drift found (with --fix: and repairs queued)"

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--feed", help="only this author feed, like user:42")
        scope.add_argument("--model", help="only this Activity model, like sample_app.Tweet")
        parser.add_argument("--fix", action="store_true", help="queue the repairing events")
        parser.add_argument(
            "--dry-run", action="store_true", help="with --fix: count the repairs, queue nothing"
        )
        parser.add_argument("--page-size", type=int, default=100, help="activities per read")
        parser.add_argument(
            "--show", type=int, default=50, help="list at most this many drifted activities"
        )
        self.add_database_argument(parser)

    def handle(self, *args, **options):
        model = activity_model_arg(options["model"]) if options["model"] else None
        feed = options["feed"]
        if feed is not None and feed.count(":") != 1:
            raise CommandError(f"--feed {feed!r} is not a feed id like user:42", returncode=USAGE)
        page_size = min(max(1, options["page_size"]), 100)
        bar = None

        def on_feed(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = self.progress(total, "feeds")
            bar.advance(done - bar.done)

        try:
            report = reconcile(feed, model, options["database"], page_size, on_feed)
        except StreamApiException as exc:
            if not refuses_credentials(exc):
                raise
            raise CommandError(f"Stream refused the credentials: {exc}", returncode=USAGE) from exc
        if bar is not None:
            bar.finish()
        counts = report.counts()
        self.stdout.write(
            f"{report.feeds:,} feeds read, {report.expected:,} activities expected, "
            f"{report.found:,} found, {report.pending:,} skipped (pending)"
        )
        self.stdout.write(
            f"drift: {counts['missing']:,} missing, {counts['phantom']:,} phantom, "
            f"{counts['stale']:,} stale"
        )
        for item in report.drift[: max(0, options["show"])]:
            detail = f" ({item.detail})" if item.detail else ""
            self.stdout.write(f"  {item.kind:<8} {item.feed:<20} {item.foreign_id}{detail}")
        if len(report.drift) > options["show"]:
            self.stdout.write(f"  ... and {len(report.drift) - options['show']:,} more")
        for problem in report.invalid:
            self.stderr.write(f"cannot build activity: {problem}")
        if options["fix"] and report.drift:
            queued = repair(report.drift, options["database"], dry_run=options["dry_run"])
            verb = "would queue" if options["dry_run"] else "queued"
            self.stdout.write(f"{verb} {queued:,} repairing events")
        if not report.consistent:
            raise CommandError(
                f"{len(report.drift):,} drifted activities, {len(report.invalid):,} invalid",
                returncode=PROBLEMS,
            )
        self.stdout.write("feeds are consistent with the database")
