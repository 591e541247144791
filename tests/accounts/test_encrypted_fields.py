from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts.models import OfficialAccount
from tests.factories import make_account, make_brand


def _raw_column(account_id: int, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM accounts_officialaccount WHERE id = %s",  # noqa: S608
            [account_id],
        )
        return cursor.fetchone()[0]


def test_the_column_never_holds_the_plaintext(db):
    account = make_account(brand=make_brand(), app_secret="s3cr3t-app-secret-value")
    for column in ("app_secret", "token", "encoding_aes_key"):
        raw = _raw_column(account.pk, column)
        assert raw.startswith("enc1:")
        assert getattr(account, column) not in raw
    assert OfficialAccount.objects.get(pk=account.pk).app_secret == "s3cr3t-app-secret-value"


def test_rotation_reencrypts_with_the_new_key_and_the_old_key_can_go(db, settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = old
    account = make_account(brand=make_brand(), app_secret="rotate-me-please")
    before = _raw_column(account.pk, "app_secret")

    settings.FIELD_ENCRYPTION_KEY = f"{new},{old}"
    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = _raw_column(account.pk, "app_secret")
    assert after != before

    settings.FIELD_ENCRYPTION_KEY = new
    reloaded = OfficialAccount.objects.get(pk=account.pk)
    assert reloaded.app_secret == "rotate-me-please"
    assert reloaded.token == account.token


def test_a_wrong_key_fails_loudly_instead_of_returning_garbage(db, settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    account = make_account(brand=make_brand())
    settings.FIELD_ENCRYPTION_KEY = Fernet.generate_key().decode()
    try:
        OfficialAccount.objects.get(pk=account.pk)
    except ImproperlyConfigured:
        return
    raise AssertionError("reading with the wrong key should fail")
