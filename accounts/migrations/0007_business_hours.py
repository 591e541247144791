import django.db.models.deletion
from django.db import migrations, models

import accounts.time_zones


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_truth_last_test_callback"),
    ]

    operations = [
        migrations.CreateModel(
            name="BrandClosure",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=120, verbose_name="name")),
                ("starts_on", models.DateField(verbose_name="first day")),
                ("ends_on", models.DateField(verbose_name="last day")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "accounts",
                    models.ManyToManyField(
                        blank=True,
                        help_text="None means every account of the brand.",
                        related_name="closures",
                        to="accounts.officialaccount",
                        verbose_name="accounts",
                    ),
                ),
                (
                    "brand",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="closures",
                        to="accounts.brand",
                    ),
                ),
            ],
            options={
                "verbose_name": "closure",
                "verbose_name_plural": "closures",
                "ordering": ["starts_on", "name"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("ends_on__gte", models.F("starts_on"))),
                        name="closure_ends_after_start",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="BusinessHours",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(
                        blank=True,
                        help_text="Empty: the account's time zone, or the brand's for a team.",
                        max_length=64,
                        validators=[accounts.time_zones.validate_time_zone],
                        verbose_name="time zone",
                    ),
                ),
                ("week", models.JSONField(blank=True, default=list, verbose_name="weekly hours")),
                (
                    "observe_cn_holidays",
                    models.BooleanField(
                        default=True,
                        help_text=(
                            "Closed on public holidays; open on their make-up working days "
                            "with Monday's hours."
                        ),
                        verbose_name="mainland China public holidays",
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="business_hours",
                        to="accounts.officialaccount",
                        verbose_name="official account",
                    ),
                ),
                (
                    "brand",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="business_hours",
                        to="accounts.brand",
                    ),
                ),
                (
                    "team",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="business_hours",
                        to="accounts.team",
                        verbose_name="team",
                    ),
                ),
            ],
            options={
                "verbose_name": "business hours",
                "verbose_name_plural": "business hours",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("account__isnull", False), ("team__isnull", True)),
                            models.Q(("account__isnull", True), ("team__isnull", False)),
                            _connector="OR",
                        ),
                        name="business_hours_account_xor_team",
                    )
                ],
            },
        ),
    ]
