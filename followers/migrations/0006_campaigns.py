# The CRM's campaigns part (followers/models_campaigns.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followers", "0005_tags")]

    operations: list = []
