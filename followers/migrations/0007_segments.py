# The CRM's segments part (followers/models_segments.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followers", "0006_campaigns")]

    operations: list = []
