# The time zone must be a real IANA zone. Only the field's validators change: no SQL.

from django.db import migrations, models

import accounts.time_zones


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_tokens_and_platform"),
    ]

    operations = [
        migrations.AlterField(
            model_name="officialaccount",
            name="timezone",
            field=models.CharField(
                default="Asia/Shanghai",
                max_length=64,
                validators=[accounts.time_zones.validate_time_zone],
                verbose_name="time zone",
            ),
        ),
    ]
