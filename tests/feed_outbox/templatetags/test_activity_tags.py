"""render_activity: stream-django's template rules and policies, without its two flaws
(a verb from feed data choosing any template; ``activity`` leaking into the caller)."""

import logging

import pytest
from django.template import Context, Engine, RequestContext, TemplateDoesNotExist
from django.test import RequestFactory

from feed_outbox.enrich import EnrichedActivity
from feed_outbox.exceptions import MissingDataException
from feed_outbox.templatetags.activity_tags import template_name_for

TEMPLATES = {
    "activity/tweet.html": "tweet by {{ activity.actor }}",
    "activity/like.html": "like:{{ request.path }}",
    "activity/pinned_tweet.html": "pinned {{ activity.object }}",
    "activity/aggregated/like.html": "{{ activity.activities|length }} likes",
    "activity/aggregated/notification_like.html": "notify {{ activity.activities|length }}",
    "secret.html": "SECRET",
    "activity/secret.html": "SECRET",
}


@pytest.fixture
def engine():
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", TEMPLATES)],
        libraries={"activity_tags": "feed_outbox.templatetags.activity_tags"},
    )


def render(engine, source, context=None, request=None):
    template = engine.from_string("{% load activity_tags %}" + source)
    ctx = RequestContext(request, context or {}) if request else Context(context or {})
    return template.render(ctx)


def missing(data, **misses):
    activity = EnrichedActivity(data)
    for field, value in misses.items():
        activity.track_not_enriched_field(field, value)
    return activity


@pytest.mark.parametrize(
    ("activity", "prefix", "name"),
    [
        ({"verb": "tweet"}, "", "activity/tweet.html"),
        ({"verb": "tweet"}, "pinned", "activity/pinned_tweet.html"),
        ({"verb": "like", "activities": []}, "", "activity/aggregated/like.html"),
        (
            {"verb": "like", "activities": []},
            "notification",
            "activity/aggregated/notification_like.html",
        ),
        ({"verb": "re-tweet_2"}, "", "activity/re-tweet_2.html"),
    ],
)
def test_template_names_follow_stream_djangos_rules(activity, prefix, name):
    assert template_name_for(activity, prefix) == name


@pytest.mark.parametrize(
    "verb",
    [
        "../../secret",
        "../secret",
        "/secret",
        "a/b",
        "secret.html",
        "tweet\n",
        "",
        None,
        3,
        "x" * 101,
    ],
)
def test_an_unsafe_verb_never_becomes_a_template_name(engine, verb, caplog):
    assert template_name_for({"verb": verb}) is None
    with caplog.at_level(logging.WARNING):
        out = render(engine, "{% render_activity a %}", {"a": {"verb": verb, "id": "x"}})
    assert out == ""
    assert "SECRET" not in out


@pytest.mark.parametrize("prefix", ["../", "..", "a/b", "x y"])
def test_an_unsafe_prefix_never_becomes_a_template_name(engine, prefix):
    assert template_name_for({"verb": "tweet"}, prefix) is None
    assert render(engine, "{% render_activity a p %}", {"a": {"verb": "tweet"}, "p": prefix}) == ""


def test_renders_flat_prefixed_and_aggregated_templates(engine):
    out = render(
        engine,
        "{% render_activity a %}|{% render_activity a 'pinned' %}|{% render_activity g %}|"
        "{% render_activity g 'notification' %}",
        {
            "a": {"verb": "tweet", "actor": "alice", "object": "o"},
            "g": {"verb": "like", "activities": [{}, {}, {}]},
        },
    )
    assert out == "tweet by alice|pinned o|3 likes|notify 3"


def test_activity_does_not_leak_into_the_callers_context(engine):
    out = render(
        engine,
        "[{{ activity }}]{% render_activity a %}[{{ activity }}]",
        {"a": {"verb": "tweet", "actor": "alice"}, "activity": "mine"},
    )
    assert out == "[mine]tweet by alice[mine]"
    out = render(engine, "{% render_activity a %}[{{ activity }}]", {"a": {"verb": "tweet"}})
    assert out.endswith("[]")


def test_request_is_passed_through(engine):
    request = RequestFactory().get("/somewhere/")
    assert render(engine, "{% render_activity a %}", {"a": {"verb": "like"}}, request) == (
        "like:/somewhere/"
    )


def test_missing_data_policy_warn_logs_and_renders_nothing(engine, caplog):
    a = missing({"verb": "tweet", "id": "42"}, actor="auth.User:9")
    with caplog.at_level(logging.WARNING, logger="feed_outbox.templatetags.activity_tags"):
        assert render(engine, "{% render_activity a %}", {"a": a}) == ""
    assert "auth.User:9" in caplog.text and "#42" in caplog.text


def test_missing_data_policy_ignore_is_silent(engine, caplog):
    a = missing({"verb": "tweet"}, actor="auth.User:9")
    with caplog.at_level(logging.DEBUG):
        assert render(engine, "{% render_activity a '' 'ignore' %}", {"a": a}) == ""
    assert "auth.User:9" not in caplog.text


def test_missing_data_policy_fail_raises(engine):
    a = missing({"verb": "tweet"}, actor="auth.User:9")
    with pytest.raises(MissingDataException):
        render(engine, "{% render_activity a '' 'fail' %}", {"a": a})


def test_an_unknown_policy_is_a_type_error(engine):
    with pytest.raises(TypeError):
        render(engine, "{% render_activity a '' 'shrug' %}", {"a": {"verb": "tweet"}})


def test_a_verb_without_a_template_renders_nothing_unless_policy_is_fail(engine, caplog):
    a = {"verb": "unknownverb", "id": "1"}
    with caplog.at_level(logging.WARNING):
        assert render(engine, "{% render_activity a %}", {"a": a}) == ""
    assert "activity/unknownverb.html" in caplog.text
    with pytest.raises(TemplateDoesNotExist):
        render(engine, "{% render_activity a '' 'fail' %}", {"a": a})


def test_output_is_not_escaped_twice(engine):
    out = render(engine, "{% render_activity a %}", {"a": {"verb": "tweet", "actor": "<b>"}})
    assert out == "tweet by &lt;b&gt;"


def test_something_that_is_not_an_activity_renders_nothing(engine):
    assert render(engine, "{% render_activity a %}", {"a": "tweet"}) == ""
