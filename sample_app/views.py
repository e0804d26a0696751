"""Pages of Chirp; every feed shown is read from Stream (enriched), never from the Tweet table.

``timeline_async`` is the timeline as an async view (served through ASGI: sample_app.asgi): its
Stream reads await the clients' async APIs and its queries Django's async ORM, so the page holds
no thread while Stream answers. What it shows is built by the same helpers as ``timeline``.
"""

import logging
from functools import partial

import requests
from asgiref.sync import sync_to_async
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from stream import exceptions as stream_exceptions

from feed_outbox.enrich import Enrich
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.notifications import anotification_counts, read_notifications
from feed_outbox.operations.status import outbox_lag
from feed_outbox.pagination import FeedPage, FeedPaginator
from sample_app import stream_switch
from sample_app.models import Follow, Like, Retweet, Tweet

logger = logging.getLogger(__name__)
PAGE_SIZE = 25
enricher = Enrich()
# The same paginator as the JSON API's (sample_app.api): ?before=<the last id shown>.
paginator = FeedPaginator(PAGE_SIZE)


class TweetForm(forms.ModelForm):
    class Meta:
        model = Tweet
        fields = ["text"]
        widgets = {
            "text": forms.Textarea(
                attrs={"rows": 2, "maxlength": 280, "placeholder": "What's happening?"}
            )
        }
        labels = {"text": "New tweet"}


# What Stream raises when it cannot be read (stream-python's; the async reads raise the same).
STREAM_DOWN = (requests.RequestException, stream_exceptions.StreamApiException)


def _read(request, feed) -> FeedPage:
    """A page of ``feed``, older than ``?before=<id>``; a ``before`` that is no id reads the
    first page (it is never sent to Stream). While Stream is down the page says so: saving
    still works (the outbox keeps every change until the relay can deliver it)."""
    try:
        return paginator.page_or_first(feed, request.GET.get("before"))
    except STREAM_DOWN:
        return _stream_down(request)


async def _aread(request, feed) -> FeedPage:
    """``_read``, awaited."""
    try:
        return await paginator.apage_or_first(feed, request.GET.get("before"))
    except STREAM_DOWN:
        return _stream_down(request)


def _stream_down(request) -> FeedPage:
    logger.warning("could not read a feed from Stream", exc_info=True)
    messages.warning(
        request,
        "Stream cannot be read right now, so feeds are empty here. Whatever you post is "
        "saved and waits in the outbox; the relay delivers it once Stream is back.",
    )
    return FeedPage(results=[], cursor=None, next_cursor=None)


def _tweets_in(activities) -> list[Tweet]:
    """The tweets shown on a page (flat activities or the activities of groups)."""
    flat = []
    for activity in activities:
        flat.extend(activity.activities if "activities" in activity else [activity])
    return [a["object"] for a in flat if isinstance(a.get("object"), Tweet)]


def _pressed(user, activities):
    """The ids of the page's tweets ``user`` liked and retweeted, as two (lazy) querysets."""
    ids = [t.pk for t in _tweets_in(activities)]
    if not (user.is_authenticated and ids):
        return None
    return [
        model.objects.filter(user=user, tweet__in=ids).values_list("tweet_id", flat=True)
        for model in (Like, Retweet)
    ]


def _page(request, template: str, activities, feed_page: FeedPage, **context):
    """Render a feed page; ``liked`` and ``retweeted`` say which buttons are already pressed."""
    pressed = _pressed(request.user, activities)
    liked, retweeted = [set(q) for q in pressed] if pressed else (set(), set())
    context.update(
        activities=activities, liked=liked, retweeted=retweeted, older=feed_page.next_cursor
    )
    return render(request, template, context)


async def _apage(request, user, template: str, activities, feed_page: FeedPage, **context):
    """``_page``, its queries awaited; the context holds what the template would otherwise load
    while rendering (a Stream read, a query: neither can run on the event loop): the
    notification counts and the outbox lag."""
    pressed = _pressed(user, activities)
    liked, retweeted = [{pk async for pk in q} for q in pressed] if pressed else (set(), set())
    context.update(
        activities=activities,
        liked=liked,
        retweeted=retweeted,
        older=feed_page.next_cursor,
        notification_counts=await _acounts(user),
        # a query of the outbox table, run as Django runs any sync query under ASGI
        outbox_lag=await sync_to_async(outbox_lag)(),
    )
    return render(request, template, context)


async def _acounts(user):
    """The badge's counts (feed_outbox.context_processors.notifications, awaited): None when
    Stream cannot be read, so an outage never takes the page down."""
    try:
        return await anotification_counts(user.pk)
    except Exception:
        logger.warning("could not read the notification counts of user %s", user.pk, exc_info=True)
        return None


def _back(request, default: str = "timeline"):
    target = request.POST.get("next") or request.headers.get("referer")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        messages.success(request, "Welcome to Chirp! Follow a few people to fill your timeline.")
        return redirect("timeline")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def timeline(request):
    form = TweetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Tweet.objects.create(user=request.user, text=form.cleaned_data["text"])
        messages.success(
            request, "Tweet posted: it reaches your followers once the relay has published it."
        )
        return redirect("timeline")
    feed = feed_manager.get_news_feeds(request.user.pk)["timeline"]
    page = _read(request, feed)
    activities = enricher.enrich_activities(page.results)
    User = get_user_model()
    return _page(
        request,
        "sample_app/timeline.html",
        activities,
        page,
        form=form,
        feed_id=f"{feed.slug}:{feed.user_id}",
        people=User.objects.exclude(pk=request.user.pk).order_by("username")[:20],
    )


def _non_atomic(view):
    """A read-only async view: Django refuses ATOMIC_REQUESTS for async views."""
    for alias in settings.DATABASES:
        view = transaction.non_atomic_requests(using=alias)(view)
    return view


@_non_atomic
@require_GET
@login_required
async def timeline_async(request):
    """The timeline, async: Stream read and enriched without blocking the event loop (the
    compose form posts to ``timeline``: saving is the sync outbox transaction)."""
    # The loaded user, for the context processors too (request.user would query on first use)
    request.user = user = await request.auser()
    feed = feed_manager.get_news_feeds(user.pk)["timeline"]
    page = await _aread(request, feed)
    activities = await enricher.aenrich_activities(page.results)
    people = get_user_model().objects.exclude(pk=user.pk).order_by("username")[:20]
    return await _apage(
        request,
        user,
        "sample_app/timeline.html",
        activities,
        page,
        form=TweetForm(),
        feed_id=f"{feed.slug}:{feed.user_id}",
        people=[person async for person in people],
    )


@login_required
def timeline_aggregated(request):
    feed = feed_manager.get_news_feeds(request.user.pk)["timeline_aggregated"]
    page = _read(request, feed)
    groups = enricher.enrich_aggregated_activities(page.results)
    return _page(
        request,
        "sample_app/timeline_aggregated.html",
        groups,
        page,
        feed_id=f"{feed.slug}:{feed.user_id}",
    )


@login_required
def notifications(request):
    # Marked seen by this very read: Stream answers with the state before, so new ones still show.
    page = _read(request, partial(read_notifications, request.user.pk, mark_seen=True))
    groups = enricher.enrich_aggregated_activities(page.results)
    return _page(request, "sample_app/notifications.html", groups, page)


def profile(request, username):
    owner = get_object_or_404(get_user_model(), username=username)
    is_following = (
        request.user.is_authenticated
        and Follow.objects.filter(user=request.user, target=owner).exists()
    )
    feed = feed_manager.get_user_feed(owner.pk)
    page = _read(request, feed)
    activities = enricher.enrich_activities(page.results)
    return _page(
        request,
        "sample_app/profile.html",
        activities,
        page,
        owner=owner,
        is_following=is_following,
        followers=owner.followers.count(),
        following=owner.following.count(),
        feed_id=f"{feed.slug}:{feed.user_id}",
    )


@login_required
@require_POST
def follow(request, username):
    target = get_object_or_404(get_user_model(), username=username)
    if target != request.user:
        Follow.objects.follow(request.user, target)
        messages.success(request, f"You follow {target.username}.")
    return redirect("profile", username=username)


@login_required
@require_POST
def unfollow(request, username):
    target = get_object_or_404(get_user_model(), username=username)
    if Follow.objects.unfollow(request.user, target):
        messages.success(request, f"You no longer follow {target.username}.")
    return redirect("profile", username=username)


def _react(model, request, pk: int):
    tweet = get_object_or_404(Tweet, pk=pk)
    try:
        with transaction.atomic():
            model.objects.get_or_create(user=request.user, tweet=tweet)
    except IntegrityError:  # a double click raced with itself: the reaction exists
        pass
    return _back(request)


@login_required
@require_POST
def like(request, pk: int):
    return _react(Like, request, pk)


@login_required
@require_POST
def unlike(request, pk: int):
    for existing in Like.objects.filter(user=request.user, tweet_id=pk):
        existing.delete()  # one by one: each delete is a remove event
    return _back(request)


@login_required
@require_POST
def retweet(request, pk: int):
    return _react(Retweet, request, pk)


@login_required
@require_POST
def delete_tweet(request, pk: int):
    tweet = get_object_or_404(Tweet, pk=pk, user=request.user)
    tweet.delete()  # its likes and retweets go with it (cascade): each a remove event
    messages.success(request, "Tweet deleted: it disappears from every timeline once published.")
    return _back(request)


# Not in the request's transaction: it waits for the launcher, and on SQLite a read
# transaction that later writes fails at once ("database is locked") if the relay is writing.
@transaction.non_atomic_requests
@staff_member_required
@require_POST
def demo_stream(request):
    """The demo's Stream switch (``make demo`` only): stop or start the Stream emulator."""
    action = request.POST.get("action")
    if stream_switch.control_dir() is None or action not in stream_switch.ACTIONS:
        raise Http404("the Stream switch exists only under make demo")
    if not stream_switch.ask(action):
        messages.warning(request, f"The demo launcher did not {action} Stream in time.")
    elif action == "stop":
        messages.success(
            request,
            "Stream is stopped. Keep posting: the outbox status page shows the lag and the "
            "pending events grow.",
        )
    else:
        # What an operator does after an outage (the admin's "retry now" action): events
        # waiting out their backoff are claimable at once, in their order.
        now = timezone.now()
        free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
        OutboxEvent.objects.filter(free, status=EventStatus.PENDING).update(available_at=None)
        messages.success(request, "Stream is back: the relay delivers the backlog in order.")
    return _back(request)
