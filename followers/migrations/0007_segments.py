# The CRM's segments part (followers/models_segments.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
import django.db.models.deletion
from django.db import migrations, models

# The indexes the segment compiler's conditions use (followers.segments), on tables the
# core owns: plain SQL, so the models' state (and makemigrations) stays the core's. On a
# million followers a count starts from the brand's following followers of a language, a
# campaign's codes or a follow date range, and a tag condition walks the follower-tag
# table from the tag's side. On PostgreSQL the language index also carries the follow date
# and the customer, so the usual count (with its distinct customers) reads the index alone.
INDEXES = [
    ("followers_follower_seg_lang", "followers_follower", "brand_id, subscribed, language",
     "subscribed_at, customer_id"),
    ("followers_follower_seg_qr", "followers_follower", "brand_id, qrcode_id", ""),
    ("followers_follower_seg_since", "followers_follower", "brand_id, subscribed_at", ""),
    ("followers_follower_seg_active", "followers_follower", "brand_id, last_inbound_at", ""),
    ("followers_follower_tags_seg_tag", "followers_follower_tags", "tag_id, follower_id", ""),
]


def create_indexes(apps, schema_editor) -> None:  # noqa: ANN001
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, columns, carried in INDEXES:
        include = f" INCLUDE ({carried})" if carried and postgres else ""
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns}){include}")


def drop_indexes(apps, schema_editor) -> None:  # noqa: ANN001
    for name, *_rest in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_business_hours"),
        ("followers", "0006_campaigns"),
    ]

    operations: list = [
        migrations.CreateModel(
            name="Segment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=80, verbose_name="name")),
                ("definition", models.JSONField(blank=True, default=dict,
                                                verbose_name="definition")),
                ("last_followers", models.PositiveIntegerField(blank=True, null=True)),
                ("last_customers", models.PositiveIntegerField(blank=True, null=True)),
                ("counted_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("brand", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                            related_name="segments", to="accounts.brand")),
                ("created_by", models.ForeignKey(blank=True, null=True,
                                                 on_delete=django.db.models.deletion.SET_NULL,
                                                 related_name="+", to="accounts.membership")),
            ],
            options={
                "verbose_name": "segment",
                "verbose_name_plural": "segments",
                "ordering": ["name"],
                "constraints": [models.UniqueConstraint(fields=("brand", "name"),
                                                        name="unique_segment_name")],
            },
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
