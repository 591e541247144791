"""Re-encrypt every secret with the first key of FIELD_ENCRYPTION_KEY.

Rotation: set FIELD_ENCRYPTION_KEY="NEW,OLD", run this command, then set it to "NEW".
Loading a row decrypts with any listed key; writing it back encrypts with the first.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.crypto_fields import EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the current primary key."

    def handle(self, *args: object, **options: object) -> None:
        total = 0
        for model in apps.get_models():
            names = [f.attname for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            if not names:
                continue
            manager = model._base_manager
            with transaction.atomic():
                for row in manager.select_for_update().only("pk", *names).iterator():
                    manager.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
                    total += 1
        self.stdout.write(f"re-encrypted secrets on {total} rows")
