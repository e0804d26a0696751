"""A user's journey through Chirp in headless Chromium: web app, relay process and emulator.

Follow someone, see their tweet once the relay has published it, and find likes aggregated in
the notifications behind an unseen badge.
"""

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.models import Like, Tweet
from tests.browser.conftest import wait_until
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
