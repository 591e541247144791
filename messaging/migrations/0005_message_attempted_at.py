# A reply's last send attempt, for the send sweeps, and a partial index for their rows.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0004_inbound_passive_reply'),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='attempted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(condition=models.Q(('status__in', ['queued', 'sending'])), fields=['status'], name='message_unsent'),
        ),
    ]
