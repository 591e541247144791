"""The reply box's prepared-response search (`messaging.prepared.prepared_search`): by
title, shortcut (key) and text, in all three languages of the library; case, punctuation,
spaces and hyphens between letters do not count; still the brand's library and the
account's own overrides only."""

from __future__ import annotations

import pytest

from messaging.models import PreparedResponse
from messaging.prepared import prepared_search, search_form
from tests.factories import owner_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(two_brands: dict) -> dict:
    w = two_brands
    brand, a2 = w["brand_a"], w["a2"]

    def add(key: str, language: str, title: str, body: str, account=None, brand=brand):  # noqa: ANN001, ANN202
        return PreparedResponse.objects.create(brand=brand, account=account, key=key,
                                               title=title, language=language, body=body)

    add("network", "en", "Internet in the rooms", "The Wi-Fi password is on your key card.")
    add("network", "zh-hans", "客房上网", "Wi-Fi 密码印在房卡上。")
    add("network", "zh-hant", "客房上網", "Wi‑Fi 密碼印在房卡上。")
    add("late-checkout", "en", "Late check-out", "Check-out is possible until 14:00.")
    add("breakfast", "zh-hans", "早餐时间", "早餐 6:30–10:30。")
    # Another account's override and another brand's library stay out of a1's search.
    add("parking", "en", "Parking", "Wi-Fi covers the car park too.", account=a2)
    add("rival-wifi", "en", "Rival Wi-Fi", "WIFI everywhere", brand=w["brand_b"])
    return w


def _keys(library: dict, q: str, language: str = "en", account: str = "a1") -> list[str]:
    found = prepared_search(scope=owner_scope(library["brand_a"]),
                            account=library[account], q=q, language=language)
    return [p.key for p in found]


@pytest.mark.parametrize("q", ["wifi", "WIFI", "Wi-Fi", "wi fi", "ＷｉＦｉ", "wi_fi"])
def test_wifi_in_any_spelling_finds_the_response_mentioning_wi_fi(library, q):
    assert _keys(library, q) == ["network"]


def test_a_query_in_chinese_finds_the_chinese_text_and_offers_the_agents_language(library):
    found = prepared_search(scope=owner_scope(library["brand_a"]), account=library["a1"],
                            q="WIFI密码", language="en")
    # Found by its Simplified Chinese version; offered in the language asked for.
    assert [(p.key, p.language) for p in found] == [("network", "en")]
    assert _keys(library, "密碼", language="zh-hant") == ["network"]
    assert _keys(library, "早餐") == ["breakfast"]


def test_title_and_shortcut_are_searched_too(library):
    assert _keys(library, "latecheckout") == ["late-checkout"]  # the key, hyphen ignored
    assert _keys(library, "check out") == ["late-checkout"]  # the title
    assert _keys(library, "internet") == ["network"]
    assert _keys(library, "客房") == ["network"]


def test_the_scope_stays_the_brand_and_the_accounts_overrides(library):
    assert _keys(library, "wifi") == ["network"]
    assert _keys(library, "wifi", account="a2") == ["network", "parking"]
    assert "rival-wifi" not in _keys(library, "rival")


def test_a_query_without_letters_or_digits_matches_everything(library):
    assert _keys(library, " - ") == _keys(library, "")


def test_the_search_form_folds_case_width_and_separators():
    assert search_form("Wi-Fi 密码！") == "wifi密码"
    assert search_form("ＷＩ－ＦＩ") == "wifi"


def test_the_api_search_finds_wifi(client, library):
    client.force_login(library["admin_a"].user)
    response = client.get("/api/v1/prepared-responses/search/",
                          {"q": "wifi", "account": library["a1"].pk, "language": "en"})
    assert response.status_code == 200, response.content
    assert [row["key"] for row in response.json()["results"]] == ["network"]
