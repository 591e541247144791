"""Prepared responses: brand library, per-account overrides, languages, variables."""

from __future__ import annotations

import os

import pytest

from accounts.errors import Conflict, InvalidInput, NotInScope, RoleRequired
from accounts.scope import scope_for_membership
from followers.models import Customer
from messaging.errors import PreparedResponseMissing
from messaging.models import PreparedResponse
from messaging.prepared import (
    fill_variables,
    normalize_language,
    prepared_create,
    prepared_render,
    prepared_search,
    prepared_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(two_brands: dict) -> dict:
    brand, a1, a2 = two_brands["brand_a"], two_brands["a1"], two_brands["a2"]
    a1.address, a1.phone, a1.languages = "1 Bund Rd", "021-1234", ["zh-hans", "en"]
    a1.save()
    a2.languages = []
    a2.save()

    def add(key: str, language: str, body: str, account=None) -> None:  # noqa: ANN001
        PreparedResponse.objects.create(brand=brand, account=account, key=key, title=key,
                                        language=language, body=body)

    add("greeting", "en", "Welcome to {account_name}!")
    add("greeting", "zh-hans", "欢迎来到{account_name}！")
    add("greeting", "zh-hant", "歡迎來到{account_name}！")
    add("address", "en", "We are at {address}. Call {phone}.")
    add("address", "en", "Our own address: {address}.", account=a1)
    add("hours", "zh-hans", "营业时间 {hours}")
    PreparedResponse.objects.create(brand=two_brands["brand_b"], key="greeting", title="g",
                                    language="en", body="Brand B says hi")
    return {"scope": scope_for_membership(two_brands["admin_a"]), "a1": a1, "a2": a2,
            **two_brands}


def _render(library: dict, key: str, language: str, account: str = "a2", **kw: object) -> str:
    return prepared_render(scope=library["scope"], account=library[account], key=key,
                           language=language, customer=kw.get("customer"),
                           agent=kw.get("agent"))


def test_the_requested_language_is_chosen(library: dict) -> None:
    assert _render(library, "greeting", "zh-hant") == "歡迎來到A property！"
    assert _render(library, "greeting", "zh_CN") == "欢迎来到A property！"
    assert _render(library, "greeting", "en") == "Welcome to A property!"


def test_a_missing_language_falls_back_to_the_accounts_first_then_english(
    library: dict,
) -> None:
    # a1 speaks zh-hans first; the greeting has no Japanese.
    assert _render(library, "greeting", "ja", account="a1") == "欢迎来到A flagship！"
    # a2 declares no languages: English.
    assert _render(library, "greeting", "ja") == "Welcome to A property!"
    # Only a Simplified Chinese version exists: English requests still get an answer.
    assert _render(library, "hours", "en") == "营业时间 09:00–21:00"


def test_an_accounts_own_version_overrides_the_brands(library: dict) -> None:
    assert _render(library, "address", "en", account="a1") == "Our own address: 1 Bund Rd."
    assert _render(library, "address", "en", account="a2") == "We are at . Call ."


def test_variables_are_filled_from_account_customer_and_agent(library: dict) -> None:
    customer = Customer.objects.create(brand=library["brand_a"], name="Mr Wang")
    agent = library["manager_a"]
    agent.display_name = "Lily"
    PreparedResponse.objects.create(
        brand=library["brand_a"], key="sign", title="sign", language="en",
        body="Dear {customer_name}, {account_name} ({phone}) is open {hours}. {agent_name}",
    )
    text = _render(library, "sign", "en", account="a1", customer=customer, agent=agent)
    assert text == "Dear Mr Wang, A flagship (021-1234) is open 09:00–21:00. Lily"


def test_unknown_variables_stay_visible_and_formats_cannot_reach_attributes() -> None:
    values = {"account_name": "Lumen"}
    assert fill_variables("Hi {nickname} from {account_name}", values) == \
        "Hi {nickname} from Lumen"
    assert fill_variables("{account_name.__class__} {0} {", values) == \
        "{account_name.__class__} {0} {"


def test_a_known_variable_without_a_value_is_left_empty(library: dict) -> None:
    # A follower must never receive "{customer_name}" because the customer has no name.
    PreparedResponse.objects.create(brand=library["brand_a"], key="dear", title="d",
                                    language="en", body="Dear {customer_name}, hi")
    customer = Customer.objects.create(brand=library["brand_a"])
    assert _render(library, "dear", "en", customer=customer) == "Dear , hi"


def test_a_missing_key_says_so(library: dict) -> None:
    with pytest.raises(PreparedResponseMissing):
        _render(library, "nope", "en")


def test_another_brands_account_is_not_in_scope(library: dict) -> None:
    with pytest.raises(NotInScope):
        _render(library, "greeting", "en", account="b1")


def test_search_offers_one_version_per_key_for_the_account_and_language(library: dict) -> None:
    found = prepared_search(scope=library["scope"], account=library["a1"], q="", language="en")
    assert [(p.key, p.language, p.account_id) for p in found] == [
        ("address", "en", library["a1"].pk),
        ("greeting", "en", None),
        ("hours", "zh-hans", None),
    ]
    found = prepared_search(scope=library["scope"], account=library["a2"], q="欢迎",
                            language="zh-hant")
    assert [(p.key, p.body) for p in found] == [("greeting", "歡迎來到{account_name}！")]
    assert all(p.brand_id == library["brand_a"].pk for p in
               prepared_search(scope=library["scope"], account=None, q="hi", language="en"))


def test_normalize_language() -> None:
    assert [normalize_language(c) for c in ("zh_CN", "zh-TW", "EN", "ja", "", None)] == [
        "zh-hans", "zh-hant", "en", "", "", "",
    ]


def test_admins_edit_the_library_agents_do_not(library: dict) -> None:
    scope = library["scope"]
    created = prepared_create(scope=scope, key="parking", language="zh-Hans", body="停车免费")
    assert (created.language, created.title, created.account_id) == ("zh-hans", "Parking", None)
    with pytest.raises(Conflict):
        prepared_create(scope=scope, key="parking", language="zh-hans", body="again")
    with pytest.raises(InvalidInput):
        prepared_create(scope=scope, key="parking", language="fr", body="Parking gratuit")
    agent_scope = scope_for_membership(library["agent_a"])
    with pytest.raises(RoleRequired):
        prepared_create(scope=agent_scope, key="x", language="en", body="x")
    with pytest.raises(RoleRequired):
        prepared_update(scope=agent_scope, prepared=created, body="changed")


def test_a_manager_edits_only_overrides_of_their_accounts(library: dict) -> None:
    scope = scope_for_membership(library["manager_a"])  # serves a1
    own = prepared_create(scope=scope, account=library["a1"], key="greeting", language="en",
                          body="Welcome to the flagship")
    assert own.account_id == library["a1"].pk
    with pytest.raises(RoleRequired):
        prepared_create(scope=scope, key="brandwide", language="en", body="no")
    with pytest.raises(NotInScope):
        prepared_create(scope=scope, account=library["a2"], key="greeting", language="en",
                        body="not mine")


def test_the_demo_library_is_seeded_once_with_the_bund_override() -> None:
    from django.core.management import call_command

    from accounts.models import Brand, Membership, OfficialAccount
    from messaging.models import AutoReply

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (PreparedResponse.objects.count(), AutoReply.objects.count())
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (PreparedResponse.objects.count(), AutoReply.objects.count()) == counts
    brand = Brand.objects.get(slug="lumen")
    agent = Membership.objects.get(brand=brand, user__email="agent@lumen.demo")
    scope = scope_for_membership(agent)
    bund = OfficialAccount.objects.get(appid="wx1a2b3c4d5e6f7002")
    sanlitun = OfficialAccount.objects.get(appid="wx1a2b3c4d5e6f7003")
    assert prepared_render(scope=scope, account=bund, key="parking", language="en") \
        .startswith("Valet parking")
    assert prepared_render(scope=scope, account=sanlitun, key="parking", language="zh-hant") \
        == "Lumen Beijing Sanlitun住店客人免費停車，請出示房卡。"
    greeting = prepared_render(scope=scope, account=bund, key="greeting", language="zh-hans")
    assert greeting == "您好，欢迎来到Lumen Shanghai Bund！我是Lily，请问有什么可以帮您？"
    assert {r.trigger for r in AutoReply.objects.filter(kind="keyword")} == {
        "TC", "SC", "EN", "早餐",
    }
