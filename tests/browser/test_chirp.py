"""A user's journey through Chirp in headless Chromium: web app, relay process and emulator.

Follow someone, see their tweet once the relay has published it, and find likes aggregated in
the notifications behind an unseen badge. And the demo itself (``make demo``): staff stop
Stream, keep posting, watch the outbox grow on the status page, and see it all arrive.
"""

import os
import signal
import socket
import subprocess
import sys

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.models import Like, Tweet
from tests.browser.conftest import wait_until
from tests.conftest import ROOT
from tests.factories import UserFactory


class By:
    """selenium's locator strategies, spelled out so collection never needs selenium."""

    ID, NAME, TAG_NAME, CSS_SELECTOR = "id", "name", "tag name", "css selector"


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True, databases=["default", "other"]),
]


def log_in(browser, base, username):
    browser.get(f"{base}/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys("pw")
    browser.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_until(lambda: on_page(browser, "/timeline/"), what="the timeline after login")


def log_out(browser):
    browser.find_element(By.CSS_SELECTOR, "header form button").click()
    wait_until(lambda: on_page(browser, "/login/"), what="the login page after logout")


def on_page(browser, path):
    """The browser shows ``path``, fully loaded (a click does not wait for the next page)."""
    loaded = browser.execute_script("return document.readyState") == "complete"
    return path in browser.current_url and loaded


def page_text(browser):
    return browser.find_element(By.TAG_NAME, "body").text


def relay_caught_up():
    return not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()


def test_follow_see_the_tweet_like_it_and_find_it_aggregated_in_notifications(
    browser, live_server, stream_emulator, relay_process
):
    base = live_server.url
    rita, walt = UserFactory(username="rita"), UserFactory(username="walt")
    xena = UserFactory(username="xena")

    # Rita follows Walt from his profile page.
    log_in(browser, base, "rita")
    browser.get(f"{base}/u/walt/")
    browser.find_element(By.ID, "follow-button").click()
    wait_until(
        lambda: browser.find_element(By.ID, "follow-button").text == "Unfollow",
        what="the Unfollow button",
    )

    # Walt posts; Rita sees it on her timeline once the relay has published it.
    tweet = Tweet.objects.create(user=walt, text="Walt's browser-tested chirp")

    def tweet_on_timeline():
        browser.get(f"{base}/timeline/")
        return "Walt's browser-tested chirp" in page_text(browser)

    wait_until(tweet_on_timeline, what="Walt's tweet on Rita's timeline")

    # Rita likes it in the browser; Xena likes it too.
    browser.find_element(
        By.CSS_SELECTOR, f"#tweet-{tweet.pk} form[action$='/like/'] button"
    ).click()
    wait_until(lambda: Like.objects.filter(user=rita, tweet=tweet).exists(), what="Rita's like")
    wait_until(lambda: on_page(browser, "/timeline/"), what="the timeline after the like")
    Like.objects.create(user=xena, tweet=tweet)
    log_out(browser)

    # Walt sees an unseen badge, and one aggregated notification for both likes.
    wait_until(relay_caught_up, what="the relay to publish the likes")
    log_in(browser, base, "walt")
    badge = browser.find_element(By.ID, "notification-badge")
    assert badge.text == "1"
    browser.find_element(By.ID, "nav-notifications").click()
    wait_until(lambda: on_page(browser, "/notifications/"), what="the notifications page")
    (group,) = browser.find_elements(By.CSS_SELECTOR, "article.notification")
    assert "liked your tweet" in group.text
    assert "rita" in group.text and "xena" in group.text
    assert "2 people" in group.text
    assert "Walt's browser-tested chirp" in group.text
    assert "unseen" in group.get_attribute("class")

    # Seen now: the badge is gone on the next page.
    browser.get(f"{base}/timeline/")
    assert not browser.find_elements(By.ID, "notification-badge")


@pytest.fixture
def demo(tmp_path):
    """``python -m sample_app.demo`` (what ``make demo`` runs) on free ports and its own data."""
    web, emulator = _free_port(), _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "STREAM_", "DJANGO", "FEED_OUTBOX_TEST"))
    }
    env.update(
        DEMO_DATA_DIR=str(tmp_path), DEMO_WEB_PORT=str(web), DEMO_EMULATOR_PORT=str(emulator)
    )
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sample_app.demo"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: proc.poll() is None and "demo is running" in log.read_text() or None,
            timeout=120,
            what=f"the demo to start:\n{log.read_text()[-3000:]}",
        )
        yield f"http://localhost:{web}", log
    finally:
        sys.stderr.write(f"demo log (tail):\n{log.read_text()[-6000:]}\n")
        proc.send_signal(signal.SIGTERM)  # the demo stops its children in order
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_staff_stops_stream_posts_sees_the_backlog_then_everything_arrives_in_order(
    browser, demo
):
    base, log = demo
    assert "staff" in log.read_text()  # printed at start, with the other accounts

    browser.get(f"{base}/login/")
    browser.find_element(By.NAME, "username").send_keys("staff")
    browser.find_element(By.NAME, "password").send_keys("demo")
    browser.find_element(By.CSS_SELECTOR, "form.stacked button[type=submit]").click()
    wait_until(lambda: on_page(browser, "/timeline/"), what="the timeline after login")

    def pending() -> int:
        browser.get(f"{base}/admin/feed_outbox/outboxevent/status/")
        return int(browser.find_element(By.ID, "outbox-pending").text)

    # The status page is in the navigation; the seeded data is delivered first.
    browser.find_element(By.ID, "nav-outbox-status").click()
    wait_until(lambda: on_page(browser, "/status/"), what="the outbox status page")
    assert "Lag" in page_text(browser) and browser.find_element(
        By.CSS_SELECTOR, ".outbox-chart svg"
    )
    wait_until(lambda: pending() == 0, timeout=90, what="the seeded events to be delivered")

    # Stream goes down; posting still works and the outbox holds what was posted.
    browser.get(f"{base}/timeline/")
    browser.find_element(By.ID, "stop-stream").click()
    wait_until(
        lambda: browser.find_element(By.ID, "stream-state").text == "Stream: stopped",
        what="Stream stopped",
    )
    for text in ("posted during the outage, first", "posted during the outage, second"):
        browser.get(f"{base}/timeline/")
        browser.find_element(By.NAME, "text").send_keys(text)
        browser.find_element(By.CSS_SELECTOR, "form.compose button[type=submit]").click()
        wait_until(lambda: "Tweet posted" in page_text(browser), what="the tweet saved")
    assert "Stream cannot be read right now" in page_text(browser)
    assert pending() == 2
    assert "lag" in page_text(browser)

    # Stream comes back: both arrive, in the order they were posted, and nothing is pending.
    browser.get(f"{base}/timeline/")
    browser.find_element(By.ID, "start-stream").click()
    wait_until(
        lambda: browser.find_element(By.ID, "stream-state").text == "Stream: running",
        what="Stream running again",
    )
    wait_until(lambda: pending() == 0, timeout=60, what="the backlog delivered")

    def profile_texts():
        browser.get(f"{base}/u/staff/")
        return [t for t in page_text(browser).splitlines() if "during the outage" in t]

    assert wait_until(lambda: len(profile_texts()) == 2 and profile_texts()) == [
        "posted during the outage, second",  # newest first, as every feed reads
        "posted during the outage, first",
    ]
