"""Feed data is untrusted input: Enrich and render_activity never crash on it and load nothing
they should not (no model outside the allowed ones, no template outside ``activity/``)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext

from feed_outbox.enrich import Enrich
from tests.factories import TweetFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Tables feed data must never make us read.
FORBIDDEN_TABLES = (
    "auth_permission",
    "auth_group",
    "django_content_type",
    "django_session",
    "django_admin_log",
    "feed_outbox_outboxevent",
    "sample_app_follow",
)

HOSTILE_REFERENCES = [
    "auth.Permission:1",
    "auth.Group:1",
    "contenttypes.ContentType:1",
    "sessions.Session:abc",
    "admin.LogEntry:1",
    "feed_outbox.OutboxEvent:1",
    "sample_app.Follow:1",
    "sample_app.Tweet:",
    "sample_app.Tweet:1:2",
    "sample_app.Tweet: 1",
    "sample_app.Tweet:1\n",
    "sample_app.Tweet:abc",
    "sample_app.Tweet:-1",
    "sample_app.Tweet:99999999999999999999999",
    "sample_app.Tweet:1e3",
    "Tweet:1",
    ":1",
    "a:b",
    "sample_app.Tweet",
    "sample_app..Tweet:1",
    "../sample_app.Tweet:1",
    "__import__('os').system:1",
    "sample_app.NoSuchModel:1",
    "no_such_app.Tweet:1",
    "x" * 10_000 + ":1",
    123,
    12.5,
    None,
    True,
    {"app": "sample_app.Tweet:1"},
    ["sample_app.Tweet:1"],
]

HOSTILE_VERBS = [
    "../../x",
    "..",
    "../../../../etc/passwd",
    "tweet/../../x",
    "/etc/passwd",
    "tweet\x00",
    "tweet.html",
    "activity/tweet",
    "{{ secret }}",
    "{% load x %}",
    "a" * 500,
    "",
    7,
    None,
    ["tweet"],
]


# What a tweet activity may render (its template and what that includes); nothing else.
EXPECTED_TEMPLATES = {"activity/tweet.html", "activity/x_tweet.html", "sample_app/_tweet.html"}


def hostile_activities(tweet) -> list[dict]:
    activities = [
        {"id": f"r{i}", "actor": ref, "verb": "tweet", "object": ref, "foreign_id": f"x:{i}"}
        for i, ref in enumerate(HOSTILE_REFERENCES)
    ]
    activities += [
        {
            "id": f"v{i}",
            "actor": f"auth.User:{tweet.user_id}",
            "verb": verb,
            "object": f"sample_app.Tweet:{tweet.pk}",
        }
        for i, verb in enumerate(HOSTILE_VERBS)
    ]
    # Not even a mapping, or missing every field.
    return [*activities, {}, {"id": "only-id"}]


def tables_read(queries) -> set[str]:
    sql = " ".join(q["sql"].lower() for q in queries)
    return {table for table in FORBIDDEN_TABLES if table in sql}


def test_enrich_loads_only_allowed_models_from_hostile_references():
    tweet = TweetFactory()
    activities = hostile_activities(tweet)

    with CaptureQueriesContext(connection) as queries:
        enriched = Enrich().enrich_activities([dict(a) for a in activities])

    assert tables_read(queries.captured_queries) == set()
    assert len(enriched) == len(activities)
    for original, result in zip(activities[: len(HOSTILE_REFERENCES)], enriched, strict=False):
        # A reference that is not a strict one to an allowed model is left as the raw value.
        assert result["actor"] == original["actor"]
        assert result["object"] == original["object"]
    # The well-formed references next to them still enrich.
    verb_rows = enriched[len(HOSTILE_REFERENCES) : len(HOSTILE_REFERENCES) + len(HOSTILE_VERBS)]
    assert all(row["object"] == tweet for row in verb_rows)


def test_enrich_aggregated_groups_with_hostile_members_does_not_crash():
    tweet = TweetFactory()
    groups = [
        {"id": "g1", "verb": "tweet", "activities": hostile_activities(tweet)},
        {"id": "g2", "verb": "../../x", "activities": []},
        {"id": "g3"},
    ]
    with CaptureQueriesContext(connection) as queries:
        enriched = Enrich().enrich_aggregated_activities(groups)
    assert tables_read(queries.captured_queries) == set()
    assert [g["id"] for g in enriched] == ["g1", "g2", "g3"]


@pytest.fixture
def rendered_templates():
    names: list[str] = []

    def on_render(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(on_render)
    yield names
    template_rendered.disconnect(on_render)


@pytest.mark.parametrize("policy", ["warn", "ignore"])
def test_render_activity_never_crashes_and_loads_only_activity_templates(
    rendered_templates, policy
):
    tweet = TweetFactory()
    activities = Enrich().enrich_activities(hostile_activities(tweet))
    page = Template(
        "{% load activity_tags %}{% for a in activities %}"
        "[{% render_activity a 'x' missing_data_policy=policy %}]"
        "[{% render_activity a missing_data_policy=policy %}]{% endfor %}"
        "{% render_activity not_an_activity missing_data_policy=policy %}"
    )

    html = page.render(
        Context({"activities": activities, "policy": policy, "not_an_activity": "../../x"})
    )

    assert html.count("[") == 2 * len(activities)
    rendered = [name for name in rendered_templates if name]  # the page itself has no name
    assert "activity/tweet.html" in rendered  # the well-formed ones next to the hostile ones
    assert set(rendered) <= EXPECTED_TEMPLATES, rendered


def test_hostile_activities_survive_the_round_trip_through_stream(
    stream_emulator, user_feed_activities, rendered_templates
):
    """Stored in the emulator by anyone holding a write token, read back by the real client."""
    from feed_outbox.client import get_client

    tweet = TweetFactory()
    feed = get_client().feed("user", "hostile")
    stored = 0
    for activity in hostile_activities(tweet):
        data = {k: v for k, v in activity.items() if k != "id"}
        try:
            feed.add_activity(
                {**data, "actor": data.get("actor") or "x", "verb": "v", "object": "o"}
            )
            feed.add_activity(data)
            stored += 1
        except Exception:  # Stream may refuse some shapes; the ones it stores are the test
            continue
    assert stored > len(HOSTILE_REFERENCES) // 2
    activities = user_feed_activities("user:hostile")
    with CaptureQueriesContext(connection) as queries:
        enriched = Enrich().enrich_activities(activities)
        html = Template(
            "{% load activity_tags %}{% for a in acts %}{% render_activity a %}{% endfor %}"
        ).render(Context({"acts": enriched}))
    assert tables_read(queries.captured_queries) == set()
    assert isinstance(html, str)
    assert {name for name in rendered_templates if name} <= EXPECTED_TEMPLATES
