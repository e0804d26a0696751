"""A writer process of the chaos workload: random transactions through the sample app's models.

Run as ``python -m tests.chaos.workload --seed S --writer N ...`` with DATABASE_URL and
DJANGO_SETTINGS_MODULE set; prints one JSON line of counts when done. Each transaction is a
create, update, delete, follow, unfollow or a bulk mix of them, and a share is rolled back.
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
        if Tweet.objects.filter(user_id=author).count() < self.args.max_tweets:
            Tweet.objects.create(user_id=author, text=self.text())

    def _some_tweet(self):
        from sample_app.models import Tweet

        ids = list(Tweet.objects.values_list("id", flat=True)[:2000])
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

    def follow(self) -> None:
        from sample_app.models import Follow

        user = self.rng.choice(self.authors)
        target = self.rng.choice([u for u in self.users if u != user])
        Follow.objects.follow(self.user(user), self.user(target))

    def unfollow(self) -> None:
        from sample_app.models import Follow

        user = self.rng.choice(self.authors)
        targets = list(Follow.objects.filter(user_id=user).values_list("target_id", flat=True))
        if targets:
            Follow.objects.unfollow(self.user(user), self.user(self.rng.choice(targets)))

    def react(self) -> None:
        """Like or retweet a tweet (notifies its author)."""
        from sample_app.models import Like, Retweet

        tweet = self._some_tweet()
        user = self.rng.choice(self.authors)
        # Keep every user feed under the 100 activities a follow copies (tweets are capped too).
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
        room = self.args.max_tweets - Tweet.objects.filter(user_id=author).count()
        if room > 0:
            tweets = [Tweet(user_id=author, text=self.text()) for _ in range(min(room, 5))]
            publish(Tweet.objects.bulk_create(tweets), "add")

    def bulk_update(self) -> None:
        """``QuerySet.update`` of several tweets, published as updates in the same transaction."""
        from feed_outbox.publishing import publish
        from sample_app.models import Tweet

        ids = list(Tweet.objects.values_list("id", flat=True)[:2000])
        chosen = self.rng.sample(ids, min(len(ids), self.rng.randint(2, 5)))
        rows = Tweet.objects.filter(pk__in=chosen)
        if rows.update(text=self.text()):
            publish(list(rows.order_by("pk")), "update")

    def bulk(self) -> None:
        """Several actions in one transaction."""
        for _ in range(self.rng.randint(2, 6)):
            getattr(self, self.rng.choice(OPS[:-1]))()

    def transaction(self) -> None:
        from django.db import DatabaseError, connection, transaction

        op = self.rng.choice(OPS)
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
        for _ in range(self.args.transactions):
            self.transaction()
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
