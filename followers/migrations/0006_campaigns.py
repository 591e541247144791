# The CRM's campaigns part (followers/models_campaigns.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("followers", "0005_tags"), ("accounts", "0007_business_hours")]

    operations: list = [
        migrations.CreateModel(
            name="CrmRetention",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("erase_after_days", models.PositiveIntegerField(
                    default=30, help_text="Days after a customer's last unfollow; 0 never erases.",
                    validators=[django.core.validators.MaxValueValidator(3650)],
                    verbose_name="erase personal data after (days)")),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("brand", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="crm_retention",
                                               to="accounts.brand")),
            ],
            options={"verbose_name": "CRM retention setting"},
        ),
    ]
