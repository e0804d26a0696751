"""``manage.py seed_demo``: users, tweets and follows for the demo (skips what exists)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from sample_app.models import Follow, Tweet

USERS = ["alice", "bob", "carol", "dave"]
TWEETS = {
    "alice": ["Shipping the outbox today.", "Rollbacks no longer leak into feeds!"],
    "bob": ["Coffee first, then Postgres.", "SKIP LOCKED is underrated."],
    "carol": ["Reading about transactional outboxes.", "Per-key ordering matters."],
    "dave": ["Hello, Chirp!"],
}
FOLLOWS = [
    ("alice", "bob"),
    ("alice", "carol"),
    ("bob", "alice"),
    ("carol", "dave"),
    ("dave", "alice"),
]
PASSWORD = "demo"


class Command(BaseCommand):
    help = "Create the demo's users (password 'demo'), tweets and follows, unless they exist."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        users = {}
        created = 0
        for name in USERS:
            user, new = User.objects.get_or_create(username=name)
            if new:
                user.set_password(PASSWORD)
                user.save()
                created += 1
                for text in TWEETS[name]:
                    Tweet.objects.create(user=user, text=text)
            users[name] = user
        for follower, target in FOLLOWS:
            Follow.objects.follow(users[follower], users[target])
        self.stdout.write(f"seeded {created} new users ({', '.join(USERS)}; password '{PASSWORD}')")
