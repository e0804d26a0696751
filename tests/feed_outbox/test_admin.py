"""The outbox admin: read-only list and detail, actions guarded by their own permissions,
a status page with a chart, and the Stream secret nowhere."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from relay.queries import claim_batch
from tests.factories import TweetFactory, UserFactory

# Requests are atomic on every database (ATOMIC_REQUESTS), so the test must allow both.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]

SECRET = "s3cr3t-that-must-never-render-7f1e"
CHANGELIST = "admin:feed_outbox_outboxevent_changelist"


def staff(*codenames):
    user = UserFactory(is_staff=True)
    names = ("view_outboxevent", *codenames)
    user.user_permissions.set(Permission.objects.filter(codename__in=names))
    return user


def act(client, action, events):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [e.pk for e in events]},
        follow=True,
    )


def statuses():
    return list(OutboxEvent.objects.order_by("id").values_list("status", flat=True))


@override_settings(STREAM_API_SECRET=SECRET, STREAM_API_KEY="public-key-123")
def test_no_admin_page_renders_the_stream_secret(client):
    TweetFactory()
    event = OutboxEvent.objects.get()
    OutboxEvent.objects.update(last_error=f"HTTP 403 {'x' * 200}")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = [
        reverse(CHANGELIST),
        reverse(CHANGELIST) + "?status__exact=pending&q=Tweet",
        reverse("admin:feed_outbox_outboxevent_change", args=[event.pk]),
        reverse("admin:feed_outbox_outboxevent_status"),
        reverse("admin:feed_outbox_outboxevent_status") + "?hours=24",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html, url
    assert "public-key-123" in html  # the status page does show which app it talks to


def test_the_list_shows_status_kind_feed_key_attempts_error_and_age(client):
    tweet = TweetFactory()
    OutboxEvent.objects.update(attempts=3, last_error="HTTP 500: upstream\ntraceback")
    client.force_login(staff())
    html = client.get(reverse(CHANGELIST)).content.decode()
    for text in ("pending", "add", f"user:{tweet.user_id}", f"sample_app.Tweet:{tweet.pk}"):
        assert text in html
    assert "HTTP 500: upstream" in html and "traceback" not in html
    assert "Outbox status" in html  # link to the status page


def test_the_detail_page_shows_the_payload_as_formatted_escaped_json(client):
    tweet = TweetFactory(text="<script>alert(1)</script>")
    event = OutboxEvent.objects.get()
    client.force_login(staff())
    html = client.get(reverse("admin:feed_outbox_outboxevent_change", args=[event.pk])).content
    html = html.decode()
    assert f'"foreign_id": "sample_app.Tweet:{tweet.pk}"' in html.replace("&quot;", '"')
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert 'name="status"' not in html  # read-only: no form fields


def test_a_staff_user_without_the_permissions_sees_but_cannot_act(client):
    TweetFactory.create_batch(2)
    events = list(OutboxEvent.objects.order_by("id"))
    OutboxEvent.objects.filter(pk=events[1].pk).update(status=EventStatus.DEAD)
    client.force_login(staff())

    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "retry_now" not in page.content.decode()
    for action in ("retry_now", "requeue_dead_letters", "mark_dead"):
        act(client, action, events)
    assert statuses() == ["pending", "dead"]


def test_mark_dead_needs_the_kill_permission_and_fences_the_lease(client):
    TweetFactory()
    event = OutboxEvent.objects.get()
    OutboxEvent.objects.update(lease_owner="relay-1", lease_token="9" * 32)
    client.force_login(staff("retry_outboxevent", "requeue_outboxevent"))
    act(client, "mark_dead", [event])
    assert statuses() == ["pending"]

    client.force_login(staff("kill_outboxevent"))
    act(client, "mark_dead", [event])
    event.refresh_from_db()
    assert event.status == EventStatus.DEAD
    assert event.lease_token is None and "marked dead in the admin" in event.last_error


def test_retry_now_makes_a_backed_off_event_claimable(client):
    TweetFactory()
    later = timezone.now() + datetime.timedelta(hours=1)
    OutboxEvent.objects.update(available_at=later)
    client.force_login(staff("retry_outboxevent"))
    act(client, "retry_now", list(OutboxEvent.objects.all()))
    assert OutboxEvent.objects.get().available_at is None  # claimable now, on any clock
    assert len(claim_batch("admin-test", 10, 30)) == 1


def test_requeue_dead_letters_skips_one_a_later_event_of_its_key_supersedes(client):
    kept, deleted = TweetFactory(), TweetFactory()
    deleted_key = f"sample_app.Tweet:{deleted.pk}"
    deleted.delete()  # its dead add is followed by a remove: requeuing it would resurrect
    OutboxEvent.objects.filter(kind="add").update(
        status=EventStatus.DEAD, attempts=8, last_error="HTTP 400"
    )
    client.force_login(staff("requeue_outboxevent"))

    response = act(client, "requeue_dead_letters", list(OutboxEvent.objects.filter(kind="add")))

    requeued = OutboxEvent.objects.get(ordering_key=f"sample_app.Tweet:{kept.pk}")
    assert (requeued.status, requeued.attempts) == (EventStatus.PENDING, 0)
    superseded = OutboxEvent.objects.get(ordering_key=deleted_key, kind="add")
    assert superseded.status == EventStatus.DEAD
    assert "outbox_replay --dead" in response.content.decode()


def test_the_status_page_shows_the_figures_and_an_svg_chart(client):
    TweetFactory.create_batch(3)
    now = timezone.now()
    first = OutboxEvent.objects.order_by("id").first()
    OutboxEvent.objects.exclude(pk=first.pk).update(
        status=EventStatus.DELIVERED,
        delivered_at=now,
        created_at=now - datetime.timedelta(seconds=4),
    )
    OutboxEvent.objects.filter(pk=first.pk).update(
        status=EventStatus.DEAD, last_error="HTTP 400: no"
    )
    client.force_login(staff())
    html = client.get(reverse("admin:feed_outbox_outboxevent_status")).content.decode()
    assert "<svg" in html and "<rect" in html and "<polyline" in html
    assert "HTTP 400: no" in html and "Caught up" in html and "in flight (of pending)" in html
    assert "2 delivered" in html  # a bar's tooltip


def test_the_status_page_needs_the_view_permission(client):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:feed_outbox_outboxevent_status")).status_code == 403
