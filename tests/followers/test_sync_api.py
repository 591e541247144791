"""REST and pages of follower sync: start (roles, 409, 404), progress, and the follower
list's filters, search and keyset pages (no OFFSET, no COUNT over the list)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followers.models import Customer, Follower, Tag
from followers.models_sync import FollowerSync
from tests.factories import make_follower
from tests.followers.sync_support import run_to_end, seed, wire

pytestmark = pytest.mark.django_db

SYNCS = "/api/v1/follower-syncs/"
FOLLOWERS = "/api/v1/followers/"


def _post(client, body):  # noqa: ANN001, ANN202
    return client.post(SYNCS, body, content_type="application/json")


def test_starting_a_sync_by_role_and_scope(client, two_brands):
    a1, a2, b1 = two_brands["a1"], two_brands["a2"], two_brands["b1"]
    client.force_login(two_brands["agent_a"].user)  # serves a2: may read, not start
    assert _post(client, {"account": a2.pk}).status_code == 403
    client.force_login(two_brands["manager_a"].user)  # serves a1 only
    assert _post(client, {"account": a2.pk}).status_code == 404
    started = _post(client, {"account": a1.pk, "kind": "incremental"})
    assert started.status_code == 201, started.content
    assert started.json()["status"] == "queued" and started.json()["kind"] == "incremental"
    again = _post(client, {"account": a1.pk})
    assert again.status_code == 409 and "already under way" in again.json()["detail"]
    assert _post(client, {"account": a1.pk, "extra": 1}).status_code == 400
    client.force_login(two_brands["admin_a"].user)
    assert _post(client, {"account": b1.pk}).status_code == 404
    assert _post(client, {"account": a2.pk, "kind": "sometimes"}).status_code == 400
    # The agent reads the syncs of the accounts it serves only.
    job_a2 = _post(client, {"account": a2.pk}).json()
    client.force_login(two_brands["agent_a"].user)
    listed = client.get(SYNCS).json()["results"]
    assert [j["id"] for j in listed] == [job_a2["id"]]
    assert client.get(f"{SYNCS}{started.json()['id']}/").status_code == 404
    client.force_login(two_brands["admin_b"].user)
    assert client.get(f"{SYNCS}{job_a2['id']}/").status_code == 404


def test_the_progress_of_a_running_and_a_finished_sync(client, two_brands, portal_sandbox):
    a1 = two_brands["a1"]
    wire(portal_sandbox, a1)
    portal_sandbox.control("POST", "/settings", {"user_page_size": 100})
    seed(portal_sandbox, a1.appid, 250)
    client.force_login(two_brands["admin_a"].user)
    job_id = _post(client, {"account": a1.pk}).json()["id"]
    # A slice short enough to stop after the first page.
    from followers import sync

    assert sync.sync_run(sync_id=job_id, slice_seconds=0) == "continue"
    midway = client.get(f"{SYNCS}{job_id}/").json()
    assert midway["status"] == "running" and midway["phase"] == "list"
    assert (midway["listed"], midway["list_total"]) == (100, 250)
    assert 0 < midway["percent"] < 100
    assert run_to_end(job_id) == "done"
    done = client.get(f"{SYNCS}{job_id}/").json()
    assert done["status"] == "done" and done["percent"] == 100
    assert (done["listed"], done["profiles_done"], done["profiles_total"]) == (250, 250, 250)
    assert done["errors_count"] == 0 and done["reason"] == ""
    # The page shows the job, with its bar and the URL the script polls.
    page = client.get("/crm/followers/").content.decode()
    assert f'data-sync-url="/api/v1/follower-syncs/{job_id}/"' in page
    assert 'value="100"' in page and "Sync followers" in page


@pytest.fixture
def listed(two_brands):  # noqa: ANN201
    a1, a2 = two_brands["a1"], two_brands["a2"]
    vip = Tag.objects.create(brand=two_brands["brand_a"], name="VIP")
    lin = Customer.objects.create(brand=two_brands["brand_a"], name="Lin Yue")
    rows = {
        "lin": make_follower(account=a1, customer=lin, language="en"),
        "remark": make_follower(account=a1, remark="Bund regular",
                                openid="oBundRegular0000000000001"),
        "gone": make_follower(account=a2, subscribed=False, language="zh_CN"),
        "tagged": make_follower(account=a2, language="zh_TW"),
    }
    rows["tagged"].tags.add(vip)
    for n in range(5):
        rows[f"plain{n}"] = make_follower(account=a1)
    return {"rows": rows, "vip": vip}


def _ids(client, **params) -> list[int]:  # noqa: ANN001
    answer = client.get(FOLLOWERS, params)
    assert answer.status_code == 200, answer.content
    return [f["id"] for f in answer.json()["results"]]


def test_the_follower_list_filters_and_searches(client, two_brands, listed):
    rows = listed["rows"]
    client.force_login(two_brands["admin_a"].user)
    a2 = two_brands["a2"]
    assert _ids(client, account=a2.pk) == [rows["tagged"].pk, rows["gone"].pk]
    assert _ids(client, following="false") == [rows["gone"].pk]
    assert _ids(client, language="en") == [rows["lin"].pk]
    assert _ids(client, tag=listed["vip"].pk) == [rows["tagged"].pk]
    assert _ids(client, q="bund reg") == [rows["remark"].pk]
    assert _ids(client, q="lin yue") == [rows["lin"].pk]
    assert _ids(client, q="oBundRegular00000") == [rows["remark"].pk]
    lin = client.get(f"{FOLLOWERS}{rows['lin'].pk}/").json()
    assert lin["display_name"] == "Lin Yue" and lin["openid"] == rows["lin"].openid
    assert client.get(FOLLOWERS, {"following": "maybe"}).status_code == 400
    # Brand B sees none of it; a manager only the accounts it serves.
    client.force_login(two_brands["admin_b"].user)
    assert rows["lin"].pk not in _ids(client)
    assert client.get(f"{FOLLOWERS}{rows['lin'].pk}/").status_code == 404
    client.force_login(two_brands["agent_a"].user)  # serves a2
    assert set(_ids(client)) == {rows["tagged"].pk, rows["gone"].pk}


def test_the_follower_list_pages_by_keyset_without_offset_or_count(client, two_brands, listed):
    client.force_login(two_brands["admin_a"].user)
    everyone = _ids(client, page_size=200)
    seen: list[int] = []
    after = None
    with CaptureQueriesContext(connection) as queries:
        while True:
            params = {"page_size": 3, **({"after": after} if after else {})}
            answer = client.get(FOLLOWERS, params).json()
            seen += [f["id"] for f in answer["results"]]
            assert answer["count"] is None or answer["next_after"] is None
            after = answer["next_after"]
            if after is None:
                break
    assert seen == everyone and len(seen) == len(set(seen)) >= 10
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries
                   if "FOLLOWERS_FOLLOWER" in q["sql"].upper())
    assert "OFFSET" not in sql and "COUNT(" not in sql
    # The page: next links keep the filters; the first page of one account counts.
    page = client.get("/crm/followers/", {"account": two_brands["a1"].pk}).content.decode()
    on_a1 = Follower.objects.filter(account=two_brands["a1"]).count()
    assert "data-testid=\"next-page\"" not in page  # they fit in a page of 50
    assert f"{on_a1} followers" in page
    small = client.get("/crm/followers/", {"q": "bund"}).content.decode()
    assert "Bund regular" in small and "Lin Yue" not in small


def test_the_page_starts_a_sync_and_refuses_a_second(client, two_brands):
    a1 = two_brands["a1"]
    client.force_login(two_brands["admin_a"].user)
    first = client.post("/crm/followers/sync/", {"account": a1.pk, "kind": "full"}, follow=True)
    assert "Sync started." in first.content.decode()
    assert FollowerSync.objects.filter(account=a1, status="queued").count() == 1
    second = client.post("/crm/followers/sync/", {"account": a1.pk}, follow=True)
    assert "already under way" in second.content.decode()
    client.force_login(two_brands["agent_a"].user)
    assert "data-testid=\"sync-button\"" not in client.get("/crm/followers/").content.decode()
    assert client.post("/crm/followers/sync/", {"account": two_brands["a2"].pk}).status_code \
        == 403


def test_a_search_pages_alike_whether_its_matches_are_read_by_index_or_walked(
        client, two_brands, monkeypatch):
    from followers import selectors_sync

    a1, a2 = two_brands["a1"], two_brands["a2"]
    bund = Customer.objects.create(brand=two_brands["brand_a"], name="Bund Hotel guest")
    matches = [make_follower(account=a1 if n % 2 else a2, remark=f"Bund {n}")
               for n in range(6)]
    matches.append(make_follower(account=a1, customer=bund))
    matches.append(make_follower(account=a2, openid="oBundPrefix00000000000001"))
    for _ in range(4):
        make_follower(account=a1, remark="Pudong")
    newest_first = sorted((f.pk for f in matches), reverse=True)

    def pages(q: str) -> list[int]:
        seen, after = [], None
        while True:
            params = {"q": q, "page_size": 3, **({"after": after} if after else {})}
            answer = client.get(FOLLOWERS, params).json()
            seen += [f["id"] for f in answer["results"]]
            after = answer["next_after"]
            if after is None:
                return seen

    client.force_login(two_brands["admin_a"].user)
    by_index = pages("bund")
    # "bund" is too short to be an openid: the remark and the name only.
    assert by_index == [pk for pk in newest_first if pk != matches[-1].pk]
    assert pages("oBundPref") == [matches[-1].pk]
    # Every lookup "common" (more matches than the cap): walked down the id index instead.
    monkeypatch.setattr(selectors_sync, "SEARCH_CAP", 1)
    assert pages("bund") == by_index
    assert pages("oBundPref") == [matches[-1].pk]
    # A member serving one account searches that account alone.
    client.force_login(two_brands["agent_a"].user)  # serves a2
    assert pages("bund") == [pk for pk in by_index
                             if Follower.objects.get(pk=pk).account_id == a2.pk]
