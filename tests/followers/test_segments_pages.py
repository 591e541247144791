"""The segment pages: an admin saves a segment through the form (a refused condition shows
beside its field, nothing saved), the form's count answers JSON, an agent reads the page
but cannot save, and a deletion asks first."""

from __future__ import annotations

import pytest

from followers import segments
from followers.models import Segment, Tag
from tests.factories import make_follower, owner_scope

pytestmark = pytest.mark.django_db


def test_an_admin_saves_a_segment_and_an_agent_only_reads_it(client, two_brands):
    vip = Tag.objects.create(brand=two_brands["brand_a"], name="VIP")
    make_follower(account=two_brands["a2"], language="en").tags.add(vip)
    client.force_login(two_brands["admin_a"].user)
    refused = client.post("/crm/segments/new/", {"name": "Bad", "attr_key_0": "score",
                                                 "attr_op_0": "gt", "attr_value_0": "ten"})
    assert refused.status_code == 200
    assert "A number, to compare with." in refused.content.decode()
    assert not Segment.objects.exists()
    count = client.post("/crm/segments/count/", {"tags_any": [vip.pk], "languages": "en"})
    assert count.status_code == 200 and count.json()["followers"] == 1
    bad = client.post("/crm/segments/count/", {"followed_from": "2026-03-02",
                                                "followed_to": "2026-03-01"})
    assert bad.status_code == 400 and "followed_to" in bad.json()["errors"]
    saved = client.post("/crm/segments/new/", {"name": "VIP", "tags_any": [vip.pk]})
    segment = Segment.objects.get()
    assert saved.status_code == 302 and saved["Location"] == f"/crm/segments/{segment.pk}/"
    assert segment.definition == {"tags": {"any": [vip.pk]}}
    assert "VIP" in client.get("/crm/segments/").content.decode()

    client.force_login(two_brands["agent_a"].user)
    page = client.get(f"/crm/segments/{segment.pk}/")
    assert page.status_code == 200 and 'data-testid="save-segment"' not in page.content.decode()
    assert client.post(f"/crm/segments/{segment.pk}/", {"name": "Mine"}).status_code == 403
    assert client.get("/crm/segments/new/").status_code == 403
    assert client.post(f"/crm/segments/{segment.pk}/delete/").status_code == 403
    segment.refresh_from_db()
    assert segment.name == "VIP"


def test_a_deletion_asks_first(client, two_brands):
    segment = segments.segment_create(scope=owner_scope(two_brands["brand_a"]), name="Old",
                                      definition={})
    client.force_login(two_brands["admin_a"].user)
    assert "Delete the segment" in client.get(
        f"/crm/segments/{segment.pk}/delete/").content.decode()
    assert Segment.objects.filter(pk=segment.pk).exists()
    assert client.post(f"/crm/segments/{segment.pk}/delete/").status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()
