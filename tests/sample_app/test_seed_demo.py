"""seed_demo: enough activity to look alive, every write through the outbox, and safe to rerun."""

import pytest
from django.core.management import call_command

from feed_outbox.models import OutboxEvent
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
