"""seed_demo: enough activity to look alive, every write through the outbox, and safe to rerun;
its staff account operates the outbox with exactly the permissions that needs."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.management.commands.seed_demo import (
    OPERATOR_PERMISSIONS,
    OPERATORS,
    PASSWORD,
    STAFF,
)
from sample_app.models import Follow, Like, Tweet

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_seed_demo_fills_every_feed_and_is_idempotent(outbox_drain, user_feed_activities):
    from django.contrib.auth import get_user_model

    call_command("seed_demo", stdout=None)
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("demo")
    assert Tweet.objects.count() >= 20 and Like.objects.count() >= 10
    assert Follow.objects.filter(user=alice).exists()
    events = OutboxEvent.objects.count()

    call_command("seed_demo")
    assert OutboxEvent.objects.count() == events  # nothing written twice

    stats = outbox_drain()
    assert stats.dead == 0
    assert user_feed_activities(f"timeline:{alice.pk}")
    assert user_feed_activities(f"notification:{alice.pk}")


def act_as(client, action, events):
    return client.post(
        reverse("admin:feed_outbox_outboxevent_changelist"),
        {"action": action, "_selected_action": [e.pk for e in events]},
        follow=True,
    )


# Requests are atomic on every database (ATOMIC_REQUESTS), the second one included.
@pytest.mark.django_db(databases=["default", "other"])
def test_the_demo_staff_is_an_outbox_operator_not_a_superuser(client):
    call_command("seed_demo", stdout=StringIO())
    staff = get_user_model().objects.get(username=STAFF)

    assert staff.is_staff and not staff.is_superuser
    assert staff.get_all_permissions() == {f"feed_outbox.{p}" for p in OPERATOR_PERMISSIONS}
    assert client.login(username=STAFF, password=PASSWORD)  # the password docs/demo.md prints
    assert client.get(reverse("admin:feed_outbox_outboxevent_status")).status_code == 200
    assert client.get(reverse("admin:feed_outbox_outboxevent_changelist")).status_code == 200
    # Nothing beyond the outbox: the users, the tweets and the groups are not its to see.
    for page in ("admin:auth_user_changelist", "admin:auth_group_changelist"):
        assert client.get(reverse(page)).status_code == 403, page


@pytest.mark.django_db(databases=["default", "other"])
def test_the_demo_staff_can_retry_requeue_and_mark_dead(client):
    call_command("seed_demo", stdout=StringIO())
    assert client.login(username=STAFF, password=PASSWORD)
    first, second = OutboxEvent.objects.order_by("id")[:2]
    OutboxEvent.objects.filter(pk=first.pk).update(
        available_at=timezone.now() + datetime.timedelta(hours=1)
    )

    act_as(client, "retry_now", [first])
    first.refresh_from_db()
    assert first.available_at is None
    act_as(client, "mark_dead", [second])
    second.refresh_from_db()
    assert second.status == EventStatus.DEAD and STAFF in second.last_error
    act_as(client, "requeue_dead_letters", [second])
    second.refresh_from_db()
    assert (second.status, second.attempts) == (EventStatus.PENDING, 0)


@pytest.mark.django_db(databases=["default", "other"])
def test_a_staff_seeded_as_a_superuser_before_is_made_an_operator(client):
    User = get_user_model()
    User.objects.create_superuser(STAFF, password=PASSWORD)  # an older .demo/

    call_command("seed_demo", stdout=StringIO())

    staff = User.objects.get(username=STAFF)
    assert staff.is_staff and not staff.is_superuser
    assert staff.groups.get().name == OPERATORS
    assert staff.check_password(PASSWORD)
