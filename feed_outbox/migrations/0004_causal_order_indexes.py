# Indexes for causal order across ordering keys (follows against the activities of the feeds
# they follow). The GIN index over `to` targets is PostgreSQL's own, so it is created here
# with SQL and only there; SQLite (one relay) checks the same rule without it.

import django.db.models.fields.json
from django.db import migrations, models

GIN_INDEX = "feed_outbox_pending_to"


def create_gin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name("feed_outbox_outboxevent")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {GIN_INDEX} ON {table} USING gin ((payload -> 'to')) "
        "WHERE status = 'pending' AND payload ? 'to'"
    )


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ('feed_outbox', '0003_available_at_relay_clock'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='outboxevent',
            index=models.Index(django.db.models.fields.json.KT('payload__target'), models.F('id'), condition=models.Q(('kind__in', ('follow', 'unfollow')), ('status', 'pending')), name='feed_outbox_pending_follow'),
        ),
        migrations.RunPython(create_gin, drop_gin),
    ]
