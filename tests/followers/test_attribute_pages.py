"""The customer attribute definitions page (/crm/attributes/): the list, a new attribute, an
edit and a deletion by an owner or admin; a refused definition said beside its field with
nothing written; managers and agents read only; a foreign brand's ids 404."""

from __future__ import annotations

import pytest

from accounts.scope import scope_for_membership
from followers.attributes import attribute_create
from followers.models import Customer, CustomerAttribute

pytestmark = pytest.mark.django_db

NEW = {"key": "", "label": "", "kind": "text", "choices": "", "position": ""}


@pytest.fixture
def tier(two_brands):
    return attribute_create(scope=scope_for_membership(two_brands["admin_a"]), key="tier",
                            label="Tier", kind="choice", choices=["gold", "silver"])


def _messages(response) -> list[str]:  # noqa: ANN001
    return [str(m) for m in response.context["messages"]]


def test_an_admin_lists_and_creates_attributes(client, two_brands, tier):
    client.force_login(two_brands["admin_a"].user)
    page = client.get("/crm/attributes/")
    body = page.content.decode()
    assert page.status_code == 200 and "attribute-form" in body
    assert "<code>tier</code>" in body and "gold, silver" in body and "Choice" in body
    made = client.post("/crm/attributes/", {**NEW, "key": "birthday", "label": "Birthday",
                                            "kind": "date"}, follow=True)
    assert made.redirect_chain[-1][0] == "/crm/attributes/"
    assert "Attribute Birthday saved." in _messages(made)
    client.post("/crm/attributes/", {**NEW, "key": "size", "label": "Size", "kind": "choice",
                                     "choices": "S\n M \n\nL", "position": "0"})
    rows = {a.key: (a.label, a.kind, a.choices, a.position)
            for a in CustomerAttribute.objects.filter(brand=two_brands["brand_a"])}
    assert rows == {"tier": ("Tier", "choice", ["gold", "silver"], 0),
                    "birthday": ("Birthday", "date", [], 1),
                    "size": ("Size", "choice", ["S", "M", "L"], 0)}


@pytest.mark.parametrize("data,field,said", [
    ({"key": "Bad Key", "label": "Bad"}, "key", "A key is lower-case letters"),
    ({"key": "tier", "label": "Tier again"}, "key", "An attribute with this key exists."),
    ({"key": "colour", "label": "Colour", "kind": "choice"}, "choices",
     "A choice attribute needs at least one choice"),
    ({"key": "colour", "label": "Colour", "kind": "choice", "choices": "red\nred"}, "choices",
     "each given once"),
    ({"key": "notes", "label": "Notes", "choices": "a"}, "choices",
     "Only a choice attribute has choices."),
])
def test_a_refused_definition_is_said_beside_its_field(client, two_brands, tier, data, field,
                                                       said):
    client.force_login(two_brands["admin_a"].user)
    refused = client.post("/crm/attributes/", {**NEW, **data})
    assert refused.status_code == 200
    assert any(said in e for e in refused.context["form"].errors[field]), refused.context[
        "form"].errors
    assert said in refused.content.decode().replace("&#x27;", "'")
    assert list(CustomerAttribute.objects.values_list("key", flat=True)) == ["tier"]


def test_an_edit_changes_label_choices_and_position_not_key_or_kind(client, two_brands, tier):
    client.force_login(two_brands["admin_a"].user)
    url = f"/crm/attributes/{tier.pk}/edit/"
    form = client.get(url)
    assert form.status_code == 200 and "gold\nsilver" in form.content.decode()
    saved = client.post(url, {"key": "rank", "kind": "text", "label": "Member tier",
                              "choices": "gold\nsilver\nbronze", "position": "3"}, follow=True)
    assert "Attribute Member tier saved." in _messages(saved)
    tier.refresh_from_db()
    assert (tier.key, tier.kind, tier.label, tier.choices, tier.position) == (
        "tier", "choice", "Member tier", ["gold", "silver", "bronze"], 3)
    refused = client.post(url, {"label": "Tier", "choices": ""})
    assert "A choice attribute needs at least one choice" in refused.content.decode()
    tier.refresh_from_db()
    assert tier.choices == ["gold", "silver", "bronze"] and tier.label == "Member tier"


def test_a_text_attributes_edit_has_no_choices(client, two_brands):
    notes = attribute_create(scope=scope_for_membership(two_brands["admin_a"]), key="notes",
                             label="Notes")
    client.force_login(two_brands["admin_a"].user)
    url = f"/crm/attributes/{notes.pk}/edit/"
    assert 'name="choices"' not in client.get(url).content.decode()
    client.post(url, {"label": "Remarks", "choices": "sneaked in"})
    notes.refresh_from_db()
    assert (notes.label, notes.choices) == ("Remarks", [])


def test_deleting_asks_first_and_keeps_stored_values(client, two_brands, tier):
    customer = Customer.objects.create(brand=two_brands["brand_a"], attributes={"tier": "gold"})
    client.force_login(two_brands["admin_a"].user)
    url = f"/crm/attributes/{tier.pk}/delete/"
    asked = client.get(url)
    assert asked.status_code == 200 and "Tier" in asked.content.decode()
    assert CustomerAttribute.objects.filter(pk=tier.pk).exists()
    gone = client.post(url, follow=True)
    assert gone.redirect_chain[-1][0] == "/crm/attributes/"
    assert "Attribute Tier deleted." in _messages(gone)
    assert not CustomerAttribute.objects.filter(pk=tier.pk).exists()
    customer.refresh_from_db()
    assert customer.attributes == {"tier": "gold"}


@pytest.mark.parametrize("role", ["manager_a", "agent_a"])
def test_managers_and_agents_read_but_cannot_change(client, two_brands, tier, role):
    client.force_login(two_brands[role].user)
    page = client.get("/crm/attributes/")
    body = page.content.decode()
    assert page.status_code == 200 and "<code>tier</code>" in body
    assert "attribute-form" not in body and f"/crm/attributes/{tier.pk}/edit/" not in body
    assert client.post("/crm/attributes/", {**NEW, "key": "vip", "label": "VIP"}
                       ).status_code == 403
    assert client.post("/crm/attributes/", {}).status_code == 403
    for method in ("get", "post"):
        assert getattr(client, method)(f"/crm/attributes/{tier.pk}/edit/",
                                       {"label": "Hijacked"}).status_code == 403
        assert getattr(client, method)(f"/crm/attributes/{tier.pk}/delete/").status_code == 403
    tier.refresh_from_db()
    assert tier.label == "Tier" and CustomerAttribute.objects.count() == 1


def test_a_foreign_brands_attribute_answers_404(client, two_brands, tier):
    theirs = attribute_create(scope=scope_for_membership(two_brands["admin_b"]), key="tier",
                              label="Their tier")
    client.force_login(two_brands["admin_a"].user)
    assert "Their tier" not in client.get("/crm/attributes/").content.decode()
    for method in ("get", "post"):
        for url in (f"/crm/attributes/{theirs.pk}/edit/", f"/crm/attributes/{theirs.pk}/delete/",
                    "/crm/attributes/999999/edit/"):
            assert getattr(client, method)(url, {"label": "x"}).status_code == 404, (method, url)
    theirs.refresh_from_db()
    assert theirs.label == "Their tier"


def test_the_import_page_links_to_the_attributes(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    assert 'href="/crm/attributes/"' in client.get("/crm/import/").content.decode()


def test_the_page_reads_in_chinese(client, settings, two_brands, tier):
    client.force_login(two_brands["admin_a"].user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = client.get("/crm/attributes/").content.decode()
    assert "<th>键</th>" in body and "新建属性" in body and "选项（每行一个）" in body
    refused = client.post("/crm/attributes/", {**NEW, "key": "colour", "label": "颜色",
                                               "kind": "choice"}).content.decode()
    assert "选项" in refused and "A choice attribute" not in refused
