"""CSV import and export of customers and followers (django-import-export): a dry run
reports what would change and every rejected row with its reason, writes nothing; a file
with a rejected row imports nothing; an import that fails part way changes nothing."""

import pytest

from accounts.errors import InvalidInput, RoleRequired
from accounts.scope import scope_for_membership
from followers import csv_resources
from followers.attributes import attribute_create
from followers.csv_import import csv_export_text, csv_import
from followers.models import Customer, CustomerActivity, Follower
from tests.factories import make_account, make_brand, make_follower, make_member

pytestmark = pytest.mark.django_db

A1, B1 = "wxa1a1a1a1a1a1a1a1", "wxb1b1b1b1b1b1b1b1"


@pytest.fixture
def setup():  # noqa: ANN201
    brand = make_brand()
    account = make_account(brand=brand, app_secret="", appid=A1)
    other_brand_account = make_account(brand=make_brand(), app_secret="", appid=B1)
    admin = make_member(brand=brand, role="admin")
    scope = scope_for_membership(admin)
    attribute_create(scope=scope, key="tier", label="Tier", kind="choice",
                     choices=["gold", "silver"])
    known = make_follower(account=account, openid="oKNOWN")
    by_union = Customer.objects.create(brand=brand, unionid="uKNOWN", name="Old name")
    make_follower(account=other_brand_account, openid="oFOREIGN")
    return {"brand": brand, "account": account, "admin": admin, "scope": scope,
            "known": known, "by_union": by_union}


CUSTOMERS = (
    "appid,openid,unionid,name,phone,email,attribute:tier\n"
    f"{A1},oKNOWN,,Zhang San,13800138000,,gold\n"  # 2: update by openid
    ",,uKNOWN,New name,,,\n"  # 3: update by unionid
    ",,uNEW,Li Si,,li@example.com,silver\n"  # 4: new by unionid
    f"{A1},oMISSING,,X,,,\n"  # 5: no such follower
    f"{B1},oFOREIGN,,X,,,\n"  # 6: another brand's account
    ",,,Nobody,,,\n"  # 7: neither openid nor unionid
    ",,uBAD,Bad,,not-an-email,bronze\n"  # 8: two bad values
)


def _snapshot() -> list:
    return list(Customer.objects.order_by("pk").values_list(
        "pk", "name", "phone", "email", "unionid", "attributes"))


def test_the_dry_run_reports_changes_and_every_rejected_row_and_writes_nothing(setup):
    before = _snapshot()
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="customers",
                        content=CUSTOMERS.encode(), dry_run=True)
    rows = {r.number: r for r in report.rows}
    assert rows[2].action == "update" and rows[2].object_id == setup["known"].customer_id
    assert rows[2].changes == ["name", "phone", "attributes.tier"]
    assert rows[3].action == "update" and rows[3].changes == ["name"]
    assert rows[4].action == "new" and rows[4].changes == ["name", "email", "attributes.tier"]
    assert [r.number for r in report.rejected] == [5, 6, 7, 8]
    assert "No follower oMISSING" in rows[5].errors[0]
    assert B1 in rows[6].errors[0]
    assert "openid" in rows[7].errors[0] and "unionid" in rows[7].errors[0]
    assert any(e.startswith("email:") for e in rows[8].errors)
    assert any(e.startswith("attribute:tier:") for e in rows[8].errors)
    assert _snapshot() == before and not CustomerActivity.objects.exists()
    # Not a dry run, but a row is rejected: nothing is imported either.
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="customers",
                        content=CUSTOMERS.encode(), dry_run=False)
    assert not report.imported and len(report.rejected) == 4
    assert _snapshot() == before


def test_a_clean_file_imports_and_records_each_change(setup):
    good = "".join(CUSTOMERS.splitlines(keepends=True)[:4]).encode()
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="customers",
                        content=good, dry_run=False)
    assert report.imported and report.totals["update"] == 2 and report.totals["new"] == 1
    known = Customer.objects.get(pk=setup["known"].customer_id)
    assert (known.name, known.phone, known.attributes) == (
        "Zhang San", "13800138000", {"tier": "gold"})
    assert Customer.objects.get(unionid="uNEW").email == "li@example.com"
    assert CustomerActivity.objects.filter(kind="updated").count() == 3
    # The same file again: every row unchanged.
    again = csv_import(scope=setup["scope"], by=setup["admin"], kind="customers",
                       content=good, dry_run=False)
    assert again.totals["skip"] == 3 and CustomerActivity.objects.count() == 3


def test_an_import_that_fails_part_way_changes_nothing(setup, monkeypatch):
    good = "".join(CUSTOMERS.splitlines(keepends=True)[:4]).encode()
    before = _snapshot()
    real = csv_resources.CustomerResource.after_save_instance
    calls = {"n": 0}

    def fail_on_the_third(self, instance, row, **kwargs):  # noqa: ANN001, ANN202
        real(self, instance, row, **kwargs)
        if not kwargs.get("dry_run"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("disk full")

    monkeypatch.setattr(csv_resources.CustomerResource, "after_save_instance",
                        fail_on_the_third)
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="customers",
                        content=good, dry_run=False)
    assert not report.imported and [r.number for r in report.rejected] == [4]
    assert "disk full" in report.rejected[0].errors[0]
    assert _snapshot() == before and not CustomerActivity.objects.exists()


def test_followers_import_links_by_unionid_and_rejects_a_conflicting_one(setup):
    setup["known"].unionid = "uPLATFORM"
    setup["known"].save()
    content = ("appid,openid,unionid,remark\n"
               f"{A1},oNEWCOMER,uKNOWN,VIP from the fair\n"
               f"{A1},oKNOWN,uOTHER,\n").encode()
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="followers",
                        content=content, dry_run=True)
    assert [r.action for r in report.rows] == ["new", "invalid"]
    assert "another unionid" in report.rows[1].errors[0]
    assert not Follower.objects.filter(openid="oNEWCOMER").exists()
    report = csv_import(scope=setup["scope"], by=setup["admin"], kind="followers",
                        content=content.splitlines(keepends=True)[0]
                        + content.splitlines(keepends=True)[1], dry_run=False)
    assert report.imported
    newcomer = Follower.objects.get(openid="oNEWCOMER")
    assert newcomer.customer_id == setup["by_union"].pk and newcomer.remark == "VIP from the fair"


def test_bad_files_and_roles_are_refused(setup):
    with pytest.raises(InvalidInput, match="Unknown columns: shoe_size"):
        csv_import(scope=setup["scope"], by=None, kind="customers",
                   content=b"openid,shoe_size\nx,42\n")
    with pytest.raises(InvalidInput, match="UTF-8"):
        csv_import(scope=setup["scope"], by=None, kind="customers", content=b"\xff\xfe\x00a")
    agent = make_member(brand=setup["brand"], role="agent")
    with pytest.raises(RoleRequired):
        csv_import(scope=scope_for_membership(agent), by=agent, kind="customers",
                   content=CUSTOMERS.encode())


def test_export_has_the_columns_the_import_reads(setup):
    Customer.objects.filter(pk=setup["known"].customer_id).update(
        name="Zhang San", attributes={"tier": "gold"})
    text = csv_export_text(scope=setup["scope"], kind="customers")
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == ("id,display_name,appid,openid,unionid,name,phone,email,notes,"
                        "language,attribute:tier")
    assert f"{setup['known'].customer_id},Zhang San,{A1},oKNOWN,,Zhang San,,,,,gold" in lines
    # Round trip: the export imports as "unchanged".
    report = csv_import(scope=setup["scope"], by=None, kind="customers",
                        content=text.encode(), dry_run=True)
    assert not report.rejected and report.totals["skip"] == len(lines) - 1
    followers = csv_export_text(scope=setup["scope"], kind="followers")
    assert "oKNOWN" in followers and "oFOREIGN" not in followers
