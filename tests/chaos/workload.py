"""A writer process of the chaos workload: random transactions through the sample app's models.

Run as ``python -m tests.chaos.workload --seed S --writer N ...`` with DATABASE_URL and
DJANGO_SETTINGS_MODULE set; prints one JSON line of counts when done. Each transaction is a
create, update, delete, follow, unfollow or a bulk mix of them, and a share is rolled back.
Follows sometimes copy nothing (``activity_copy_limit=0``) and unfollows sometimes keep the
history; one prolific author (``--prolific``, posted by the writer that has it among its
authors) passes the 100 activities a follow copies, in bursts spread over the run.
A writer whose connection is terminated treats the transaction as failed and reconnects:
what committed is read back from the database by the checker, never from the writer.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import sys
import time

MICROSECOND = datetime.timedelta(microseconds=1)

OPS = (
    "create",
    "create",
    "update",
    "update",
    "delete",
    "follow",
    "unfollow",
    "react",
    "react",
    "unreact",
    "bulk_create",
    "bulk_update",
    "bulk",
)


class Rollback(Exception):
    """Raised inside a transaction the workload decided to roll back."""


def skew_clock(seconds: float) -> None:
    """Shift this process's Django clock before models bind ``timezone.now`` as a default."""
    if not seconds:
        return
    from django.utils import timezone

    real_now = timezone.now
    offset = datetime.timedelta(seconds=seconds)

    def now():
        return real_now() + offset

    timezone.now = now


class Writer:
    def __init__(self, args: argparse.Namespace) -> None:
        from django.contrib.auth import get_user_model

        self.rng = random.Random(f"{args.seed}:{args.writer}")
        self.args = args
        self.name = f"w{args.writer}"
        self.authors = [int(u) for u in args.authors.split(",")]
        self.users = [int(u) for u in args.users.split(",")]
        self.user_model = get_user_model()
        self.counter = 0
        self.prolific = args.prolific
        self.counts = {"committed": 0, "rolled_back": 0, "db_errors": 0, "actions": 0}

    def text(self) -> str:
        self.counter += 1
        return f"{self.name}-{self.counter}-{self.rng.randrange(10**6)}"

    def user(self, pk: int):
        return self.user_model(pk=pk)

    # Actions: each a change a user of the sample app can make.
    def create(self) -> None:
        from sample_app.models import Tweet

        author = self.rng.choice(self.authors)
        if Tweet.objects.filter(user_id=author).count() < self.max_tweets(author):
            Tweet.objects.create(user_id=author, text=self.text())

    def _some_tweet(self):
        from sample_app.models import Tweet

        # Only the run's users' tweets: a scenario's planted users keep theirs as planted.
        ids = list(Tweet.objects.filter(user_id__in=self.users).values_list("id", flat=True)[:2000])
        if not ids:
            return None
        return Tweet.objects.filter(pk=self.rng.choice(ids)).first()

    def update(self) -> None:
        tweet = self._some_tweet()
        if tweet is not None:
            tweet.text = self.text()
            tweet.save()

    def delete(self) -> None:
        tweet = self._some_tweet()
        if tweet is not None:
            tweet.delete()

    def _target(self, user: int) -> int:
        # The prolific author is followed often, so followers' timelines pass the copy limit.
        if self.prolific and self.prolific != user and self.rng.random() < 0.35:
            return self.prolific
        return self.rng.choice([u for u in self.users if u != user])

    def follow(self) -> None:
        """Follow as the sample app does; a third of follows copy none of the target's past
        (``activity_copy_limit=0``), which is feed_manager's option, not the app's."""
        from django.db import transaction

        from feed_outbox.feed_manager import feed_manager
        from sample_app.models import Follow

        user = self.rng.choice(self.authors)
        target = self._target(user)
        if self.rng.random() < 2 / 3:
            Follow.objects.follow(self.user(user), self.user(target))
            return
        with transaction.atomic():  # Follow.objects.follow, with the copy limit
            _, created = Follow.objects.get_or_create(user_id=user, target_id=target)
            if created:
                feed_manager.follow_user(user, target, activity_copy_limit=0)

    def unfollow(self) -> None:
        """Unfollow as the sample app does; a third keep the copies (``keep_history=True``)."""
        from django.db import transaction

        from feed_outbox.feed_manager import feed_manager
        from sample_app.models import Follow

        user = self.rng.choice(self.authors)
        targets = list(Follow.objects.filter(user_id=user).values_list("target_id", flat=True))
        if not targets:
            return
        target = self.rng.choice(targets)
        if self.rng.random() < 2 / 3:
            Follow.objects.unfollow(self.user(user), self.user(target))
            return
        with transaction.atomic():  # Follow.objects.unfollow, keeping the history
            deleted, _ = Follow.objects.filter(user_id=user, target_id=target).delete()
            if deleted:
                feed_manager.unfollow_user(user, target, keep_history=True)

    def react(self) -> None:
        """Like or retweet a tweet (notifies its author)."""
        from sample_app.models import Like, Retweet

        tweet = self._some_tweet()
        user = self.rng.choice(self.authors)
        # Reactions are capped like tweets, to keep the run's size bounded.
        reactions = Like.objects.filter(user_id=user).count()
        reactions += Retweet.objects.filter(user_id=user).count()
        if tweet is not None and reactions < self.args.max_reactions:
            model = self.rng.choice((Like, Retweet))
            model.objects.get_or_create(user_id=user, tweet=tweet)

    def unreact(self) -> None:
        from sample_app.models import Like, Retweet

        model = self.rng.choice((Like, Retweet))
        ids = list(model.objects.filter(user_id__in=self.authors).values_list("id", flat=True))
        if ids:
            reaction = model.objects.filter(pk=self.rng.choice(ids)).first()
            if reaction is not None:
                reaction.delete()

    def bulk_create(self) -> None:
        """``bulk_create`` sends no signals: the rows are published with ``publish()``."""
        from feed_outbox.publishing import publish
        from sample_app.models import Tweet

        author = self.rng.choice(self.authors)
        room = self.max_tweets(author) - Tweet.objects.filter(user_id=author).count()
        if room > 0:
            tweets = [Tweet(user_id=author, text=self.text()) for _ in range(min(room, 5))]
            publish(Tweet.objects.bulk_create(tweets), "add")

    def bulk_update(self) -> None:
        """``QuerySet.update`` of several tweets, published as updates in the same transaction."""
        from feed_outbox.publishing import publish
        from sample_app.models import Tweet

        ids = list(Tweet.objects.filter(user_id__in=self.users).values_list("id", flat=True)[:2000])
        chosen = self.rng.sample(ids, min(len(ids), self.rng.randint(2, 5)))
        rows = Tweet.objects.filter(pk__in=chosen)
        if rows.update(text=self.text()):
            publish(list(rows.order_by("pk")), "update")

    def prolific_burst(self) -> None:
        """The prolific author posts a burst (bulk_create, published with ``publish()``): over
        the run it passes the 100 activities a follow copies. Each tweet has its own
        microsecond, so "the newest 100" is never a tie."""
        from django.utils import timezone

        from feed_outbox.publishing import publish
        from sample_app.models import Tweet

        room = self.args.prolific_tweets - Tweet.objects.filter(user_id=self.prolific).count()
        now = timezone.now()
        tweets = [
            Tweet(user_id=self.prolific, text=self.text(), created_at=now + i * MICROSECOND)
            for i in range(min(room, self.args.prolific_burst))
        ]
        if tweets:
            publish(Tweet.objects.bulk_create(tweets), "add")

    def max_tweets(self, author: int) -> int:
        return self.args.prolific_tweets if author == self.prolific else self.args.max_tweets

    def bulk(self) -> None:
        """Several actions in one transaction."""
        for _ in range(self.rng.randint(2, 6)):
            getattr(self, self.rng.choice(OPS[:-1]))()

    def transaction(self, op: str) -> None:
        from django.db import DatabaseError, connection, transaction

        rollback = self.rng.random() < self.args.rollback_rate
        try:
            with transaction.atomic():
                getattr(self, op)()
                self.counts["actions"] += 1
                if rollback:
                    raise Rollback
        except Rollback:
            self.counts["rolled_back"] += 1
        except DatabaseError:
            # Terminated backend, deadlock, serialization: the outcome is whatever committed.
            self.counts["db_errors"] += 1
            connection.close()
        else:
            self.counts["committed"] += 1

    def run(self) -> dict:
        posts_prolific = self.prolific in self.authors
        for i in range(self.args.transactions):
            if posts_prolific and i % self.args.prolific_every == 0:
                self.transaction("prolific_burst")
            else:
                self.transaction(self.rng.choice(OPS))
            if self.args.pause:
                time.sleep(self.rng.uniform(0, self.args.pause))
        return self.counts


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.workload")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--writer", type=int, required=True)
    parser.add_argument("--authors", required=True, help="user ids this writer tweets as")
    parser.add_argument("--users", required=True, help="every user id of the run")
    parser.add_argument("--transactions", type=int, default=100)
    parser.add_argument("--rollback-rate", type=float, default=0.1)
    parser.add_argument("--max-tweets", type=int, default=60)
    parser.add_argument("--max-reactions", type=int, default=30)
    parser.add_argument("--prolific", type=int, default=0, help="a user id that posts a lot")
    parser.add_argument("--prolific-tweets", type=int, default=160)
    parser.add_argument("--prolific-burst", type=int, default=20, help="tweets per burst")
    parser.add_argument("--prolific-every", type=int, default=5, help="a burst every N txns")
    parser.add_argument("--pause", type=float, default=0.0, help="max seconds between txns")
    parser.add_argument("--clock-skew", type=float, default=0.0, help="seconds added to now()")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.chaos.settings")
    skew_clock(args.clock_skew)
    import django

    django.setup()
    counts = Writer(args).run()
    print(json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
