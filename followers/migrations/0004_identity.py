# The CRM's identity part (followers/models_identity.py). Written by hand from
# `makemigrations followers --dry-run -v 3`, one file per part.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("followers", "0003_sync")]

    operations: list = []
