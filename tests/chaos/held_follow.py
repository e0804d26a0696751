"""The held follow (causal order across keys): A follows B, the follow's outbox rows are held as by a relay that
died holding its batch, and B posts 150 tweets, each in its own later transaction, while the
relays drain. Stream copies only the newest 100 activities when a follow lands, so a relay
that delivers the tweets first and the follow when the lease ends leaves 50 of B's tweets —
committed after A's follow — out of A's timelines for good.

How the rows are held: leased with SQL under a fake owner, in the very transaction that
commits the follow, for HOLD_SECONDS, with the attempt counted, exactly what a relay's claim
writes (relay/queries.py). A real relay that claimed the batch and was then SIGKILLed would
leave the same row behind, but which relay claims which rows is up to the claim race: the
follow could as well be delivered by the other relay at once, and the scenario would then
test nothing. Leasing in the committing transaction means no relay ever sees the rows
unleased. The lease's end is from the database clock, which is what the claim compares with.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from tests.chaos.reads import read_flat, read_groups

HOLD_SECONDS = 6.0
TWEETS = 150
OWNER = "chaos-dead-relay"


class HeldFollow:
    """``plant`` is the scenario's before_writers, ``probe`` reads A's news feeds afterwards."""

    def __init__(self) -> None:
        self.follower = self.target = 0

    def plant(self, users: list[int]) -> dict[str, int]:
        from django.db import transaction
        from django.db.models import F
        from django.db.models.functions import Now

        from feed_outbox.conf import news_feed_slugs
        from feed_outbox.models import OutboxEvent
        from sample_app.models import Follow, Tweet
        from tests.factories import UserFactory

        # Two users of their own: the writers never act on them (nor on B's tweets).
        follower, target = UserFactory(), UserFactory()
        self.follower, self.target = follower.pk, target.pk
        keys = [
            f"follow:{slug}:{follower.pk}>user:{target.pk}" for slug in news_feed_slugs().values()
        ]
        with transaction.atomic():
            Follow.objects.follow(follower, target)
            held = OutboxEvent.objects.filter(ordering_key__in=keys, status="pending").update(
                lease_owner=OWNER,
                lease_token=uuid.uuid4(),
                lease_expires_at=Now() + datetime.timedelta(seconds=HOLD_SECONDS),
                attempts=F("attempts") + 1,
            )
        for i in range(TWEETS):
            with transaction.atomic():  # each in its own later transaction
                Tweet.objects.create(user=target, text=f"held-follow tweet {i}")
        return {"held_follow_rows": held}

    def probe(self, client: Any) -> dict[str, int]:
        """How many of B's tweets A's timeline and grouped timeline show, read as a reader."""
        from sample_app.models import Tweet

        tweets = {
            f"sample_app.Tweet:{pk}"
            for pk in Tweet.objects.filter(user_id=self.target).values_list("pk", flat=True)
        }
        timeline = {a["foreign_id"] for a in read_flat(client, f"timeline:{self.follower}")}
        grouped = {
            a["foreign_id"]
            for group in read_groups(client, f"timeline_aggregated:{self.follower}")
            for a in group["activities"]
        }
        return {
            "b_tweets": len(tweets),
            "in_a_timeline": len(tweets & timeline),
            "in_a_timeline_aggregated": len(tweets & grouped),
        }
