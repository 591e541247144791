import pytest
from django.core import mail

from accounts import services
from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.models import ApiKey, Membership, Role
from accounts.scope import scope_for_membership
from tests.factories import make_account, make_brand, make_member, make_user, owner_scope

pytestmark = pytest.mark.django_db


def test_account_create_generates_callback_secrets():
    account = make_account(brand=make_brand())
    assert len(account.token) == 32
    assert len(account.encoding_aes_key) == 43


def test_account_create_refuses_a_malformed_appid():
    with pytest.raises(InvalidInput):
        make_account(brand=make_brand(), appid="not-an-appid")


def test_a_taken_appid_is_a_conflict_even_across_brands():
    account = make_account(brand=make_brand())
    with pytest.raises(Conflict):
        make_account(brand=make_brand(), appid=account.appid)


def test_only_one_flagship_per_brand():
    brand = make_brand()
    first = make_account(brand=brand, is_flagship=True)
    second = make_account(brand=brand, is_flagship=True)
    first.refresh_from_db()
    assert second.is_flagship and not first.is_flagship


def test_changing_the_token_keeps_the_old_one_for_a_grace_period():
    brand = make_brand()
    account = make_account(brand=brand)
    old_token = account.token
    services.account_update(scope=owner_scope(brand), account=account, token="NewToken123")
    account.refresh_from_db()
    assert account.token == "NewToken123"
    assert account.previous_token == old_token
    assert account.previous_secrets_valid_until is not None


def test_blank_secrets_keep_their_values_on_update():
    brand = make_brand()
    account = make_account(brand=brand, app_secret="keep-this-secret")
    services.account_update(scope=owner_scope(brand), account=account, app_secret="", name="X")
    account.refresh_from_db()
    assert account.app_secret == "keep-this-secret" and account.name == "X"


def test_an_agent_cannot_create_accounts():
    brand = make_brand()
    agent = make_member(brand=brand, role=Role.AGENT)
    with pytest.raises(RoleRequired):
        services.account_create(
            scope=scope_for_membership(agent), name="x", appid="wx0000000000000abc"
        )


def test_an_agent_with_no_served_accounts_sees_all_and_with_some_sees_only_those():
    brand = make_brand()
    a, b = make_account(brand=brand), make_account(brand=brand)
    everywhere = scope_for_membership(make_member(brand=brand))
    one = scope_for_membership(make_member(brand=brand, accounts=[b]))
    assert set(everywhere.accounts()) == {a, b}
    assert list(one.accounts()) == [b]


def test_invitation_round_trip_creates_the_membership_with_role_and_accounts(
    django_capture_on_commit_callbacks,
):
    brand = make_brand()
    account = make_account(brand=brand)
    inviter = Membership.objects.get(brand=brand).user
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = services.invitation_create(
            scope=owner_scope(brand),
            email="New.Agent@Example.com",
            role=Role.AGENT,
            account_ids=[account.pk],
            by=inviter,
        )
    assert len(mail.outbox) == 1 and raw in mail.outbox[0].body
    assert raw not in invitation.token_hash
    user = make_user(email="new.agent@example.com")
    membership = services.invitation_accept(raw_token=raw, user=user)
    assert membership.role == Role.AGENT
    assert list(membership.accounts.all()) == [account]
    with pytest.raises(NotInScope):
        services.invitation_accept(raw_token=raw, user=user)


def test_an_invitation_cannot_be_taken_by_another_email():
    brand = make_brand()
    _inv, raw = services.invitation_create(
        scope=owner_scope(brand), email="a@example.com", role="agent", account_ids=[], by=None
    )
    with pytest.raises(InvalidInput):
        services.invitation_accept(raw_token=raw, user=make_user(email="b@example.com"))
    assert not Membership.objects.filter(user__email="b@example.com").exists()


def test_an_invitation_cannot_name_a_foreign_account():
    brand, foreign = make_brand(), make_account(brand=make_brand())
    with pytest.raises(NotInScope):
        services.invitation_create(
            scope=owner_scope(brand), email="x@example.com", role="agent",
            account_ids=[foreign.pk], by=None,
        )


def test_an_admin_cannot_make_owners():
    brand = make_brand()
    admin = make_member(brand=brand, role=Role.ADMIN)
    agent = make_member(brand=brand)
    with pytest.raises(RoleRequired):
        services.membership_update(
            scope=scope_for_membership(admin), membership=agent, role=Role.OWNER, account_ids=[]
        )


def test_the_last_owner_cannot_be_demoted_or_removed():
    brand = make_brand()
    owner = Membership.objects.get(brand=brand, role=Role.OWNER)
    scope = owner_scope(brand)
    with pytest.raises(Conflict):
        services.membership_update(scope=scope, membership=owner, role=Role.ADMIN, account_ids=[])
    with pytest.raises(Conflict):
        services.membership_remove(scope=scope, membership=owner)
    assert Membership.objects.filter(pk=owner.pk, role=Role.OWNER).exists()


def test_a_manager_team_must_stay_inside_their_accounts():
    brand = make_brand()
    mine, other = make_account(brand=brand), make_account(brand=brand)
    manager = scope_for_membership(make_member(brand=brand, role=Role.MANAGER, accounts=[mine]))
    with pytest.raises(InvalidInput):
        services.team_create(scope=manager, name="everything", account_ids=[])
    with pytest.raises(NotInScope):
        services.team_create(scope=manager, name="theirs", account_ids=[other.pk])
    team = services.team_create(scope=manager, name="mine", account_ids=[mine.pk])
    assert list(team.accounts.all()) == [mine]


def test_api_keys_are_stored_hashed_and_authenticate_until_revoked():
    brand = make_brand()
    key, raw = services.api_key_create(brand=brand, name="CRM sync")
    assert raw not in key.key_hash and key.prefix == raw[:10]
    assert ApiKey.objects.filter(key_hash__contains=raw).count() == 0
    assert services.api_key_authenticate(raw=raw) == key
    assert services.api_key_authenticate(raw=raw + "x") is None
    services.api_key_revoke(scope=owner_scope(brand), key=key)
    assert services.api_key_authenticate(raw=raw) is None


def test_a_bad_naming_pattern_is_refused():
    brand = make_brand()
    with pytest.raises(InvalidInput):
        services.brand_update_settings(
            scope=owner_scope(brand), require_mfa=False, account_name_pattern="(["
        )


def test_naming_violations_list_the_accounts_that_break_the_convention():
    brand = make_brand()
    good = make_account(brand=brand, name="Lumen Shanghai")
    bad = make_account(brand=brand, name="shanghai hotel")
    services.brand_update_settings(
        scope=owner_scope(brand), require_mfa=False, account_name_pattern=r"Lumen .+"
    )
    brand.refresh_from_db()
    violations = services.account_name_violations(scope=owner_scope(brand))
    assert bad in violations and good not in violations
