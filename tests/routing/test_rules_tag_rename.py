"""A brand tag renamed in the CRM: routing rules that name it go on matching it."""

from __future__ import annotations

import pytest

from followers import tags as tag_services
from followers.models import Tag
from routing.models import RoutingRule
from tests.factories import make_brand, make_team

pytestmark = pytest.mark.django_db


def test_rules_naming_a_renamed_tag_take_its_new_name(django_capture_on_commit_callbacks):
    lumen, rival = make_brand(name="Lumen"), make_brand(name="Rival")
    vip = Tag.objects.create(brand=lumen, name="VIP")
    rules = {}
    for brand, name, tags in ((lumen, "vip guests", ["VIP", "Gold"]),
                              (lumen, "gold only", ["Gold"]),
                              (rival, "their vip", ["VIP"])):
        rules[name] = RoutingRule.objects.create(
            brand=brand, name=name, action=RoutingRule.Action.TEAM,
            team=make_team(brand=brand), tags=tags)
    with django_capture_on_commit_callbacks(execute=True):
        tag_services.tag_rename(tag=vip, name="VIP Gold")  # no account carries it yet
    for rule in rules.values():
        rule.refresh_from_db()
    assert rules["vip guests"].tags == ["VIP Gold", "Gold"]
    assert rules["gold only"].tags == ["Gold"]
    assert rules["their vip"].tags == ["VIP"]  # another brand's tag of that name
