# The follower list's search by name (followers/selectors_sync.py): a trigram index on the
# customer's name, as 0003 has on the follower's remark, so a search is index lookups at a
# million rows, whatever it matches. PostgreSQL only (the demo's SQLite has no pg_trgm).
from django.db import migrations

INDEX = "customer_name_trgm"


def _create(apps, schema_editor) -> None:  # noqa: ANN001, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON followers_customer "
                          "USING gin ((UPPER(name::text)) gin_trgm_ops)")


def _drop(apps, schema_editor) -> None:  # noqa: ANN001, ARG001
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("followers", "0007_segments")]

    operations = [migrations.RunPython(_create, _drop)]
