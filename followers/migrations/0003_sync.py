# The CRM's sync part (followers/models_sync.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followers", "0002_crm_core")]

    operations: list = []
