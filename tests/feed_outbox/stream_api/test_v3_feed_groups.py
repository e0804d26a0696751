"""Which v3 feed groups the settings want, and v2's aggregation formats in v3's variables."""

from __future__ import annotations

import pytest
from django.test import override_settings

from feed_outbox.stream_api.v3_feed_groups import (
    FeedGroupSettingError,
    same_format,
    v3_format,
    wanted_groups,
)


def kinds() -> dict[str, tuple[str, str | None]]:
    return {g.name: (g.kind, g.aggregation_format) for g in wanted_groups()}


def test_stream_djangos_default_settings_want_v2s_four_default_groups():
    day = '{{ type }}_{{ time.strftime("%Y-%m-%d") }}'
    assert kinds() == {
        "user": ("flat", None),
        "timeline": ("flat", None),
        "timeline_aggregated": ("aggregated", day),
        "notification": ("notification", day),
    }


@override_settings(
    STREAM_NEWS_FEEDS=["home", "home_aggregated"],
    FEED_OUTBOX_V3_FEED_GROUPS={"home": "aggregated", "topic": "flat"},
)
def test_the_setting_overrides_a_guessed_type_and_adds_groups():
    assert {name: kind for name, (kind, _fmt) in kinds().items()} == {
        "user": "flat",
        "home": "aggregated",
        "home_aggregated": "aggregated",
        "notification": "notification",
        "topic": "flat",
    }


@pytest.mark.parametrize(
    ("v2", "v3"),
    [
        (
            '{{ verb }}_{{ time.strftime("%Y-%m-%d") }}',
            '{{ type }}_{{ time.strftime("%Y-%m-%d") }}',
        ),
        ("{{actor}}_{{ verb }}", "{{ custom.actor }}_{{ type }}"),
        ("{{ object }}-{{ target }}", "{{ custom.object }}-{{ custom.target }}"),
        (
            "{{ extra.topic }} {{ time.strftime('%Y-%W') }}",
            "{{ custom.extra.topic }} {{ time.strftime('%Y-%W') }}",
        ),
        ("static", "static"),
    ],
)
def test_v2_formats_translate_to_v3s_variables(v2, v3):
    assert v3_format(v2) == v3


@pytest.mark.parametrize(
    "v2",
    ["{% if verb == 'follow' %}x{% endif %}", "{{ verb.infinitive }}", "{{ actor|upper }}", ""],
)
def test_a_format_v3_cannot_reproduce_is_refused_naming_group_and_setting(v2):
    with pytest.raises(FeedGroupSettingError) as raised:
        v3_format(v2, "digest", "FEED_OUTBOX_V3_FEED_GROUPS['digest']")
    assert "'digest'" in str(raised.value) and "FEED_OUTBOX_V3_FEED_GROUPS" in str(raised.value)


def test_formats_compare_equal_but_for_spaces_inside_braces():
    assert same_format("{{type}}_{{ time.strftime('%d') }}", "{{ type }}_{{time.strftime('%d')}}")
    assert not same_format("{{ type }}", "{{ type }}_") and same_format(None, None)
    assert not same_format(None, "{{ type }}")
    assert not same_format("{{ time.strftime('%d %m') }}", "{{ time.strftime('%d%m') }}")
