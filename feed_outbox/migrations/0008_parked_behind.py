# Claim indexes that leave held-back rows out (issue 12, "the claim stays flat when many
# pending events are held back"): a backlog that is all behind its keys or behind a pending
# follow is parked (column parked_behind, set by relay.queries.park), and leased or backing-off
# rows are found by the time they become claimable, not by walking them in id order.
#
# PostgreSQL only (the claim that reads them is PostgreSQL's; SQLite claims in Python). The
# indexes are built CONCURRENTLY (so the migration is not atomic): a large outbox table keeps
# taking writes while they are built.

from django.db import migrations, models

TABLE = "feed_outbox_outboxevent"
FRESH = (
    "status = 'pending' AND parked_behind IS NULL AND available_at IS NULL "
    "AND lease_expires_at IS NULL"
)
TIMED = (
    "status = 'pending' AND parked_behind IS NULL "
    "AND (available_at IS NOT NULL OR lease_expires_at IS NOT NULL)"
)
INDEXES = {
    "feed_outbox_fresh_id": f"(id) WHERE {FRESH}",
    "feed_outbox_fresh_feed": f"(feed, id) WHERE {FRESH}",
    "feed_outbox_timed": f"((greatest(available_at, lease_expires_at)), id) WHERE {TIMED}",
    "feed_outbox_parked": "(parked_behind) WHERE status = 'pending' AND parked_behind IS NOT NULL",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(TABLE)
    for name, definition in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} {definition}"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('feed_outbox', '0007_outbox_event_api'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxevent',
            name='parked_behind',
            field=models.BigIntegerField(blank=True, default=None, editable=False, null=True),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
