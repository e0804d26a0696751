"""Enrich: one query per model class for a whole page, and references parsed strictly."""

import pytest
from django.test import override_settings

from feed_outbox.activity import create_model_reference
from feed_outbox.enrich import Enrich, EnrichedActivity, EnrichedAggregatedActivity
from feed_outbox.exceptions import MissingDataException
from sample_app.models import Tweet
from tests.factories import LikeFactory, TweetFactory

pytestmark = pytest.mark.django_db


def activity_of(instance, verb=None, **extra):
    """The activity dict Stream returns for ``instance`` (references, not objects)."""
    data = instance.create_activity()
    data.update(id=f"id-{data['foreign_id']}", verb=verb or data["verb"], **extra)
    return data


def test_a_page_of_tweets_and_likes_costs_one_query_per_model_class(
    django_assert_num_queries,
):
    tweets = TweetFactory.create_batch(5)
    likes = [LikeFactory(tweet=t) for t in tweets]
    page = [activity_of(x) for x in [*tweets, *likes]]

    with django_assert_num_queries(2):  # auth.User and sample_app.Tweet, whatever the page size
        enriched = Enrich().enrich_activities(page)

    assert all(a.enriched for a in enriched)
    assert [a["object"] for a in enriched[:5]] == tweets
    assert [a["actor"] for a in enriched[5:]] == [like.user for like in likes]
    assert [a["object"] for a in enriched[5:]] == tweets


def test_aggregated_groups_of_a_page_share_the_queries(django_assert_num_queries):
    tweets = TweetFactory.create_batch(3)
    likes = LikeFactory.create_batch(4, tweet=tweets[0])
    groups = [
        {"id": "g1", "verb": "tweet", "activities": [activity_of(t) for t in tweets]},
        {"id": "g2", "verb": "like", "activities": [activity_of(like) for like in likes]},
    ]

    with django_assert_num_queries(2):
        enriched = Enrich().enrich_aggregated_activities(groups)

    assert all(isinstance(g, EnrichedAggregatedActivity) and g.enriched for g in enriched)
    assert [a["object"] for a in enriched[0]["activities"]] == tweets
    assert {a["actor"] for a in enriched[1]["activities"]} == {like.user for like in likes}


def test_related_models_are_selected_in_the_same_query(django_assert_num_queries):
    tweets = TweetFactory.create_batch(3)
    page = [{"verb": "tweet", "object": create_model_reference(t)} for t in tweets]

    with django_assert_num_queries(1):
        enriched = Enrich(fields=["object"]).enrich_activities(page)
        # Tweet.activity_related_models() is ["user"]: no query per tweet for its author.
        assert [a["object"].user.username for a in enriched] == [t.user.username for t in tweets]


def test_prefetch_related_models_are_prefetched_once(monkeypatch, django_assert_num_queries):
    tweets = TweetFactory.create_batch(3)
    LikeFactory.create_batch(2, tweet=tweets[0])
    monkeypatch.setattr(
        Tweet, "activity_prefetch_related_models", classmethod(lambda cls: ["likes"]), raising=False
    )
    page = [{"verb": "tweet", "object": create_model_reference(t)} for t in tweets]

    with django_assert_num_queries(2):  # tweets (+users), then every tweet's likes at once
        enriched = Enrich(fields=["object"]).enrich_activities(page)
        counts = [len(a["object"].likes.all()) for a in enriched]
    assert counts == [2, 0, 0]


@pytest.mark.parametrize(
    "value",
    [
        "meeting at 12:30",  # a string that only looks like a reference
        "auth.Permission:1",  # a real model that is not an Activity nor allowed
        "sessions.Session:abc",
        "contenttypes.ContentType:1",
        "nope.Nothing:1",  # no such model
        "sample_app.Tweet:abc",  # pk does not convert
        "sample_app.Tweet:1:2",
        "sample_app.Tweet:",
        "sample_app.Tweet:99999999999999999999999999",  # beyond bigint: no query, no crash
        "sample_app.Tweet:-99999999999999999999999999",
        " sample_app.Tweet:1",
        "sample_app.Tweet:1 ",
        "../sample_app.Tweet:1",
        "sample_app.Tweet:1\n",
        "sample_app:1",
        "sample_app..Tweet:1",
    ],
)
def test_hostile_or_malformed_references_are_left_alone_without_a_query(
    value, django_assert_num_queries
):
    TweetFactory()
    with django_assert_num_queries(0):
        (activity,) = Enrich(fields=["actor", "object", "target"]).enrich_activities(
            [{"verb": "tweet", "actor": value, "object": value, "target": [value], "id": "x"}]
        )
    assert activity["actor"] == value
    assert activity["object"] == value
    assert activity.enriched  # not a reference at all, so nothing is missing


def test_non_string_field_values_are_left_alone():
    activity = Enrich().enrich_activities([{"actor": 42, "object": None, "verb": {"x": 1}}])[0]
    assert activity["actor"] == 42 and activity["object"] is None and activity.enriched


def test_a_model_listed_in_the_setting_is_loaded(django_assert_num_queries):
    from sample_app.models import Follow
    from tests.factories import FollowFactory

    follow = FollowFactory()
    ref = create_model_reference(follow)
    with django_assert_num_queries(0):
        assert Enrich(fields=["object"]).enrich_activities([{"object": ref}])[0]["object"] == ref
    with override_settings(FEED_OUTBOX_ENRICH_MODELS=["sample_app.Follow"]):
        (activity,) = Enrich(fields=["object"]).enrich_activities([{"object": ref}])
    assert activity["object"] == follow
    assert isinstance(activity["object"], Follow)


def test_deleted_objects_are_tracked_per_field_never_raised():
    tweet = TweetFactory()
    data = activity_of(tweet)
    actor_ref = data["actor"]
    tweet_ref = data["object"]
    tweet.user.delete()  # cascades to the tweet

    (activity,) = Enrich().enrich_activities([data])

    assert not activity.enriched
    assert activity.not_enriched_data == {"actor": actor_ref, "object": tweet_ref}
    assert activity["object"] == tweet_ref  # the reference stays for whoever wants it


def test_a_group_with_a_deleted_object_reports_which_activity_misses_what():
    kept, gone = TweetFactory(), TweetFactory()
    group = {
        "id": "g",
        "verb": "tweet",
        "activities": [activity_of(kept), activity_of(gone)],
    }
    gone_id = group["activities"][1]["id"]
    gone_ref = group["activities"][1]["object"]
    gone.delete()

    (enriched,) = Enrich(fields=["object"]).enrich_aggregated_activities([group])

    assert not enriched.enriched
    assert enriched.not_enriched_data == {gone_id: {"object": gone_ref}}
    assert [a["object"] for a in enriched.enriched_activities] == [kept]


def test_an_app_qualified_hook_fetches_its_model(django_assert_num_queries):
    tweet = TweetFactory()

    class Hooked(Enrich):
        def fetch_sample_app__tweet_instances(self, pks):
            return {pk: f"hooked {pk}" for pk in pks}

    with django_assert_num_queries(0):
        (activity,) = Hooked(fields=["object"]).enrich_activities([activity_of(tweet)])
    assert activity["object"] == f"hooked {tweet.pk}"


def test_stream_djangos_hook_name_still_works():
    tweet = TweetFactory()

    class Legacy(Enrich):
        def fetch_tweet_instances(self, pks):
            return {pk: "legacy" for pk in pks}

    assert (
        Legacy(fields=["object"]).enrich_activities([activity_of(tweet)])[0]["object"] == "legacy"
    )


def test_enrich_instance_and_get_queryset_are_extension_points():
    kept, hidden = TweetFactory(text="kept"), TweetFactory(text="hidden")

    class OnlyKept(Enrich):
        def get_queryset(self, model):
            qs = super().get_queryset(model)
            return qs.exclude(text="hidden") if model is Tweet else qs

        def enrich_instance(self, instance):
            return getattr(instance, "text", instance)

    a, b = OnlyKept(fields=["object"]).enrich_activities([activity_of(kept), activity_of(hidden)])
    assert a["object"] == "kept"
    assert not b.enriched


def test_uses_the_default_manager_not_objects(monkeypatch):
    tweet = TweetFactory()

    class Broken:
        def __getattr__(self, name):
            raise AssertionError("Enrich must use _default_manager")

    monkeypatch.setattr(Tweet, "objects", Broken(), raising=False)
    (activity,) = Enrich(fields=["object"]).enrich_activities([activity_of(tweet)])
    assert activity["object"] == tweet


def test_enriched_activity_is_a_mapping_with_stream_djangos_api():
    activity = EnrichedActivity({"verb": "tweet"})
    activity["object"] = "x"
    assert dict(activity) == {"verb": "tweet", "object": "x"}
    activity.track_not_enriched_field("object", "x")
    assert not activity.enriched and "not_enriched_data" in repr(activity)


def test_missing_data_exception_is_an_ordinary_exception():
    assert issubclass(MissingDataException, Exception)
