# The CRM's tags part (followers/models_tags.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followers", "0004_identity")]

    operations: list = []
