"""factory_boy factories for every model the tests use."""

import factory
from django.contrib.auth import get_user_model

from sample_app.models import Follow, Tweet


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class TweetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tweet

    user = factory.SubFactory(UserFactory)
    text = factory.Faker("sentence", nb_words=6)


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    user = factory.SubFactory(UserFactory)
    target = factory.SubFactory(UserFactory)


class PostFactory(factory.django.DjangoModelFactory):
    """tests.write_app's soft-deletable Post (write-side tests)."""

    class Meta:
        model = "write_app.Post"

    user = factory.SubFactory(UserFactory)
    text = factory.Faker("sentence", nb_words=4)


class LikeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sample_app.Like"

    user = factory.SubFactory(UserFactory)
    tweet = factory.SubFactory(TweetFactory)


class RetweetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sample_app.Retweet"

    user = factory.SubFactory(UserFactory)
    tweet = factory.SubFactory(TweetFactory)


class OutboxEventFactory(factory.django.DjangoModelFactory):
    """An outbox row written directly (relay tests): an add of its own activity by default."""

    class Meta:
        model = "feed_outbox.OutboxEvent"

    kind = "add"
    feed = factory.Sequence(lambda n: f"user:f{n}")
    ordering_key = factory.Sequence(lambda n: f"tests.Item:{n}")
    payload = factory.LazyAttribute(
        lambda o: {
            "actor": "auth.User:1",
            "verb": "tweet",
            "object": o.ordering_key,
            "foreign_id": o.ordering_key,
            "time": "2026-01-01T00:00:00.000000",
        }
    )


class PinFactory(factory.django.DjangoModelFactory):
    """tests/migration/pinboard's Pin (a stream-django-era app's soft-deleted pin)."""

    class Meta:
        model = "pinboard.Pin"

    user = factory.SubFactory(UserFactory)
    influencer = factory.SubFactory(UserFactory)
    message = factory.Faker("sentence", nb_words=4)


class RepinFactory(PinFactory):
    class Meta:
        model = "pinboard.Repin"


class PinboardFollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "pinboard.Follow"

    user = factory.SubFactory(UserFactory)
    target = factory.SubFactory(UserFactory)
