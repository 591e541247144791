"""Segments over REST: saved, counted live, listed page by page and exported as a stream;
definitions refused with 400 beside the part at fault (another brand's ids included),
segments of another brand 404, and agents read but do not change."""

from __future__ import annotations

import csv
import io

import pytest
from django.http import StreamingHttpResponse

from accounts.services import api_key_create
from followers import segment_export, segments
from followers.models import Campaign, Customer, Follower, QRCode, Segment, Tag
from tests.factories import make_follower, owner_scope

pytestmark = pytest.mark.django_db


@pytest.fixture
def crm(two_brands) -> dict:
    a1, a2, b1 = two_brands["a1"], two_brands["a2"], two_brands["b1"]
    vip = Tag.objects.create(brand=two_brands["brand_a"], name="VIP")
    foreign_tag = Tag.objects.create(brand=two_brands["brand_b"], name="VIP")
    foreign_campaign = Campaign.objects.create(brand=two_brands["brand_b"], name="Expo")
    shared = Customer.objects.create(brand=two_brands["brand_a"], unionid="u-shared",
                                     attributes={"tier": "gold"})
    followers = [
        make_follower(account=a1, openid="o_a1_en", language="en", unionid="u-shared",
                      customer=shared),
        make_follower(account=a2, openid="o_a2_en", language="en", unionid="u-shared",
                      customer=shared),
        make_follower(account=a1, openid="o_a1_zh", language="zh_CN"),
        make_follower(account=a2, openid="o_a2_gone", language="en", subscribed=False),
    ]
    for f in followers[:3]:
        f.tags.add(vip)
    make_follower(account=b1, openid="o_b1_en", language="en").tags.add(foreign_tag)
    _key, raw = api_key_create(brand=two_brands["brand_a"], name="crm")
    return {**two_brands, "vip": vip, "foreign_tag": foreign_tag, "followers": followers,
            "foreign_campaign": foreign_campaign, "shared": shared,
            "auth": {"HTTP_AUTHORIZATION": f"Bearer {raw}"}}


def _post(client, path: str, body: dict, **auth):  # noqa: ANN001
    return client.post(path, body, content_type="application/json", **auth)


def test_the_live_count_counts_followers_and_their_customers(client, crm):
    body = {"definition": {"tags": {"any": [crm["vip"].pk]}, "languages": ["en"]}}
    answer = _post(client, "/api/v1/segments/count/", body, **crm["auth"])
    assert answer.status_code == 200, answer.content
    data = answer.json()
    # Two followers (one per account) who are one customer; the one who left and brand
    # B's follower, who has a "VIP" tag of its own brand, are not counted.
    assert (data["followers"], data["customers"]) == (2, 1)
    assert data["ms"] >= 0
    with_gone = {"definition": {"languages": ["en"], "include_unfollowed": True}}
    assert _post(client, "/api/v1/segments/count/", with_gone,
                 **crm["auth"]).json()["followers"] == 3


def test_an_agent_counts_within_the_accounts_they_serve(client, crm):
    client.force_login(crm["agent_a"].user)  # serves a2 only
    answer = _post(client, "/api/v1/segments/count/", {"definition": {"languages": ["en"]}})
    assert answer.json()["followers"] == 1
    # Naming an account the agent does not serve is refused like an unknown one.
    refused = _post(client, "/api/v1/segments/count/",
                    {"definition": {"accounts": [crm["a1"].pk]}})
    assert refused.status_code == 400
    assert "accounts" in refused.json()["definition"]


@pytest.mark.parametrize("definition,part", [
    ({"tag": {"any": [1]}}, "tag"),
    ({"tags": {"some": [1]}}, "tags"),
    ({"tags": {"any": ["VIP"]}}, "tags.any"),
    ({"languages": "en"}, "languages"),
    ({"genders": [3]}, "genders"),
    ({"followed": {"from": "2026-02-30"}}, "followed.from"),
    ({"followed": {"from": "2026-03-02", "to": "2026-03-01"}}, "followed.to"),
    ({"last_activity": {"op": "within", "days": 0}}, "last_activity.days"),
    ({"last_activity": {"op": "within", "date": "2026-01-01"}}, "last_activity"),
    ({"attributes": [{"key": "score", "op": "gt", "value": "ten"}]}, "attributes.0.value"),
    ({"attributes": [{"key": "tier", "op": "like", "value": "g"}]}, "attributes.0.op"),
    ({"attributes": [{"key": "since", "op": "before", "value": "soon"}]},
     "attributes.0.value"),
    ({"include_unfollowed": "yes"}, "include_unfollowed"),
])
def test_a_definition_that_cannot_compile_is_refused_beside_its_part(
    client, crm, definition, part,
):
    answer = _post(client, "/api/v1/segments/", {"name": "Bad", "definition": definition},
                   **crm["auth"])
    assert answer.status_code == 400, answer.content
    assert part in answer.json()["definition"], answer.json()
    assert not Segment.objects.exists()


def test_another_brands_tag_account_or_campaign_is_refused_with_400(client, crm):
    for definition, part in [
        ({"tags": {"none": [crm["foreign_tag"].pk]}}, "tags.none"),
        ({"accounts": [crm["b1"].pk]}, "accounts"),
        ({"campaigns": [crm["foreign_campaign"].pk]}, "campaigns"),
    ]:
        for path in ("/api/v1/segments/", "/api/v1/segments/count/"):
            answer = _post(client, path, {"name": "Theirs", "definition": definition}
                           if path.endswith("segments/") else {"definition": definition},
                           **crm["auth"])
            assert answer.status_code == 400, (path, answer.content)
            message = answer.json()["definition"][part][0]
            assert message.startswith("Unknown") and str(definition) not in message
    assert not Segment.objects.exists()


def test_a_segment_is_saved_counted_renamed_and_deleted(client, crm):
    auth = crm["auth"]
    made = _post(client, "/api/v1/segments/",
                 {"name": "English VIPs", "definition": {"tags": {"any": [crm["vip"].pk]},
                                                         "languages": ["en", "en"]}}, **auth)
    assert made.status_code == 201, made.content
    data = made.json()
    # Stored in its canonical form, with its first count.
    assert data["definition"] == {"tags": {"any": [crm["vip"].pk]}, "languages": ["en"]}
    assert (data["last_followers"], data["last_customers"]) == (2, 1)
    clash = _post(client, "/api/v1/segments/", {"name": "english vips"}, **auth)
    assert clash.status_code == 400 and "name" in clash.json()
    unknown = _post(client, "/api/v1/segments/", {"name": "x", "count": 1}, **auth)
    assert unknown.status_code == 400 and "count" in unknown.json()
    pk = data["id"]
    renamed = client.patch(f"/api/v1/segments/{pk}/", {"name": "EN VIP"},
                           content_type="application/json", **auth)
    assert renamed.status_code == 200 and renamed.json()["definition"] == data["definition"]
    listed = client.get("/api/v1/segments/", **auth).json()["results"]
    assert [s["name"] for s in listed] == ["EN VIP"]
    assert client.delete(f"/api/v1/segments/{pk}/", **auth).status_code == 204
    assert not Segment.objects.exists()


def test_brand_b_segments_are_404_and_agents_do_not_change_segments(client, crm):
    theirs = segments.segment_create(scope=owner_scope(crm["brand_b"]), name="Theirs",
                                     definition={})
    for method in ("get", "patch", "delete"):
        answer = getattr(client, method)(f"/api/v1/segments/{theirs.pk}/",
                                         content_type="application/json", **crm["auth"])
        assert answer.status_code == 404
    for action in ("members", "export"):
        assert client.get(f"/api/v1/segments/{theirs.pk}/{action}/",
                          **crm["auth"]).status_code == 404
    assert "Theirs" not in client.get("/api/v1/segments/", **crm["auth"]).content.decode()
    client.force_login(crm["agent_a"].user)
    refused = _post(client, "/api/v1/segments/", {"name": "Mine", "definition": {}})
    assert refused.status_code == 403
    assert Segment.objects.filter(brand=crm["brand_a"]).count() == 0


def test_members_come_a_page_at_a_time_by_cursor(client, crm):
    segment = segments.segment_create(scope=owner_scope(crm["brand_a"]), name="All",
                                      definition={"include_unfollowed": True})
    seen, url = [], f"/api/v1/segments/{segment.pk}/members/?page_size=2"
    while url:
        page = client.get(url, **crm["auth"]).json()
        assert len(page["results"]) <= 2
        seen += page["results"]
        url = page["next"]
    everyone = Follower.objects.filter(brand=crm["brand_a"]).order_by("pk")
    assert [m["openid"] for m in seen] == [f.openid for f in everyone]
    first = next(m for m in seen if m["openid"] == "o_a1_en")
    assert first["appid"] == crm["a1"].appid and first["unionid"] == "u-shared"
    assert first["customer"] == crm["shared"].pk and first["display_name"]
    bad = client.get(f"/api/v1/segments/{segment.pk}/members/?cursor=nonsense", **crm["auth"])
    assert bad.status_code == 404


def test_the_exports_batches_read_raw_rows_and_fall_back_where_a_column_needs_converting(crm):
    followers = Follower.objects.filter(brand=crm["brand_a"]).order_by("pk")
    plain = list(segment_export._batches(
        followers.values_list("openid", "customer_id"), 2))
    assert [len(b) for b in plain] == [2] * (followers.count() // 2) + (
        [1] if followers.count() % 2 else [])
    assert [row for b in plain for row in b] == list(
        followers.values_list("openid", "customer_id"))
    # A JSON column comes back as the ORM gives it (a dict), not as the database's text.
    Customer.objects.filter(pk=crm["shared"].pk).update(attributes={"tier": "gold"})
    converted = [row for b in segment_export._batches(
        followers.values_list("openid", "customer__attributes"), 2) for row in b]
    assert {"tier": "gold"} in [attrs for _openid, attrs in converted]
    assert list(segment_export._batches(followers.none().values_list("openid"), 2)) == []


def test_the_export_streams_every_member_as_csv(client, crm, monkeypatch):
    # Small chunks, so the stream is several chunks even for four followers.
    monkeypatch.setattr(segment_export, "CHUNK_ROWS", 2)
    segment = segments.segment_create(scope=owner_scope(crm["brand_a"]), name="Everyone",
                                      definition={"include_unfollowed": True})
    answer = client.get(f"/api/v1/segments/{segment.pk}/export/", HTTP_ACCEPT="text/csv",
                        **crm["auth"])
    assert answer.status_code == 200
    assert isinstance(answer, StreamingHttpResponse)
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    chunks = list(answer.streaming_content)
    assert len(chunks) == 3  # header and two rows, two rows
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0] == ["openid", "appid", "unionid", "customer_id"]
    expected = [[f.openid, f.account.appid, f.unionid, str(f.customer_id)]
                for f in Follower.objects.filter(brand=crm["brand_a"]).order_by("pk")]
    assert sorted(rows[1:]) == sorted(expected)
    # An agent's export holds only the followers of the accounts they serve.
    client.force_login(crm["agent_a"].user)
    mine = client.get(f"/api/v1/segments/{segment.pk}/export/")
    openids = [r[0] for r in csv.reader(io.StringIO(b"".join(mine.streaming_content)
                                                    .decode()))][1:]
    assert sorted(openids) == ["o_a2_en", "o_a2_gone"]


def test_a_segment_whose_tag_was_deleted_selects_no_one_rather_than_everyone(crm):
    scope = owner_scope(crm["brand_a"])
    temporary = Tag.objects.create(brand=crm["brand_a"], name="Temp")
    crm["followers"][0].tags.add(temporary)
    segment = segments.segment_create(scope=scope, name="Temp",
                                      definition={"tags": {"all": [temporary.pk]}})
    assert segment.last_followers == 1
    temporary.delete()
    assert segments.segment_members(scope=scope, segment=segment).count() == 0
    code = QRCode.objects.create(brand=crm["brand_a"], account=crm["a1"], kind="permanent",
                                 campaign=Campaign.objects.create(brand=crm["brand_a"],
                                                                  name="Gone"), scene="1")
    Follower.objects.filter(pk=crm["followers"][0].pk).update(qrcode=code)
    by_campaign = segments.segment_create(scope=scope, name="Gone",
                                          definition={"campaigns": [code.campaign_id]})
    assert by_campaign.last_followers == 1
    code.campaign.delete()
    assert segments.segment_members(scope=scope, segment=by_campaign).count() == 0
