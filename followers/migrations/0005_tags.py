# The CRM's tags part (followers/models_tags.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_business_hours"),
        ("followers", "0004_identity"),
    ]

    operations = [
        migrations.CreateModel(
            name="TagRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=80, verbose_name="name")),
                (
                    "kind",
                    models.CharField(
                        choices=[("keyword", "Keyword"), ("behaviour", "Behaviour")],
                        default="keyword",
                        max_length=10,
                        verbose_name="kind",
                    ),
                ),
                (
                    "match",
                    models.CharField(
                        choices=[
                            ("exact", "Is exactly"),
                            ("contains", "Contains"),
                            ("regex", "Matches the pattern"),
                        ],
                        default="exact",
                        max_length=10,
                        verbose_name="match",
                    ),
                ),
                ("pattern", models.CharField(blank=True, max_length=200, verbose_name="pattern")),
                (
                    "behaviour",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("campaign", "Came through a QR campaign"),
                            ("menu_click", "Clicked a menu key"),
                            ("messages", "Sent N messages in D days"),
                            ("inactive", "Inactive for D days"),
                            ("multi_account", "Follows two or more of the brand's accounts"),
                        ],
                        max_length=16,
                        verbose_name="behaviour",
                    ),
                ),
                ("menu_key", models.CharField(blank=True, max_length=128, verbose_name="menu key")),
                (
                    "count",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="messages"),
                ),
                ("days", models.PositiveIntegerField(blank=True, null=True, verbose_name="days")),
                (
                    "set_language",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("zh_CN", "Simplified Chinese"),
                            ("zh_TW", "Traditional Chinese"),
                            ("en", "English"),
                        ],
                        max_length=8,
                        verbose_name="set language",
                    ),
                ),
                ("reply_text", models.TextField(blank=True, verbose_name="reply")),
                (
                    "replies",
                    models.JSONField(blank=True, default=dict, verbose_name="replies by language"),
                ),
                ("position", models.PositiveIntegerField(default=0)),
                ("is_active", models.BooleanField(default=True, verbose_name="active")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_rules",
                        to="accounts.officialaccount",
                    ),
                ),
                (
                    "add_tags",
                    models.ManyToManyField(
                        blank=True, related_name="rules_adding", to="followers.tag"
                    ),
                ),
                (
                    "brand",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_rules",
                        to="accounts.brand",
                    ),
                ),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_rules",
                        to="followers.campaign",
                    ),
                ),
                (
                    "remove_tags",
                    models.ManyToManyField(
                        blank=True, related_name="rules_removing", to="followers.tag"
                    ),
                ),
            ],
            options={
                "verbose_name": "tag rule",
                "verbose_name_plural": "tag rules",
                "ordering": ["position", "pk"],
                "indexes": [
                    models.Index(
                        fields=["brand", "kind", "is_active", "position"],
                        name="followers_t_brand_i_4ad29a_idx",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="TagSync",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "op",
                    models.CharField(choices=[("add", "Add"), ("remove", "Remove")], max_length=8),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "Pending"), ("failed", "Not on WeChat")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("reason", models.CharField(blank=True, max_length=255)),
                ("errcode", models.IntegerField(blank=True, null=True)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.officialaccount",
                    ),
                ),
                (
                    "brand",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.brand",
                    ),
                ),
                (
                    "follower",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tag_syncs",
                        to="followers.follower",
                    ),
                ),
                (
                    "tag",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="syncs",
                        to="followers.tag",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["account", "state"], name="followers_t_account_39b4fd_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("follower", "tag"), name="one_tag_sync_per_tag")
                ],
            },
        ),
    ]
