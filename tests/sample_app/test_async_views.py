"""Chirp's async timeline (sample_app.views.timeline_async) served by a real ASGI server
(uvicorn, a subprocess) that reads the emulator: the same page as the sync timeline under the
same server, on Feeds v2 (stream-python's async client) and v3 (the getstream SDK's AsyncStream).
"""

import re
import urllib.request

import pytest
from django.db import connections
from django.test import Client

from sample_app.models import Like
from tests.asgi_server import uvicorn
from tests.factories import TweetFactory, UserFactory

# The server is another process: what it reads must be committed.
# Requests are atomic on every database (ATOMIC_REQUESTS), the second one included.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "other"]),
]

CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+')


def get(url: str, session: str | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url)
    if session:
        request.add_header("Cookie", f"sessionid={session}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.url, response.read().decode()


def content(page: str) -> str:
    """A page's main content, its per-request CSRF tokens left out."""
    main = page[page.index('<main id="content">') : page.index("</main>")]
    return CSRF.sub(r"\1…", main)


@pytest.fixture(params=["v2", "v3"])
def api(request, settings, subprocess_env):
    settings.FEED_OUTBOX_STREAM_API = request.param
    subprocess_env["FEED_OUTBOX_TEST_STREAM_API"] = request.param
    return request.param


@pytest.fixture
def server(api, subprocess_env):
    # requests are atomic on "other" too: the server must open this run's database
    subprocess_env["FEED_OUTBOX_TEST_OTHER_DATABASE"] = connections["other"].settings_dict["NAME"]
    with uvicorn(subprocess_env) as served:
        yield served.url


def test_the_async_timeline_through_uvicorn_is_the_sync_timeline(server, api, outbox_drain):
    reader, writer, fan = (UserFactory(username=n) for n in ("reader", "writer", "fan"))
    client = Client()
    client.force_login(reader)
    client.post("/u/writer/follow/")
    client.post("/u/fan/follow/")
    tweets = [TweetFactory(user=writer, text=f"async chirp {n}") for n in range(3)]
    Like.objects.create(user=fan, tweet=tweets[1])
    Like.objects.create(user=reader, tweet=tweets[2])  # a pressed button on the page
    outbox_drain()
    session = client.cookies["sessionid"].value

    status, _, sync_page = get(f"{server}/timeline/", session)
    assert status == 200
    status, _, async_page = get(f"{server}/timeline/async/", session)
    assert status == 200
    assert content(async_page) == content(sync_page)
    assert all(f"async chirp {n}" in async_page for n in range(3))
    assert 'aria-label="Unlike this tweet by writer"' in async_page
    assert "@fan" in async_page and "@writer" in async_page


def test_the_async_timeline_sends_a_visitor_to_log_in(server):
    status, url, _ = get(f"{server}/timeline/async/")
    assert status == 200 and "/login/?next=/timeline/async/" in url
