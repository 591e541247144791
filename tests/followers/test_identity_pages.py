"""The identity pages: the customer list's search, the profile form, the import page's dry
run and confirm, and the streamed exports."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.scope import scope_for_membership
from followers.attributes import attribute_create
from followers.models import Customer, CustomerActivity
from tests.factories import make_follower

pytestmark = pytest.mark.django_db


def test_list_search_and_profile_form(client, two_brands):
    admin = two_brands["admin_a"]
    attribute_create(scope=scope_for_membership(admin), key="orders", label="Orders",
                     kind="number")
    follower = make_follower(account=two_brands["a1"], remark="Ms Qian", openid="oQIAN")
    client.force_login(admin.user)
    body = client.get("/crm/customers/", {"q": "oQIAN"}).content.decode()
    assert "Ms Qian" in body and "B flagship" not in body
    url = f"/crm/customers/{follower.customer_id}/"
    page = client.get(url).content.decode()
    assert "Ms Qian" in page and "oQIAN" in page and 'name="attr_orders"' in page
    bad = client.post(url, {"name": "Qian", "email": "nope", "attr_orders": "x"})
    assert bad.status_code == 400
    assert "Enter a valid email address." in bad.content.decode()
    assert "Orders takes a number." in bad.content.decode()
    ok = client.post(url, {"name": "Qian Yu", "email": "qian@example.com", "attr_orders": "4"})
    assert ok.status_code == 302
    customer = Customer.objects.get(pk=follower.customer_id)
    assert (customer.name, customer.attributes) == ("Qian Yu", {"orders": 4})
    assert CustomerActivity.objects.get(customer=customer).kind == "updated"


def test_the_console_links_to_the_customer_page(client, two_brands):
    client.force_login(two_brands["admin_a"].user)
    body = client.get("/console/").content.decode()
    assert 'data-customer-url="/crm/customers/0/"' in body


def test_import_page_dry_run_then_confirm(client, two_brands):
    follower = make_follower(account=two_brands["a1"], openid="oIMPORT")
    appid = two_brands["a1"].appid
    client.force_login(two_brands["admin_a"].user)
    content = f"appid,openid,name\n{appid},oIMPORT,Sun Li\n{appid},oNOPE,X\n".encode()
    rejected = client.post("/crm/import/", {
        "kind": "customers", "file": SimpleUploadedFile("c.csv", content)})
    text = rejected.content.decode()
    assert "No follower oNOPE" in text and 'data-testid="import-confirm"' not in text
    clean = f"appid,openid,name\n{appid},oIMPORT,Sun Li\n".encode()
    dry = client.post("/crm/import/", {"kind": "customers",
                                       "file": SimpleUploadedFile("c.csv", clean)})
    assert Customer.objects.get(pk=follower.customer_id).name == ""
    token = dry.context["token"]
    assert token
    done = client.post("/crm/import/", {"confirm": "1", "token": token})
    assert done.status_code == 302
    assert Customer.objects.get(pk=follower.customer_id).name == "Sun Li"
    # An agent may not import.
    client.force_login(two_brands["agent_a"].user)
    assert client.get("/crm/import/").status_code == 403


def test_exports_stream_what_the_requester_sees(client, two_brands):
    make_follower(account=two_brands["a1"], openid="oSEEN")
    client.force_login(two_brands["agent_a"].user)  # serves a2 only
    response = client.get("/crm/export/followers.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeffid,appid,account,openid") and "oSEEN" not in body
    client.force_login(two_brands["admin_a"].user)
    body = b"".join(client.get("/crm/export/followers.csv").streaming_content).decode()
    assert "oSEEN" in body and "B flagship" not in body
