"""Pages of the sample app; every feed shown is read from Stream, not from the Tweet table."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from feed_outbox.enrich import Enrich
from feed_outbox.feed_manager import feed_manager
from sample_app.models import Follow, Tweet

enricher = Enrich()
PAGE_SIZE = 25


class TweetForm(forms.ModelForm):
    class Meta:
        model = Tweet
        fields = ["text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "maxlength": 280})}


def _read(feed, **params):
    return enricher.enrich_activities(feed.get(limit=PAGE_SIZE, **params)["results"])


@login_required
def timeline(request):
    form = TweetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Tweet.objects.create(user=request.user, text=form.cleaned_data["text"])
        return redirect("timeline")
    feed = feed_manager.get_news_feeds(request.user.pk)["timeline"]
    return render(
        request,
        "sample_app/timeline.html",
        {
            "activities": _read(feed),
            "form": form,
            "users": get_user_model().objects.exclude(pk=request.user.pk),
        },
    )


def profile(request, username):
    owner = get_object_or_404(get_user_model(), username=username)
    is_following = (
        request.user.is_authenticated
        and Follow.objects.filter(user=request.user, target=owner).exists()
    )
    return render(
        request,
        "sample_app/profile.html",
        {
            "owner": owner,
            "activities": _read(feed_manager.get_user_feed(owner.pk)),
            "is_following": is_following,
        },
    )


@login_required
@require_POST
def follow(request, username):
    target = get_object_or_404(get_user_model(), username=username)
    if target != request.user:
        Follow.objects.follow(request.user, target)
    return redirect("profile", username=username)


@login_required
@require_POST
def unfollow(request, username):
    target = get_object_or_404(get_user_model(), username=username)
    Follow.objects.unfollow(request.user, target)
    return redirect("profile", username=username)
