"""What public stream-django apps read, imports switched: their Enrich subclasses, extra
reference fields, notification reads with ``mark_seen``, templates and context processors, on
pages read back through stream-python from the emulator after the relay's loop delivered them.
The patterns and the apps they come from: /work/notes/survey-result.md.
"""

from __future__ import annotations

import logging

import pytest
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from feed_outbox.activity import create_model_reference
from feed_outbox.client import stream_client
from feed_outbox.context_processors import stream as stream_context
from feed_outbox.enrich import Enrich
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from tests.factories import UserFactory
from tests.migration.patterns.models import Chirp, Follow, Item, Keep, Milestone

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class CurrentUserEnrich(Enrich):
    """Stream-Example-Py's core/enrich.py, in this project's words: the viewer is given to the
    constructor and the fetch hooks mark what the viewer kept or is followed by."""

    def __init__(self, current_user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_user = current_user

    def fetch_keep_instances(self, pks):
        keeps = Keep.objects.select_related(*Keep.activity_related_models()).in_bulk(pks)
        mine = set(Keep.objects.filter(user=self.current_user).values_list("item_id", flat=True))
        for keep in keeps.values():
            keep.kept_by_me = keep.item_id in mine
        return keeps

    def fetch_follow_instances(self, pks):
        follows = Follow.objects.select_related("user", "target").in_bulk(pks)
        for follow in follows.values():
            follow.follows_me = follow.target_id == self.current_user.pk
        return follows


class QualifiedHookEnrich(CurrentUserEnrich):
    """The change to make when another installed app has a model of the same name."""

    def fetch_patterns__follow_instances(self, pks):
        return self.fetch_follow_instances(pks)


@pytest.fixture
def profile(outbox_drain):
    """An author's profile feed: a keep of an item the viewer kept too, and a follow of the viewer."""
    author, viewer = UserFactory(username="author"), UserFactory(username="viewer")
    item = Item.objects.create(owner=author, title="a lamp")
    Keep.objects.create(user=viewer, item=item)
    keep = Keep.objects.create(user=author, item=item)
    follow = Follow.objects.create(user=author, target=viewer)
    outbox_drain()
    page = feed_manager.get_user_feed(author.pk).get(limit=25)["results"]
    return viewer, keep, follow, page


def test_enrich_subclass_hooks_run_and_a_namesake_model_needs_the_qualified_hook_name(
    profile, caplog
):
    """``fetch_keep_instances`` works unchanged. ``fetch_follow_instances`` is ignored, with a
    warning, while another installed app (sample_app) has a Follow too: stream-django would
    have handed it sample_app's pks. ``fetch_patterns__follow_instances`` is the fix."""
    viewer, keep, follow, page = profile

    with caplog.at_level(logging.WARNING, logger="feed_outbox.enrich"):
        enriched = CurrentUserEnrich(viewer).enrich_activities(page)
    by_verb = {a["verb"]: a["object"] for a in enriched}
    assert (by_verb["keep"], by_verb["keep"].kept_by_me) == (keep, True)
    assert by_verb["follow"] == follow and not hasattr(by_verb["follow"], "follows_me")
    assert "fetch_patterns__follow_instances" in caplog.text

    # Enrich replaces references in the dicts it is given (as stream-django did): read again.
    page = feed_manager.get_user_feed(keep.user_id).get(limit=25)["results"]
    enriched = QualifiedHookEnrich(viewer).enrich_activities(page)
    assert {a["verb"]: a["object"] for a in enriched}["follow"].follows_me is True


def test_references_to_models_that_are_not_activities_need_the_enrich_models_setting(
    outbox_drain,
):
    """upkoding's object is a Project and its ``target`` an extra reference; zakanda enriches
    custom fields the same way. Such references stay strings (stream-django loaded any
    ``a:b``) until FEED_OUTBOX_ENRICH_MODELS lists the model."""
    user = UserFactory()
    item = Item.objects.create(owner=user, title="a project")
    Milestone.objects.create(user=user, item=item, kind=Milestone.STARTED)
    outbox_drain()
    page = feed_manager.get_user_feed(user.pk).get()["results"]
    enricher = Enrich(("actor", "object", "target"))

    [activity] = enricher.enrich_activities(page)
    assert activity.enriched  # nothing missing: the reference was never a candidate
    assert (activity["actor"], activity["object"], activity["target"]) == (
        user,
        create_model_reference(item),
        create_model_reference(item),
    )
    with override_settings(FEED_OUTBOX_ENRICH_MODELS=["patterns.Item"]):
        [activity] = enricher.enrich_activities(page)
    assert (activity["object"], activity["target"]) == (item, item)


def test_notification_page_marks_seen_and_read_through_the_feed_object(outbox_drain):
    """markui reads with ``mark_seen=True``, zakanda with ``mark_seen=True, mark_read=True``,
    Stream-Example-Py's context processor counts ``feed.get()['unseen']``: plain stream-python
    calls on the feed ``feed_manager`` returns, so they behave as before."""
    target = UserFactory()
    for fan in UserFactory.create_batch(2):
        Follow.objects.create(user=fan, target=target)
    outbox_drain()
    feed = feed_manager.get_notification_feed(target.pk)

    assert (feed.get()["unseen"], feed.get()["unread"]) == (1, 1)
    page = feed.get(limit=25, mark_seen=True)["results"]
    assert [(g["verb"], g["activity_count"], g["is_seen"]) for g in page] == [("follow", 2, False)]
    assert (feed.get()["unseen"], feed.get()["unread"]) == (0, 1)
    feed.get(mark_seen=True, mark_read=True)
    assert feed.get()["unread"] == 0


def test_templates_by_verb_and_prefix_render_through_an_apps_own_tag_library(profile, outbox_drain):
    """``{% render_activity activity %}`` and ``{% render_activity group 'notification' %}`` find
    activity/keep.html and activity/aggregated/notification_follow.html, loaded through a tag
    library of the app's that star-imports the activity tags (zakanda's stream_django_tags)."""
    viewer, keep, follow, page = profile
    second = Follow.objects.create(user=UserFactory(username="third"), target=viewer)
    outbox_drain()
    enricher = CurrentUserEnrich(viewer)
    notifications = feed_manager.get_notification_feed(viewer.pk).get(limit=25)["results"]
    template = Template(
        "{% load patterns_activity_tags %}"
        "{% for a in activities %}{% render_activity a %}{% endfor %}"
        "{% for g in groups %}{% render_activity g 'notification' %}{% endfor %}"
    )
    html = template.render(
        Context(
            {
                "activities": [a for a in enricher.enrich_activities(page) if a["verb"] == "keep"],
                "groups": enricher.enrich_aggregated_activities(notifications),
            }
        )
    )

    assert '<p class="keep">author kept a lamp (you too)</p>' in html
    followers = sorted([follow.user.username, second.user.username])
    assert html.count('class="follows"') == 1
    assert all(name in html for name in followers) and "2 new followers:" in html


def test_an_activity_without_its_template_renders_nothing_under_the_default_policy(
    outbox_drain,
):
    """stream-django raised TemplateDoesNotExist for a verb without a template (here a chirp);
    the page now renders the others."""
    user = UserFactory()
    Chirp.objects.create(user=user, text="no template for me")
    outbox_drain()
    page = Enrich().enrich_activities(feed_manager.get_user_feed(user.pk).get()["results"])
    html = Template("{% load activity_tags %}[{% render_activity a %}]").render(
        Context({"a": page[0]})
    )
    assert html == "[]"


def test_stream_context_processor_and_the_low_level_client_beside_the_mixin(
    rf: RequestFactory, stream_emulator
):
    """Stream-Example-Py lists ``stream_django.context_processors.stream``: it gives the API key
    and app id, never the secret. CapitolZen adds hand-made activities with
    ``stream_client.feed(...).add_activity``: that still goes to Stream at once, not through
    the outbox."""
    from django.conf import settings

    context = stream_context(rf.get("/"))
    assert context["STREAM_API_KEY"] == settings.STREAM_API_KEY
    assert settings.STREAM_API_SECRET not in repr(context)

    group = stream_client.feed("topic", "group-7")
    group.add_activity({"actor": "auth.User:1", "verb": "welcome", "object": "group:7"})
    assert [a["verb"] for a in group.get()["results"]] == ["welcome"]
    assert not OutboxEvent.objects.exists()
