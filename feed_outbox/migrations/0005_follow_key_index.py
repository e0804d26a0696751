from django.db import migrations, models


class Migration(migrations.Migration):
    """The follow truth's index: newest event per follow key (reconcile, purge)."""

    dependencies = [
        ("feed_outbox", "0004_causal_order_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("aggregate_type", "follow")),
                fields=["ordering_key", "id"],
                name="feed_outbox_follow_key",
            ),
        ),
    ]
