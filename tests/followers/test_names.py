"""The one rule for naming a person (`followers.names`): name, else remark, else
"Customer #id", never the openid; and a language code in words, in the active language."""

import pytest
from django.utils import translation

from followers.models import Customer
from followers.names import language_name, person_display_name
from tests.factories import make_follower

pytestmark = pytest.mark.django_db


def test_the_name_wins_then_the_remark_then_the_customer_number(two_brands):
    a1 = two_brands["a1"]
    mei = Customer.objects.create(brand=two_brands["brand_a"], name="Mei Lin")
    follower = make_follower(account=a1, openid="o_mei", customer=mei, remark="Room 1208")
    assert person_display_name(customer=mei, follower=follower) == "Mei Lin"

    mei.name = "  "
    assert person_display_name(customer=mei, follower=follower) == "Room 1208"

    follower.remark = ""
    assert person_display_name(customer=mei, follower=follower) == f"Customer #{mei.pk}"
    with translation.override("zh-hans"):
        assert person_display_name(customer=mei, follower=follower) == f"客户 #{mei.pk}"
    # Without the conversation's customer, the follower's own one is named.
    assert person_display_name(customer=None, follower=follower) == f"Customer #{mei.pk}"
    assert "o_mei" not in person_display_name(customer=None, follower=follower)


@pytest.mark.parametrize(("code", "english", "chinese"), [
    ("zh_CN", "Chinese (Simplified)", "中文（简体）"),
    ("zh-hans", "Chinese (Simplified)", "中文（简体）"),
    ("zh_TW", "Chinese (Traditional)", "中文（繁体）"),
    ("zh_HK", "Chinese (Traditional)", "中文（繁体）"),
    ("en", "English", "英语"),
    ("fr_FR", "fr_FR", "fr_FR"),
    ("", "", ""),
])
def test_a_language_code_in_words(code, english, chinese):
    with translation.override("en"):
        assert language_name(code) == english
    with translation.override("zh-hans"):
        assert language_name(code) == chinese
