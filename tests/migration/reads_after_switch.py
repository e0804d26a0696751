"""The chirp project's pages right after the switch, before any adoption step:
``python -m tests.migration.reads_after_switch`` prints what each page shows, as JSON.

Every activity on them was written by the real stream-django 1.8. The pages read them the way
the surveyed apps do (Stream-Example-Py core/views.py and core/enrich.py): feeds from
``feed_manager``, an Enrich subclass given the viewer with a ``fetch_<model>_instances`` hook,
the notification page read with ``mark_seen=True``.
"""

from __future__ import annotations

import json

import django


def pages() -> dict:
    from django.contrib.auth import get_user_model

    from feed_outbox.enrich import Enrich
    from feed_outbox.feed_manager import feed_manager
    from tests.migration.chirp_after.models import Like, Tweet

    class ViewerEnrich(Enrich):
        def __init__(self, current_user, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.current_user = current_user

        def fetch_tweet_instances(self, pks):
            tweets = Tweet.objects.select_related("user").in_bulk(pks)
            liked = set(
                Like.objects.filter(user=self.current_user, tweet__in=pks).values_list(
                    "tweet_id", flat=True
                )
            )
            for tweet in tweets.values():
                tweet.liked_by_me = tweet.pk in liked
            return tweets

    users = {u.username: u for u in get_user_model().objects.all()}
    alice, bob = users["alice"], users["bob"]

    profile = ViewerEnrich(bob).enrich_activities(
        feed_manager.get_user_feed(alice.pk).get(limit=25)["results"]
    )
    timeline = ViewerEnrich(bob).enrich_activities(
        feed_manager.get_news_feeds(bob.pk)["timeline"].get(limit=25)["results"]
    )
    notifications = feed_manager.get_notification_feed(alice.pk)
    groups = ViewerEnrich(alice).enrich_aggregated_activities(
        notifications.get(limit=25, mark_seen=True)["results"]
    )

    def shown(activity) -> dict:
        return {
            "verb": activity["verb"],
            "actor": getattr(activity["actor"], "username", activity["actor"]),
            "object": str(activity["object"]),  # a tweet's text, a photo's caption
            "liked_by_me": getattr(activity["object"], "liked_by_me", None),
            "enriched": activity.enriched,
        }

    return {
        "profile": sorted((shown(a) for a in profile), key=json.dumps),
        "timeline": sorted((shown(a) for a in timeline), key=json.dumps),
        "notifications": [
            {
                "verb": g["verb"],
                "enriched": g.enriched,
                "activities": sorted((shown(a) for a in g["activities"]), key=json.dumps),
            }
            for g in groups
        ],
        "unseen_after": notifications.get()["unseen"],
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(pages()))
