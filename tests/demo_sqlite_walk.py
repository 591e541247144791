"""The child process of tests/test_demo_sqlite.py: the demo's database (SQLite, migrated
and seeded by ``seed_demo``), walked the way a person and the demo's beat would, with a
WeChat sandbox of its own on an ephemeral port. Prints one JSON report (``REPORT {...}``)
for the test to judge; it asserts nothing itself.

Run as ``python tests/demo_sqlite_walk.py`` from the checkout, with DATABASE_URL, DEBUG=1
and CELERY_TASK_ALWAYS_EAGER=1 in the environment (and no REDIS_URL, as the demo).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Pages with no argument that are not pages to GET, and why.
SKIPPED = {
    "account_logout": "logs out",
    # Actions: they answer POST only (405 to a GET).
    "crm_follower_sync_start": "POST only", "crm_tags_pull": "POST only",
    "crm_segment_count": "POST only", "routing_rules_reorder": "POST only",
    "brand_switch": "POST only",
    # WeChat's side: the platform's callback and the authorization round trip, which
    # needs the platform's pre-auth code (and comes back with its auth_code).
    "platform_push": "the platform's callback", "platform_authorize": "goes to the platform",
    "platform_authorize_return": "the platform's redirect, with its auth_code",
    # allauth's two-factor pages for a member who has an authenticator (404 otherwise).
    "mfa_deactivate_totp": "needs TOTP", "mfa_view_recovery_codes": "needs TOTP",
    "mfa_download_recovery_codes": "needs TOTP",
}
# Downloads walked with the pages: each answers 200 with a CSV.
DOWNLOADS = ("crm_export_customers", "crm_export_followers", "crm_campaign_report_csv")


def _walk(patterns: list, namespace: str | None = None) -> list[str]:
    from django.urls import URLResolver

    names = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names += _walk(pattern.url_patterns, pattern.namespace or namespace)
        elif pattern.name and namespace is None:
            names.append(pattern.name)
    return names


def _pages() -> tuple[list[str], list[str]]:
    """The named pages that take no argument (admin's namespace and the API left out),
    and the names skipped."""
    from django.urls import NoReverseMatch, get_resolver, reverse

    urls, skipped = [], []
    for name in dict.fromkeys(_walk(get_resolver().url_patterns)):
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # takes an argument
        if url.startswith("/api/"):
            continue
        if name in SKIPPED:
            skipped.append(name)
        else:
            urls.append(url)
    return urls, skipped


def _get(client: Any, url: str) -> dict:
    """GET, following redirects inside the portal: the final status, or the error."""
    try:
        response = client.get(url, follow=True)
    except Exception as exc:  # noqa: BLE001 - reported, judged by the test
        return {"status": 500, "error": "".join(traceback.format_exception_only(exc)).strip()}
    return {"status": response.status_code, "hops": len(response.redirect_chain),
            "type": response.get("Content-Type", "").split(";")[0], "response": response}


def main() -> None:
    from wechat.sandbox.server import start_in_thread

    sandbox = start_in_thread(port=0)
    os.environ["WECHAT_API_BASE"] = sandbox.base_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # responses carry their template context
    started = time.monotonic()
    report: dict[str, Any] = {}
    try:
        _run(report, Client(raise_request_exception=False), sandbox)
    finally:
        sandbox.stop()
    report["seconds"] = round(time.monotonic() - started, 1)
    print("REPORT " + json.dumps(report, default=str))


def _run(report: dict, client: Any, sandbox: Any) -> None:
    from django.conf import settings
    from django.db.models import Q
    from django.urls import reverse
    from django.utils import timezone
    from django.utils.module_loading import import_string

    from accounts.models import Brand, Membership, OfficialAccount
    from accounts.scope import scope_for_membership
    from followers import campaigns, demo, duplicates, linking, segments, sync, tag_rules
    from followers.customers import customer_update
    from followers.models import (
        Campaign,
        Customer,
        CustomerActivity,
        CustomerAttribute,
        Follower,
        FollowEvent,
        Segment,
        Tag,
    )
    from followers.models_sync import FollowerSync
    from followers.services import follower_upsert
    from routing.management.commands.run_demo import Command as RunDemo

    brand = Brand.objects.get(slug="lumen")
    owner = Membership.objects.select_related("user").get(brand=brand, role="owner")
    scope = scope_for_membership(owner)
    client.force_login(owner.user)
    accounts = {a.appid: a for a in OfficialAccount.objects.filter(brand=brand)}
    flagship, bund = accounts[demo.FLAGSHIP], accounts[demo.BUND]

    # -- every page without an argument, the downloads, the seeded objects' pages --------
    urls, skipped = _pages()
    report["skipped"] = sorted(skipped)
    report["downloads"] = {name: _get(client, reverse(name))["type"] for name in DOWNLOADS}
    details = (
        [reverse("crm_customer", args=[c.pk]) for c in Customer.objects.filter(
            brand=brand).exclude(name="").order_by("pk")]
        + [reverse("crm_campaign", args=[c.pk]) for c in Campaign.objects.filter(brand=brand)]
        + [reverse("crm_segment", args=[s.pk]) for s in Segment.objects.filter(brand=brand)]
        + [reverse("crm_followers") + f"?tag={t.pk}" for t in Tag.objects.filter(brand=brand)]
        + [reverse("crm_followers") + f"?account={a.pk}" for a in accounts.values()]
        + [reverse("account_detail", args=[a.pk]) for a in accounts.values()]
        + [reverse("crm_attribute_edit", args=[a.pk])
           for a in CustomerAttribute.objects.filter(brand=brand)])
    pages = {}
    for url in urls + details:
        answer = _get(client, url)
        pages[url] = {k: v for k, v in answer.items() if k != "response"}
    report["pages"] = pages

    # -- the campaigns page: the retention table, by each account's local date -----------
    answer = _get(client, reverse("crm_campaigns") + "?from=2000-01-01&to=2100-01-01")
    rows = answer["response"].context["rows"]
    html = answer["response"].content.decode()
    kol = Campaign.objects.get(brand=brand, name=demo.KOL)
    follows = FollowEvent.objects.filter(brand=brand, kind="follow").select_related(
        "qrcode", "account")
    expected = Counter((e.qrcode.campaign_id if e.qrcode else None,
                        e.at.astimezone(ZoneInfo(e.account.timezone)).date().isoformat())
                       for e in follows)
    history = defaultdict(list)
    for event in FollowEvent.objects.filter(brand=brand, kind__in=["follow", "unfollow"]
                                            ).select_related("qrcode").order_by("at", "pk"):
        history[event.follower_id].append(event)
    # A KOL follow that the follower's next follow-or-unfollow event undoes.
    kol_lost = sum(1 for events in history.values()
                   for first, then in zip(events, events[1:], strict=False)
                   if first.kind == "follow" and first.qrcode
                   and first.qrcode.campaign_id == kol.pk and then.kind == "unfollow")
    report["retention"] = {
        "rows": {f"{r.campaign_id}|{r.follow_date.isoformat()}": r.gained for r in rows},
        "expected": {f"{c}|{d}": n for (c, d), n in expected.items()},
        "kol_unfollowed": sum(r.unfollowed for r in rows if r.campaign_id == kol.pk),
        "kol_in_period": sum(r.unfollowed_in_period for r in rows if r.campaign_id == kol.pk),
        "kol_expected": kol_lost, "row_count": len(rows),
        "rows_shown": html.count('data-testid="retention-row"'),
    }

    # -- a segment with attribute conditions, counted ------------------------------------
    segment = segments.segment_create(scope=scope, name="Gold, many points", definition={
        "attributes": [{"key": "tier", "op": "eq", "value": "gold"},
                       {"key": "points", "op": "gt", "value": 10000}]})
    chosen = [f for f in Follower.objects.filter(brand=brand, subscribed=True)
              .select_related("customer") if f.customer
              and f.customer.attributes.get("tier") == "gold"
              and float(f.customer.attributes.get("points") or 0) > 10000]
    page = _get(client, reverse("crm_segment", args=[segment.pk]))
    report["segment"] = {"followers": segment.last_followers,
                         "customers": segment.last_customers,
                         "expected": [len(chosen), len({f.customer_id for f in chosen})],
                         "page": page["status"]}

    # -- duplicates: one phone written two ways --------------------------------------------
    wang, li = (Customer.objects.get(brand=brand, name=name) for name in ("王芳", "李伟"))
    customer_update(customer=wang, by=owner, profile={"phone": "+86 138-0013-8000"})
    customer_update(customer=li, by=owner, profile={"phone": "13800138000"})
    wang.refresh_from_db()
    found = duplicates.duplicate_suggestions(scope=scope, customer=wang)
    page = _get(client, reverse("crm_customer", args=[wang.pk]))
    report["duplicates"] = {
        "found": [[s.low, s.high, s.reason, s.value] for s in found],
        "expected": [[min(wang.pk, li.pk), max(wang.pk, li.pk), "phone", "13800138000"]],
        "on_page": [s["other"].pk for s in page["response"].context["suggestions"]],
        "other": li.pk}

    # -- a full sync of the flagship against the sandbox, as run_demo registers it -------
    demo_command = RunDemo()
    demo_command._register_accounts(sandbox.base_url, "http://127.0.0.1:9")
    demo_command._register_followers(sandbox.base_url)
    demo_command._register_followers(sandbox.base_url)  # again: nothing twice
    seeded = Follower.objects.filter(account=flagship, subscribed=True,
                                     openid__startswith=demo.DEMO_OPENID_PREFIX)
    seeded_before = {f.openid: (f.customer_id, f.unionid, f.language) for f in seeded}
    in_sandbox = {f["openid"] for f in sandbox.control(
        "GET", f"/accounts/{flagship.appid}/followers")["followers"]}
    # On the platform meanwhile: one seeded follower left, a new person followed.
    leaving = sorted(seeded_before)[0]
    sandbox.control("POST", f"/accounts/{flagship.appid}/followers/{leaving}/unfollow",
                    {"push": False})
    newcomer = sandbox.control("POST", f"/accounts/{flagship.appid}/followers",
                               {"push": False, "language": "en"})["openid"]
    job = sync.follower_sync_start(scope=scope, account_id=flagship.pk)  # eager: runs now
    job.refresh_from_db()
    after = {f.openid: (f.customer_id, f.unionid, f.language, f.subscribed)
             for f in Follower.objects.filter(account=flagship,
                                              openid__in=[*seeded_before, newcomer])}
    report["sync"] = {
        "registered": len(in_sandbox & set(seeded_before)), "seeded": len(seeded_before),
        "status": job.status, "listed": job.listed, "created": job.created_followers,
        "gone": job.unsubscribed_followers, "profiles": job.profiles_done,
        "linked": job.linked,
        "leaving_subscribed": after[leaving][3],
        "newcomer": list(after.get(newcomer, ())),
        "seeded_unchanged": all(after[o][:3] == seeded_before[o] and after[o][3]
                                for o in seeded_before if o != leaving),
    }

    # -- the CRM's periodic tasks, once each, as the demo's beat runs them ---------------
    stuck = sync.follower_sync_start(scope=scope, account_id=bund.pk, enqueue=False)
    long_ago = timezone.now() - timedelta(seconds=sync.STALE_SECONDS * 2)
    FollowerSync.objects.filter(pk=stuck.pk).update(created_at=long_ago)  # its task was lost
    tag_rules.tag_rule_save(scope=scope, data={
        "name": "Follows two hotels", "kind": "behaviour", "behaviour": "multi_account",
        "add_tags": ["Multi-account"]})
    several = defaultdict(set)
    for f in Follower.objects.filter(brand=brand, subscribed=True, customer__isnull=False):
        several[f.customer_id].add(f.account_id)
    multi = Follower.objects.filter(brand=brand, subscribed=True, customer_id__in=[
        c for c, held in several.items() if len(held) >= 2]).count()
    campaigns.crm_retention_update(scope=scope, erase_after_days=1)
    erase_before = timezone.now() - timedelta(days=1)
    due = {c.pk for c in Customer.objects.filter(brand=brand, merged_into__isnull=True)
           .exclude(followers=None).exclude(followers__subscribed=True)
           .exclude(Q(followers__unsubscribed_at__isnull=True)
                    | Q(followers__unsubscribed_at__gt=erase_before))}
    zhao = Customer.objects.get(brand=brand, name="赵丽")
    schedule = settings.CELERY_BEAT_SCHEDULE
    results = {name: import_string(schedule[name]["task"]).delay().result
               for name in ("crm-sync-resume", "crm-behaviour-rules", "crm-retention-erase")}
    stuck.refresh_from_db()
    zhao.refresh_from_db()
    report["periodic"] = {
        "results": results, "resumed_status": stuck.status, "multi_expected": multi,
        "erased": sorted(CustomerActivity.objects.filter(
            brand=brand, kind=CustomerActivity.Kind.ERASED).values_list("customer_id",
                                                                        flat=True)),
        "erase_expected": sorted(due), "zhao": [zhao.name, zhao.unionid, zhao.attributes],
    }
    # The follower list shows each account's newest job.
    answer = _get(client, reverse("crm_followers"))
    report["sync_rows"] = {str(row["account"].pk): row["job"].pk if row["job"] else None
                           for row in answer["response"].context["sync_rows"]}
    report["sync_rows_expected"] = {str(flagship.pk): job.pk, str(bund.pk): stuck.pk}

    # -- a linking run: a new follower with a known unionid, one with no customer --------
    emily = Customer.objects.get(brand=brand, name="Emily Carter")
    joining, _created = follower_upsert(account=accounts[demo.SANLITUN], openid="oLINK_one",
                                        at=timezone.now(), lock=False)
    placeholder = joining.customer_id
    Follower.objects.filter(pk=joining.pk).update(unionid=emily.unionid)
    lonely = Follower.objects.create(brand=brand, account=bund, openid="oLINK_two",
                                     customer=None, subscribed=True)
    linked = linking.customers_link_by_unionid(brand_id=brand.pk)
    joining.refresh_from_db()
    lonely.refresh_from_db()
    report["linking"] = {
        "linked": linked, "joined": joining.customer_id == emily.pk,
        "placeholder_left": Customer.objects.filter(pk=placeholder).exists(),
        "lonely_has_customer": lonely.customer_id is not None,
        "again": linking.customers_link_by_unionid(brand_id=brand.pk),
    }


if __name__ == "__main__":
    main()
