# The CRM's sync part (followers/models_sync.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
import django.db.models.deletion
from django.db import migrations, models

# The follower list's indexes (followers/selectors_sync.py): keyset pages by id, brand-wide
# or per account; openid search (exact or prefix); remark search (contains, trigrams).
# Raw SQL so the core model's Meta stays as it is.
LIST_INDEXES = [
    ("follower_brand_id_desc", "(brand_id, id)"),
    ("follower_account_id_desc", "(account_id, id)"),
    ("follower_openid_pattern", "(openid varchar_pattern_ops)"),
    ("follower_remark_trgm", "USING gin ((UPPER(remark::text)) gin_trgm_ops)"),
]


def _create(name: str, columns: str) -> str:
    return f"CREATE INDEX IF NOT EXISTS {name} ON followers_follower {columns}"


def _list_indexes(apps, schema_editor) -> None:  # noqa: ANN001, ARG001
    """PostgreSQL only: the demo's SQLite has neither pg_trgm nor operator classes, and its
    few rows need no index beyond the model's."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, columns in LIST_INDEXES:
        schema_editor.execute(_create(name, columns))


def _drop_list_indexes(apps, schema_editor) -> None:  # noqa: ANN001, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _columns in LIST_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("followers", "0002_crm_core"), ("accounts", "0007_business_hours")]

    operations = [
        migrations.CreateModel(
            name="FollowerListing",
            fields=[
                (
                    "follower",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="listing",
                        serialize=False,
                        to="followers.follower",
                    ),
                ),
                ("sync_id", models.BigIntegerField()),
                ("tagid_list", models.JSONField(blank=True, default=list)),
                ("tags_fetched_at", models.DateTimeField(blank=True, null=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.officialaccount",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["account", "sync_id"], name="follower_listing_sync")
                ],
            },
        ),
        migrations.CreateModel(
            name="FollowerSync",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("running", "Running"),
                            ("paused", "Paused"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("full", "Full"), ("incremental", "Incremental")],
                        default="full",
                        max_length=12,
                        verbose_name="kind",
                    ),
                ),
                (
                    "phase",
                    models.CharField(
                        choices=[
                            ("list", "Listing followers"),
                            ("reconcile", "Marking who left"),
                            ("profiles", "Fetching profiles"),
                            ("link", "Linking customers"),
                            ("finished", "Finished"),
                        ],
                        default="list",
                        max_length=10,
                    ),
                ),
                ("reason", models.TextField(blank=True, verbose_name="reason")),
                ("next_openid", models.CharField(blank=True, max_length=64)),
                ("list_total", models.PositiveIntegerField(blank=True, null=True)),
                ("listed", models.PositiveIntegerField(default=0)),
                ("created_followers", models.PositiveIntegerField(default=0)),
                ("unsubscribed_followers", models.PositiveIntegerField(default=0)),
                ("profile_after_id", models.BigIntegerField(default=0)),
                ("profiles_total", models.PositiveIntegerField(blank=True, null=True)),
                ("profiles_done", models.PositiveIntegerField(default=0)),
                ("linked", models.PositiveIntegerField(default=0)),
                ("errors_count", models.PositiveIntegerField(default=0)),
                ("last_errors", models.JSONField(blank=True, default=list)),
                ("retries", models.PositiveSmallIntegerField(default=0)),
                ("lease", models.CharField(blank=True, max_length=32)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("resume_after", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="follower_syncs",
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
                    "started_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="accounts.membership",
                    ),
                ),
            ],
            options={
                "verbose_name": "follower sync",
                "verbose_name_plural": "follower syncs",
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(fields=["brand", "-created_at"], name="follower_sync_brand")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status__in", ["queued", "running", "paused"])),
                        fields=("account",),
                        name="one_active_follower_sync_per_account",
                    )
                ],
            },
        ),
        migrations.RunPython(_list_indexes, _drop_list_indexes),
    ]
