"""outbox_reconcile: compare the database with what Stream's feeds hold; --fix queues repairs.

``--api v3`` reads Feeds v3 instead of v2; ``--compare v2 v3`` is the migration's shadow read
(feed_outbox.operations.shadow_read): one API against the other, the database naming the feeds only.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import CommandError, CommandParser
from stream.exceptions import StreamApiException

from feed_outbox import conf
from feed_outbox.management.arguments import activity_model, count, feed_id, known_feed_group
from feed_outbox.management.base import PROBLEMS, USAGE, OperationsCommand
from feed_outbox.operations.reconcile import FOLLOW_RELATION, reconcile
from feed_outbox.operations.repair import repair
from feed_outbox.operations.shadow_read import FOLLOW_RELATION as SHADOW_FOLLOW
from feed_outbox.operations.shadow_read import compare_apis
from feed_outbox.stream_api.errors import refuses_credentials


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
        "Scope with --feed timeline:42 or --model (which leaves follow relations alone).\n"
        "--api v2|v3 picks the Stream API read and repaired (default: v3 when\n"
        "FEED_OUTBOX_STREAM_API is v3 alone, else v2); --compare v2 v3 compares the two APIs\n"
        "feed by feed (activities by foreign_id + time, follow relations) instead."
    )
    problems = "drift found (with --fix: and repairs queued)"

    def add_arguments(self, parser: CommandParser) -> None:
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--feed", type=feed_id, help="only this feed (any group), like timeline:42"
        )
        scope.add_argument(
            "--model", type=activity_model, help="only this Activity model, like sample_app.Tweet"
        )
        parser.add_argument("--fix", action="store_true", help="queue the repairing events")
        parser.add_argument(
            "--dry-run", action="store_true", help="with --fix: count the repairs, queue nothing"
        )
        parser.add_argument("--api", choices=("v2", "v3"), help="the Stream API to read and repair")
        parser.add_argument(
            "--compare",
            nargs=2,
            metavar=("API", "API"),
            choices=("v2", "v3"),
            help="shadow read: compare two Stream APIs' feeds, like --compare v2 v3",
        )
        parser.add_argument(
            "--page-size", type=count(1, 100), default=100, help="activities per read (at most 100)"
        )
        parser.add_argument(
            "--show",
            type=count(0, 1_000_000),
            default=50,
            help="list at most this many drifted activities",
        )
        self.add_database_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        model = options["model"]
        feed = options["feed"]
        if feed is not None:
            try:
                known_feed_group(feed, options["database"])
            except argparse.ArgumentTypeError as exc:
                raise CommandError(f"--feed {exc}", returncode=USAGE) from None
        page_size = options["page_size"]
        if options["compare"]:
            self._check_compare(options)
            return self._compare(options, page_size)
        api = options["api"] or ("v3" if conf.stream_apis() == ("v3",) else "v2")
        bar = None

        def on_feed(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = self.progress(total, "feeds")
            bar.advance(done - bar.done)

        try:
            report = reconcile(feed, model, options["database"], page_size, on_feed, api)
        except StreamApiException as exc:
            if not refuses_credentials(exc):
                raise
            raise CommandError(f"Stream refused the credentials: {exc}", returncode=USAGE) from exc
        if bar is not None:
            bar.finish()
        counts = report.counts()
        follows = report.counts(FOLLOW_RELATION)
        self.stdout.write(
            f"{report.feeds:,} {api} feeds read, {report.expected:,} activities expected, "
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
            queued = repair(report.drift, options["database"], options["dry_run"], api)
            verb = "would queue" if options["dry_run"] else "queued"
            self.stdout.write(f"{verb} {queued:,} repairing events for {api}")
        if not report.consistent:
            raise CommandError(
                f"{len(report.drift):,} drifted activities or follows, "
                f"{len(report.invalid):,} invalid",
                returncode=PROBLEMS,
            )
        self.stdout.write("feeds are consistent with the database")

    def _check_compare(self, options: dict[str, Any]) -> None:
        first, second = options["compare"]
        if first == second:
            raise CommandError("--compare needs two different APIs", returncode=USAGE)
        clashing = [f"--{n}" for n in ("api", "model", "fix") if options[n]]
        if clashing:
            raise CommandError(
                f"--compare reads Stream only: {', '.join(clashing)} do not apply",
                returncode=USAGE,
            )

    def _compare(self, options: dict[str, Any], page_size: int) -> None:
        first, second = options["compare"]
        bar = self.progress(None, "feeds") if options["feed"] is None else None

        def on_feed(done: int) -> None:
            if bar is not None:
                bar.advance(done - bar.done)

        report = compare_apis(
            first, second, options["feed"], options["database"], page_size, on_feed
        )
        if bar is not None:
            bar.finish()
        activities, follows = report.counts(), report.counts(SHADOW_FOLLOW)
        self.stdout.write(
            f"{report.feeds:,} feeds compared, {report.activities:,} activities read, "
            f"{report.follows_checked:,} follow sources, {report.pending:,} skipped (pending)"
        )
        self.stdout.write(
            f"activities only in {first}: {activities[first]:,}, "
            f"only in {second}: {activities[second]:,}"
        )
        self.stdout.write(
            f"follows only in {first}: {follows[first]:,}, only in {second}: {follows[second]:,}"
        )
        if report.truncated_groups or report.incomplete:
            self.stdout.write(
                f"not verifiable: {report.truncated_groups:,} groups returned in part, "
                f"{report.incomplete:,} sources following more than an API lists"
            )
        for item in report.differences[: max(0, options["show"])]:
            what = f"follow {item.what}" if item.subject == SHADOW_FOLLOW else item.what
            times = f" (x{item.count})" if item.count > 1 else ""
            self.stdout.write(f"  only in {item.only_in}  {item.feed:<24} {what}{times}")
        if len(report.differences) > options["show"]:
            self.stdout.write(f"  ... and {len(report.differences) - options['show']:,} more")
        if not report.identical:
            raise CommandError(
                f"{len(report.differences):,} differences between {first} and {second}",
                returncode=PROBLEMS,
            )
        self.stdout.write(f"{first} and {second} hold the same feeds")
