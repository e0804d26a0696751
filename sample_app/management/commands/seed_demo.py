"""``manage.py seed_demo``: users, tweets, follows, likes and retweets for the demo (once)."""

import datetime
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from sample_app.models import Follow, Like, Retweet, Tweet

USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
PASSWORD = "demo"
# Sees the admin's outbox status page and the demo's Stream switch (docs/demo.md: the outage).
STAFF = "staff"
# Staff, not a superuser: it holds exactly what operating the outbox needs, through a group,
# so the demo exercises the admin's permission checks as a real operator would meet them.
OPERATORS = "Outbox operators"
OPERATOR_PERMISSIONS = (
    "view_outboxevent",  # the event list, an event's page and the status page
    "retry_outboxevent",  # "Retry now"
    "requeue_outboxevent",  # "Requeue dead letters"
    "kill_outboxevent",  # "Mark dead"
)
TWEETS = [
    "Shipping the outbox today.",
    "Rollbacks no longer leak into feeds!",
    "Coffee first, then Postgres.",
    "SKIP LOCKED is underrated.",
    "Reading about transactional outboxes.",
    "Per-key ordering matters more than throughput.",
    "Hello, Chirp!",
    "At-least-once delivery plus idempotent writes = exactly-once effects.",
    "The relay survived kill -9 again.",
    "Who else is testing against an emulator instead of mocks?",
    "Lunch: ramen. Afternoon: dead letters.",
    "Backpressure is a feature.",
    "A foreign_id and a frozen time: that's the whole trick.",
    "Today I learned: LISTEN/NOTIFY with a polling floor.",
    "Feeds are eventually consistent; my coffee is not.",
    "Deleted a tweet, watched it vanish from every timeline.",
    "Notification feeds group likes by day. Neat.",
    "Writing docs is shipping too.",
    "Benchmarks under load are still benchmarks.",
    "Weekend project: a tiny Stream emulator.",
]
FOLLOWS = {
    "alice": ["bob", "carol", "erin"],
    "bob": ["alice", "carol", "dave", "frank"],
    "carol": ["alice", "dave"],
    "dave": ["alice", "bob", "erin"],
    "erin": ["alice", "frank", "carol"],
    "frank": ["bob", "erin", "alice"],
}


class Command(BaseCommand):
    help = "Create the demo's users (password 'demo') and their activity, unless they exist."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        self._staff(User)  # also into a .demo/ seeded before the staff account existed
        if User.objects.filter(username=USERS[0]).exists():
            self.stdout.write("demo data already seeded")
            return
        rng = random.Random(42)  # the same demo on every machine
        now = timezone.now()
        users = {}
        for name in USERS:
            user = User(username=name)
            user.set_password(PASSWORD)
            user.save()
            users[name] = user
        for follower, targets in FOLLOWS.items():
            for target in targets:
                Follow.objects.follow(users[follower], users[target])
        tweets = []
        for index, text in enumerate(TWEETS):
            author = users[USERS[index % len(USERS)]]
            when = now - datetime.timedelta(hours=rng.uniform(0.2, 60))
            tweets.append(Tweet.objects.create(user=author, text=text, created_at=when))
        reactions = 0
        for tweet in tweets:
            others = [u for u in users.values() if u != tweet.user]
            for liker in rng.sample(others, rng.randint(0, 4)):
                Like.objects.create(
                    user=liker, tweet=tweet, created_at=self._after(tweet, now, rng)
                )
                reactions += 1
            if rng.random() < 0.3:
                Retweet.objects.create(
                    user=rng.choice(others), tweet=tweet, created_at=self._after(tweet, now, rng)
                )
                reactions += 1
        self.stdout.write(
            f"seeded {len(users)} users ({', '.join(USERS)}; password '{PASSWORD}'), "
            f"{len(tweets)} tweets and {reactions} likes and retweets"
        )

    def _staff(self, User) -> None:
        staff, created = seed_staff(User)
        if created:
            self.stdout.write(
                f"seeded the staff account {STAFF!r} (password {PASSWORD!r}; "
                f"group {OPERATORS!r})"
            )

    @staticmethod
    def _after(tweet, now, rng) -> datetime.datetime:
        return tweet.created_at + (now - tweet.created_at) * rng.uniform(0.1, 0.9)


def seed_staff(User: type[AbstractUser] | None = None) -> tuple[AbstractUser, bool]:
    """The demo's staff account in the operators' group, and whether it was created. A staff
    seeded as a superuser by an older version is made an operator like a new one."""
    User = User or get_user_model()
    permissions = Permission.objects.filter(
        content_type__app_label="feed_outbox", codename__in=OPERATOR_PERMISSIONS
    )
    missing = set(OPERATOR_PERMISSIONS) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise CommandError(
            f"feed_outbox permissions {', '.join(sorted(missing))} do not exist: run migrate"
        )
    operators, _ = Group.objects.get_or_create(name=OPERATORS)
    operators.permissions.set(permissions)
    staff = User.objects.filter(username=STAFF).first()
    created = staff is None
    if created:
        staff = User(username=STAFF)
        # The demo's printed password: set without the validators, which refuse it.
        staff.set_password(PASSWORD)
    staff.is_staff, staff.is_superuser = True, False
    staff.save()
    staff.groups.add(operators)
    return staff, created
