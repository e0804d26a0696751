# The Stream API an outbox row is delivered to (issue 16). Numbered 0006 because another
# branch adds 0005; it depends on 0004, the newest on main when it was written (fix at merge).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feed_outbox', '0004_causal_order_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxevent',
            name='api',
            field=models.CharField(choices=[('v2', 'Feeds v2 (stream-python)'), ('v3', 'Feeds v3 (getstream)')], default='v2', max_length=8),
        ),
    ]
