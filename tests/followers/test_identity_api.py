"""REST of customers: list and search, PATCH the profile and attributes, merge and unmerge,
suggestions and dismiss, the timeline; and who sees which customer."""

import pytest

from accounts.scope import scope_for_membership
from followers.attributes import attribute_create
from followers.models import Customer, CustomerMerge
from messaging.models import Conversation
from tests.factories import make_conversation, make_follower

pytestmark = pytest.mark.django_db


def test_customers_search_patch_merge_unmerge(client, two_brands,
                                              django_capture_on_commit_callbacks):
    admin = two_brands["admin_a"]
    attribute_create(scope=scope_for_membership(admin), key="orders", label="Orders",
                     kind="number")
    ours = two_brands["conversation_a"]
    other_follower = make_follower(account=two_brands["a2"], remark="Mr Zhao",
                                   openid="oZHAO")
    other_conversation = make_conversation(follower=other_follower)
    client.force_login(admin.user)

    found = client.get("/api/v1/customers/", {"q": "oZHAO"}).json()["results"]
    assert [c["id"] for c in found] == [other_follower.customer_id]
    assert found[0]["display_name"] == "Mr Zhao"
    assert found[0]["followers"][0]["openid"] == "oZHAO"

    url = f"/api/v1/customers/{ours.customer_id}/"
    bad = client.patch(url, {"attributes": {"orders": "many"}}, content_type="application/json")
    assert bad.status_code == 400 and "attributes.orders" in bad.json()
    unknown = client.patch(url, {"shoe": 1}, content_type="application/json")
    assert unknown.status_code == 400
    ok = client.patch(url, {"name": "Zhao Lei", "attributes": {"orders": 2}},
                      content_type="application/json")
    assert ok.status_code == 200 and ok.json()["attributes"] == {"orders": 2}
    assert ok.json()["display_name"] == "Zhao Lei"

    with django_capture_on_commit_callbacks(execute=True):
        merged = client.post(f"{url}merge/", {"other": other_follower.customer_id},
                             content_type="application/json")
    assert merged.status_code == 201, merged.content
    record = merged.json()
    assert record["moved"]["followers"] == [other_follower.pk]
    assert Conversation.objects.get(pk=other_conversation.pk).customer_id == ours.customer_id
    again = client.post(f"{url}merge/", {"other": other_follower.customer_id},
                        content_type="application/json")
    assert again.status_code == 400 and "already merged" in again.json()["detail"]
    foreign = client.post(f"{url}merge/", {"other": two_brands["conversation_b"].customer_id},
                          content_type="application/json")
    assert foreign.status_code == 404

    timeline = client.get(f"{url}timeline/").json()
    kinds = [e["kind"] for e in timeline]
    assert "merged" in kinds and "updated" in kinds
    assert kinds.count("conversation_opened") == 2

    with django_capture_on_commit_callbacks(execute=True):
        undone = client.post(f"/api/v1/customer-merges/{record['id']}/unmerge/")
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert Conversation.objects.get(pk=other_conversation.pk).customer_id == \
        other_follower.customer_id
    assert CustomerMerge.objects.get().undone_by == admin


def test_an_agent_sees_only_customers_of_followers_of_their_accounts(client, two_brands):
    agent = two_brands["agent_a"]  # serves a2 only
    mine = make_follower(account=two_brands["a2"]).customer_id
    not_mine = two_brands["conversation_a"].customer_id  # a follower of a1
    client.force_login(agent.user)
    ids = {c["id"] for c in client.get("/api/v1/customers/").json()["results"]}
    assert mine in ids and not_mine not in ids
    assert client.get(f"/api/v1/customers/{not_mine}/").status_code == 404
    assert client.post(f"/api/v1/customers/{mine}/merge/", {"other": not_mine},
                       content_type="application/json").status_code == 404
    assert client.post("/api/v1/customer-attributes/", {"key": "x", "label": "X"},
                       content_type="application/json").status_code == 403


def test_suggestions_and_dismiss(client, two_brands):
    brand = two_brands["brand_a"]
    a = Customer.objects.create(brand=brand, email="same@example.com")
    b = Customer.objects.create(brand=brand, email="SAME@example.com")
    client.force_login(two_brands["admin_a"].user)
    rows = client.get("/api/v1/customers/suggestions/").json()
    assert rows == [{"low": a.pk, "high": b.pk, "reason": "email", "value": "same@example.com"}]
    response = client.post(f"/api/v1/customers/{b.pk}/dismiss/", {"other": a.pk},
                           content_type="application/json")
    assert response.status_code == 204
    assert client.get("/api/v1/customers/suggestions/").json() == []


def test_attributes_crud(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    created = client.post("/api/v1/customer-attributes/",
                          {"key": "size", "label": "Size", "kind": "choice",
                           "choices": ["S", "M"]}, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    bad = client.post("/api/v1/customer-attributes/", {"key": "x", "label": "X",
                                                        "kind": "colour"},
                      content_type="application/json")
    assert bad.status_code == 400 and "kind" in bad.json()
    changed = client.patch(f"/api/v1/customer-attributes/{pk}/", {"label": "Shirt size"},
                           content_type="application/json")
    assert changed.json()["label"] == "Shirt size"
    assert [a["key"] for a in client.get("/api/v1/customer-attributes/").json()] == ["size"]
    assert client.delete(f"/api/v1/customer-attributes/{pk}/").status_code == 204
