"""Pages of a switched project show what the real stream-django 1.8 wrote before the switch,
read the way the surveyed apps read them (Enrich subclass given the viewer, fetch hook,
``mark_seen``), before any adoption step has run.

The chirp project of test_switch_from_stream_django publishes with stream-django in its own
process; tests/migration/reads_after_switch.py reads with feed_outbox in another.
"""

from __future__ import annotations

import json

from feed_outbox.testing import start_emulator
from tests.migration.test_switch_from_stream_django import (
    KEY,
    SECRET,
    Project,
    scratch_database,
)
from tests.migration.test_switch_from_stream_django import pytestmark as switch_marks

pytestmark = list(switch_marks)


def test_pages_enrich_and_mark_seen_what_stream_django_wrote():
    emulator = start_emulator(KEY, SECRET)
    try:
        with scratch_database("migration_reads") as url:
            project = Project(url, emulator.url, use_tz=True, time_zone="UTC")
            project.manage("stream_django", "migrate", "-v0")
            project.run("stream_django", "-m", "tests.migration.scenario", "publish")
            project.manage("feed_outbox", "migrate", "-v0")

            shown = json.loads(
                project.run("feed_outbox", "-m", "tests.migration.reads_after_switch").stdout
            )
    finally:
        emulator.stop()

    def row(verb, actor, text, liked_by_me):
        return {
            "verb": verb,
            "actor": actor,
            "object": text,
            "liked_by_me": liked_by_me,
            "enriched": True,
        }

    # Bob looks at alice's profile: her two tweets (his like of the first one known to the
    # hook), her like of his tweet and her two photos.
    assert shown["profile"] == sorted(
        [
            row("tweet", "alice", "first", True),
            row("tweet", "alice", "second", False),
            row("like", "alice", "bob's", False),
            row("photo", "alice", "sunset", None),
            row("photo", "alice", "harbour", None),
        ],
        key=json.dumps,
    )
    # Bob's timeline follows alice (stream-django's follow_user): the same five.
    assert shown["timeline"] == shown["profile"]
    # Alice's notifications: bob's and carol's likes of her first tweet, one group, then seen.
    assert shown["notifications"] == [
        {
            "verb": "like",
            "enriched": True,
            "activities": sorted(
                [row("like", "bob", "first", False), row("like", "carol", "first", False)],
                key=json.dumps,
            ),
        }
    ]
    assert shown["unseen_after"] == 0
