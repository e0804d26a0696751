"""outbox_setup_v3: create or update the Feeds v3 feed groups the settings name, with the
aggregation and notification settings that reproduce their v2 types (feed_outbox.operations.v3_setup)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from feed_outbox import conf
from feed_outbox.client import build_v3_client
from feed_outbox.management.base import PROBLEMS, USAGE, OperationsCommand, V3ApiException
from feed_outbox.operations.v3_setup import (
    CREATE,
    UNCHANGED,
    UPDATE,
    GroupPlan,
    SetupError,
    apply,
    plan,
)
from feed_outbox.stream_api.v3_feed_groups import (
    FeedGroupSettingError,
    WantedGroup,
    wanted_groups,
)


class Command(OperationsCommand):
    help = (
        "Create or update, on Stream Feeds v3, the feed groups the settings name: the user\n"
        "feed (flat), the news feeds (flat, or aggregated when their name says 'aggregated')\n"
        "and the notification feed, or as FEED_OUTBOX_V3_FEED_GROUPS types them. Aggregated\n"
        "and notification groups get v2's aggregation format in v3 terms ('verb' is 'type');\n"
        "notification groups track seen and read. Only those settings are compared and set;\n"
        "every other setting of a group is kept. Safe to run twice: the second run changes\n"
        "nothing. --dry-run prints the plan and changes nothing."
    )
    problems = "with --dry-run: groups to create or update; else: Stream refused a group's call"
    needs_outbox = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        missing = conf.missing_credentials("v3")
        if missing:
            raise CommandError(
                f"Stream v3 credentials are not set: define {' and '.join(missing)}",
                returncode=USAGE,
            )
        try:
            groups = wanted_groups()
        except FeedGroupSettingError as exc:
            raise CommandError(str(exc), returncode=USAGE) from exc
        client = build_v3_client()
        try:
            self._set_up(client, groups, options["dry_run"])
        finally:
            # The SDK's Stream.close() closes its own httpx client, not its feeds' (getstream
            # base.py, stream.py): both, so no socket outlives the command.
            client.feeds.close()
            client.close()

    def _set_up(self, client: Any, groups: list[WantedGroup], dry_run: bool) -> None:
        try:
            steps = plan(client, groups)
            if dry_run:
                for step in steps:
                    self.stdout.write(step.describe())
                pending = [s for s in steps if s.action != UNCHANGED]
                self.stdout.write(f"dry run: nothing changed ({_counts(steps)})")
                if pending:
                    raise CommandError(
                        f"feed groups to create or update: {len(pending)}", returncode=PROBLEMS
                    )
                return
            done = apply(client, steps, on_done=lambda step: self.stdout.write(step.describe()))
        except SetupError as exc:
            raise CommandError(str(exc), returncode=PROBLEMS) from exc
        except V3ApiException as exc:
            if getattr(exc, "status_code", None) != 401:  # v3 refuses credentials with 401
                raise
            raise CommandError(
                f"Stream v3 refused the credentials: {getattr(exc, 'message', '')} (check "
                "STREAM_V3_API_KEY / STREAM_V3_API_SECRET, else STREAM_API_KEY / "
                "STREAM_API_SECRET)",
                returncode=USAGE,
            ) from exc
        self.stdout.write(f"done: {_counts(done)}")


def _counts(steps: list[GroupPlan]) -> str:
    return ", ".join(
        f"{sum(1 for s in steps if s.action == action)} {action}"
        for action in (CREATE, UPDATE, UNCHANGED)
    )
