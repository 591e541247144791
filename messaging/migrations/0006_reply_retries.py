# Replies retried on a schedule kept in the database (send_attempts, next_attempt_at), the
# failures that may have reached the follower marked as such (maybe_delivered: never
# retried), and the inbound sweep's claim on the rows it queued (sweep_after).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0005_message_attempted_at'),
    ]

    operations = [
        migrations.AddField(
            model_name='inbound',
            name='sweep_after',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='maybe_delivered',
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name='message',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='send_attempts',
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        # Until now the reason alone said so (messaging.services.MAYBE_DELIVERED).
        migrations.RunSQL(
            "UPDATE messaging_message SET maybe_delivered = TRUE WHERE status = 'failed' AND "
            "error_reason = 'WeChat did not confirm this message and may have delivered it: "
            "check with the follower before sending it again'",
            migrations.RunSQL.noop,
        ),
    ]
