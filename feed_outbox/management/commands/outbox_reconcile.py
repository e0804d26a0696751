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
from feed_outbox.reconcile import FOLLOW_RELATION, reconcile
from feed_outbox.repair import repair
from feed_outbox.stream_errors import refuses_credentials


class Command(OperationsCommand):
    help = (
        "Read every feed readers read from Stream (paginated) and compare it with what the\n"
        "database says it should hold: author feeds (activity_feeds()), `to` targets such as\n"
        "notification feeds (activity_notify), and the timelines and grouped timelines of\n"
        "every follow (the newest follow/unfollow outbox event of each pair), whose follow\n"
        "relations are read too. Reports drift:\n"
        "  missing  required by the database, absent (in a timeline: committed after the\n"
        "           follow; older ones were copied only up to activity_copy_limit)\n"
        "  phantom  present, but deleted, unpublished, not listed there, or from a feed this\n"
        "           one does not follow\n"
        "  stale    present with other data or another time, or more than once\n"
        "and follow relations missing or phantom on Stream. Keys and follow pairs with a\n"
        "pending outbox event are skipped: the relay is still on them. With --fix, queue the\n"
        "events that repair the drift; run again once the relay has drained to confirm 0.\n"
        "Scope with --feed timeline:42 or --model (which leaves follow relations alone)."
    )
    problems = "drift found (with --fix: and repairs queued)"

    def add_arguments(self, parser):
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--feed", help="only this feed (any group), like timeline:42")
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
        follows = report.counts(FOLLOW_RELATION)
        self.stdout.write(
            f"{report.feeds:,} feeds read, {report.expected:,} activities expected, "
            f"{report.found:,} found, {report.pending:,} skipped (pending), "
            f"{report.allowed:,} allowed but not required"
        )
        self.stdout.write(
            f"drift: {counts['missing']:,} missing, {counts['phantom']:,} phantom, "
            f"{counts['stale']:,} stale"
        )
        self.stdout.write(
            f"follows: {report.follows_checked:,} sources read, {follows['missing']:,} missing, "
            f"{follows['phantom']:,} phantom"
        )
        if report.unverified or report.incomplete_following:
            self.stdout.write(
                f"not verifiable: {report.unverified:,} activities absent from "
                f"{report.truncated_groups:,} groups Stream returned in part, "
                f"{report.incomplete_following:,} sources following more than Stream lists"
            )
        for item in report.drift[: max(0, options["show"])]:
            detail = f" ({item.detail})" if item.detail else ""
            what = f"follow {item.target}" if item.subject == FOLLOW_RELATION else item.foreign_id
            self.stdout.write(f"  {item.kind:<8} {item.feed:<24} {what}{detail}")
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
                f"{len(report.drift):,} drifted activities or follows, "
                f"{len(report.invalid):,} invalid",
                returncode=PROBLEMS,
            )
        self.stdout.write("feeds are consistent with the database")
