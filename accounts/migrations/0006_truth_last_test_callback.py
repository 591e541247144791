from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_brand_and_member_time_zone"),
    ]

    operations = [
        migrations.AddField(
            model_name="officialaccount",
            name="last_test_callback_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="last test callback"
            ),
        ),
    ]
