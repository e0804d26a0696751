"""Chirp's pages and the outbox admin answer any query parameter with a page, a redirect, a 400
or a 404 (a clamped default or a refusal), never a 500: known mistakes, then generated ones."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import TweetFactory, UserFactory

# Requests are atomic on every database (ATOMIC_REQUESTS), the second one included.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]

ANSWERS = {200, 302, 400, 404}
MISTAKES = [
    "nan", "NaN", "inf", "-inf", "-1", "0", "1e309", "9" * 400, "abc", "²", "٣", "", " ",
    "1.5", "0x10", "１２", "<script>", "' OR 1=1 --", "\u202e", "a" * 5000, "%00", "\x00",
]  # fmt: skip

# (url name, its args, the parameters it reads or a user may try on it)
PAGES = [
    ("timeline", [], ["before"]),
    ("timeline_aggregated", [], ["before"]),
    ("notifications", [], ["before"]),
    ("profile", ["reader"], ["before"]),
    ("api_timeline", [], ["before", "format"]),
    ("api_profile", ["reader"], ["before", "format"]),
    ("admin:feed_outbox_outboxevent_status", [], ["hours"]),
    (
        "admin:feed_outbox_outboxevent_changelist",
        [],
        ["q", "p", "o", "status__exact", "kind__exact", "api__exact", "all", "e"],
    ),
]


@pytest.fixture
def browser(client, stream_emulator):
    reader = UserFactory(username="reader", is_staff=True, is_superuser=True)
    TweetFactory(user=reader)  # an outbox row for the admin's list and chart
    client.force_login(reader)
    return client


def answer(client, name, args, params) -> int:
    return client.get(reverse(name, args=args), params).status_code


@pytest.mark.parametrize("name, args, parameters", PAGES, ids=[p[0] for p in PAGES])
def test_a_known_mistake_in_a_query_parameter_never_answers_500(browser, name, args, parameters):
    answers = {
        (parameter, value): answer(browser, name, args, {parameter: value})
        for parameter in parameters
        for value in MISTAKES
    }
    # Repeated parameters: the page reads one of them, whichever it is.
    answers.update(
        {
            (parameter, "repeated"): answer(browser, name, args, {parameter: ["1", "nan", "²"]})
            for parameter in parameters
        }
    )
    assert {key: code for key, code in answers.items() if code not in ANSWERS} == {}


def test_the_status_page_clamps_hours_and_reads_nan_as_the_default(browser):
    url = reverse("admin:feed_outbox_outboxevent_status")
    for value, shown in [("nan", 3.0), ("inf", 3.0), ("-1", 0.25), ("1e309", 3.0), ("99", 48.0)]:
        response = browser.get(url, {"hours": value})
        assert response.status_code == 200, value
        assert response.context["hours"] == shown, value


VALUES = st.text(st.characters(blacklist_categories=("Cs",)), max_size=50)


@pytest.mark.parametrize("name, args, parameters", PAGES, ids=[p[0] for p in PAGES])
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_generated_query_never_answers_500(browser, name, args, parameters, data):
    values = st.lists(VALUES, min_size=1, max_size=3)
    params = data.draw(st.dictionaries(st.sampled_from(parameters), values), label="query")
    assert answer(browser, name, args, params) in ANSWERS, params
