"""Chirp's JSON API through Django REST framework: feeds read from Stream, paginated by id."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated

from feed_outbox.drf import EnrichedActivitySerializer, FeedCursorPagination
from feed_outbox.feed_manager import feed_manager


class ChirpActivitySerializer(EnrichedActivitySerializer):
    # A username and a tweet's text, nothing else of either model (no e-mail, no hash).
    model_fields = {"auth.User": ["username"], "sample_app.Tweet": ["text"]}


class TimelineAPI(ListAPIView):
    """``GET /api/timeline/[?before=<id>]``: the logged-in user's timeline, enriched."""

    permission_classes = [IsAuthenticated]
    pagination_class = FeedCursorPagination
    serializer_class = ChirpActivitySerializer

    def get_queryset(self):
        return feed_manager.get_news_feeds(self.request.user.pk)["timeline"]


class ProfileFeedAPI(ListAPIView):
    """``GET /api/u/<username>/[?before=<id>]``: a user's own activities."""

    pagination_class = FeedCursorPagination
    serializer_class = ChirpActivitySerializer

    def get_queryset(self):
        owner = get_object_or_404(get_user_model(), username=self.kwargs["username"])
        return feed_manager.get_user_feed(owner.pk)
