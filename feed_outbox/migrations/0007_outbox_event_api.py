# The Stream API an outbox row is delivered to (issue 16). Numbered 0006 because another
# branch adds 0005; it depends on 0004, the newest on main when it was written (fix at merge).
#
# On PostgreSQL the column also keeps a database default: rows inserted by code that does not
# know the column (web processes of the previous release during a rolling deploy, raw SQL)
# are v2's, which is what they were before.

from django.db import migrations, models


def set_db_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name("feed_outbox_outboxevent")
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN api SET DEFAULT 'v2'")


def drop_db_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name("feed_outbox_outboxevent")
        schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN api DROP DEFAULT")


class Migration(migrations.Migration):

    dependencies = [
        ('feed_outbox', '0006_trace_context'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxevent',
            name='api',
            field=models.CharField(choices=[('v2', 'Feeds v2 (stream-python)'), ('v3', 'Feeds v3 (getstream)')], default='v2', max_length=8),
        ),
        migrations.RunPython(set_db_default, drop_db_default),
    ]
